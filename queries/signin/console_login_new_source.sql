-- name: console_login_new_source
-- title: Console sign-in from a new IP or /24 for the principal
-- kind: detection
-- description: >
--   Successful console sign-ins in [start, end) from a source IP, or a /24 network, that the same
--   principal did not use in any event in the baseline [baseline_start, start). A new /24 is medium;
--   a new IP inside a known /24 is low; a principal with no activity at all in the baseline is info
--   (everything is new for it). The scan reads [baseline_start, end) once. IPv6 addresses are
--   compared whole (no prefix grouping); service names (e.g. AWS Internal) compare as text.
-- severity: medium
-- mitre: [T1078.004]
-- engines: [local, athena, lake]
-- tags: [signin, console_logins]
-- parameters:
--   baseline_start: {type: timestamp, default: start - 14d, description: Baseline start in UTC (inclusive); the baseline ends at start}
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- window: [baseline_start, end]
-- references:
--   - https://github.com/elastic/detection-rules (new_terms rules on source.ip per user)
-- remediation:
--   text: >
--     Ask the principal's owner whether the new address is theirs (travel, a new VPN exit). If not,
--     reset the password or revoke the role's sessions and review what the session did; a VPN or proxy
--     address can be shared by many people.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/Using_ManagingLogins.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
located AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        responseelements, errormessage,
        from_iso8601_timestamp(eventtime) >= {{ start }} AS in_window,
        {{ actor_arn }} AS principal_arn,
        coalesce(regexp_extract(sourceipaddress, '^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$', 1), sourceipaddress) AS subnet
    FROM events
),
baseline AS (
    SELECT principal_arn, sourceipaddress, subnet
    FROM located
    WHERE NOT in_window AND principal_arn IS NOT NULL
    GROUP BY principal_arn, sourceipaddress, subnet
),
known_principals AS (
    SELECT DISTINCT principal_arn FROM baseline
),
known_ips AS (
    SELECT DISTINCT principal_arn, sourceipaddress FROM baseline
),
known_subnets AS (
    SELECT DISTINCT principal_arn, subnet FROM baseline
),
logins AS (
    SELECT
        l.*,
        p.principal_arn IS NOT NULL AS principal_known,
        i.sourceipaddress IS NOT NULL AS ip_known,
        n.subnet IS NOT NULL AS subnet_known
    FROM located AS l
    LEFT JOIN known_principals AS p ON p.principal_arn = l.principal_arn
    LEFT JOIN known_ips AS i ON i.principal_arn = l.principal_arn AND i.sourceipaddress = l.sourceipaddress
    LEFT JOIN known_subnets AS n ON n.principal_arn = l.principal_arn AND n.subnet = l.subnet
    WHERE l.in_window
      AND l.eventsource = 'signin.amazonaws.com'
      AND l.eventname = 'ConsoleLogin'
      AND json_extract_scalar(l.responseelements, '$.ConsoleLogin') = 'Success'
      AND l.principal_arn IS NOT NULL
)
SELECT
    {{ detection }} AS detection,
    CASE
        WHEN NOT bool_or(principal_known) THEN 'info'
        WHEN NOT bool_or(subnet_known) THEN {{ severity }}
        ELSE 'low'
    END AS severity,
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
    {{ mitre }} AS mitre,
    bool_or(principal_known) AS principal_in_baseline,
    NOT bool_or(subnet_known) AS new_subnet,
    min(subnet) AS subnet
FROM logins
WHERE NOT ip_known
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen
