-- name: console_login_outside_allowed_ranges
-- title: Console sign-in from outside the allowed IP ranges
-- kind: detection
-- description: >
--   Successful console sign-ins whose source IP is in none of `allowed_cidrs` (the office, VPN
--   and bastion ranges an organisation expects sign-ins from). With no ranges given there is no
--   policy to check and the query returns nothing. IPv4 ranges only: IPv6 entries in the list are
--   not evaluated here (the console_logins notebook rejects them), and a sign-in from an IPv6
--   address is outside every IPv4 range. The country allow-list is checked by the analysis, from
--   a local GeoIP database. A root sign-in is high, anyone else's medium.
-- severity: medium
-- mitre: [T1078.004]
-- engines: [local, athena, lake]
-- tags: [signin, console_logins]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   allowed_cidrs: {type: "list[cidr]", default: [], description: IPv4 ranges console sign-ins are expected from}
-- references:
--   - https://github.com/SigmaHQ/sigma (aws_cloudtrail_console_login_success_from_susp_locations)
-- remediation:
--   text: >
--     Ask the user where they signed in from; if the address is not explained, reset the password and
--     review the session. To enforce the ranges, attach a policy that denies actions when aws:SourceIp
--     is outside them, allowing for calls AWS services make on the user's behalf.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_deny-ip.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
ranges AS (
    SELECT
        cidr,
        CAST(split_part(split_part(cidr, '/', 1), '.', 1) AS BIGINT) * 16777216
            + CAST(split_part(split_part(cidr, '/', 1), '.', 2) AS BIGINT) * 65536
            + CAST(split_part(split_part(cidr, '/', 1), '.', 3) AS BIGINT) * 256
            + CAST(split_part(split_part(cidr, '/', 1), '.', 4) AS BIGINT) AS low,
        CAST(power(2, 32 - CAST(split_part(cidr, '/', 2) AS BIGINT)) AS BIGINT) AS size
    FROM UNNEST({{ allowed_cidrs }}) AS t(cidr)
    WHERE strpos(cidr, ':') = 0
),
logins AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.type = 'Root' AS is_root,
        coalesce({{ actor_arn }}, useridentity.username) AS principal_arn,
        CASE WHEN regexp_like(sourceipaddress, '^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$') THEN
            CAST(split_part(sourceipaddress, '.', 1) AS BIGINT) * 16777216
            + CAST(split_part(sourceipaddress, '.', 2) AS BIGINT) * 65536
            + CAST(split_part(sourceipaddress, '.', 3) AS BIGINT) * 256
            + CAST(split_part(sourceipaddress, '.', 4) AS BIGINT)
        END AS ip_number
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
      AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success'
),
judged AS (
    SELECT l.eventid, l.eventtime, count(r.cidr) AS matching_ranges
    FROM logins AS l
    LEFT JOIN ranges AS r ON l.ip_number >= r.low AND l.ip_number < r.low + r.size
    GROUP BY l.eventid, l.eventtime
),
outside AS (
    SELECT l.*
    FROM logins AS l
    JOIN judged AS j ON j.eventid = l.eventid AND j.eventtime = l.eventtime
    WHERE j.matching_ranges = 0
      AND (SELECT count(*) FROM ranges) > 0
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(is_root) THEN 'high' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre
FROM outside
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen
