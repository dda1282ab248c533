-- name: console_login_after_failures
-- title: Successful console sign-in after failures from the same source
-- kind: detection
-- description: >
--   A successful console sign-in from an IP that had at least `min_failures_before_success` failed sign-ins
--   (for any user name) in the `success_lookback_minutes` before it. Guessing that ends in a success is the
--   classic sign of a password that was brute-forced, sprayed or phished. The finding lists the
--   failures and the success; root is critical, anyone else high. Failures count only in the
--   account of the success. user_name is the name that signed in, root for root.
-- severity: high
-- mitre: [T1110, T1078.004]
-- engines: [local, athena, lake]
-- tags: [signin, console_logins]
-- lookback: success_lookback_minutes
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   min_failures_before_success: {type: int, default: 3, min: 1, description: Failures from the IP before the success}
--   success_lookback_minutes: {type: int, default: 1440, min: 1, max: 43200, description: How far before the success failures count}
-- references:
--   - https://attack.mitre.org/techniques/T1110/
-- remediation:
--   text: >
--     Ask the user whether they signed in then. If not, reset the password, check the user's MFA
--     devices and access keys for additions, and review what the session did; require MFA for console
--     sign-in.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/Using_ManagingLogins.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
logins AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        to_unixtime(from_iso8601_timestamp(eventtime)) AS ts,
        useridentity.type = 'Root' AS is_root,
        coalesce({{ actor_arn }}, useridentity.username) AS principal_arn,
        CASE WHEN useridentity.type = 'Root' THEN 'root'
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.principalid)
        END AS user_name,
        json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success' AND errormessage IS NULL AS succeeded
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
),
pairs AS (
    SELECT
        s.eventid AS success_id, s.eventtime AS success_time, s.recipientaccountid, s.sourceipaddress,
        s.principal_arn, s.user_name, s.is_root, s.useragent, s.awsregion,
        f.eventid AS failure_id, f.eventtime AS failure_time, f.user_name AS failed_user
    FROM logins AS s
    JOIN logins AS f
      ON f.recipientaccountid = s.recipientaccountid
     AND f.sourceipaddress = s.sourceipaddress
     AND NOT f.succeeded
     AND f.ts <= s.ts
     AND f.ts >= s.ts - {{ success_lookback_minutes }} * 60
    WHERE s.succeeded
),
qualifying AS (
    SELECT success_id, success_time, recipientaccountid, sourceipaddress, principal_arn, user_name,
           is_root, useragent, awsregion
    FROM pairs
    GROUP BY success_id, success_time, recipientaccountid, sourceipaddress, principal_arn, user_name,
             is_root, useragent, awsregion
    HAVING count(*) >= {{ min_failures_before_success }}
),
-- The evidence of each finding: its successes and the failures that preceded them.
members AS (
    SELECT DISTINCT q.recipientaccountid, q.sourceipaddress, q.principal_arn, q.user_name, q.is_root,
           q.useragent, q.awsregion, p.failure_id AS eventid, p.failure_time AS eventtime, 'failure' AS kind,
           'ConsoleLogin' AS eventname
    FROM qualifying AS q
    JOIN pairs AS p ON p.success_id = q.success_id AND p.success_time = q.success_time
    UNION
    SELECT q.recipientaccountid, q.sourceipaddress, q.principal_arn, q.user_name, q.is_root,
           q.useragent, q.awsregion, q.success_id, q.success_time, 'success', 'ConsoleLogin'
    FROM qualifying AS q
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(is_root) THEN 'critical' ELSE {{ severity }} END AS severity,
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
    count_if(kind = 'failure') AS failures,
    count_if(kind = 'success') AS successes,
    min(user_name) AS user_name
FROM members
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen
