-- name: console_brute_force
-- title: Console password brute force
-- kind: detection
-- description: >
--   At least `brute_force_threshold` failed console sign-ins for one user name from one source IP within
--   `brute_force_window_minutes` (root: `root_brute_force_threshold`, lower because root should not sign in at all).
--   Every failure inside such a burst is counted and listed. Root bursts are high severity.
--   A burst followed by a success from the same IP is reported by console_login_after_failures.
-- severity: medium
-- mitre: [T1110.001]
-- engines: [local, athena, lake]
-- tags: [signin, console_logins]
-- lookback: brute_force_window_minutes
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   brute_force_threshold: {type: int, default: 10, min: 1, description: Failures for one IAM user name within the window that make a burst}
--   root_brute_force_threshold: {type: int, default: 5, min: 1, description: Failures for root within the window that make a burst}
--   brute_force_window_minutes: {type: int, default: 15, min: 1, max: 10080, description: Length of the sliding window in minutes}
-- references:
--   - https://attack.mitre.org/techniques/T1110/001/
-- remediation:
--   text: >
--     Check whether a sign-in from the same source succeeded (console_login_after_failures) and
--     whether the targeted user has MFA. Require MFA for every console user and a strong password
--     policy; root should have MFA and no day-to-day use at all.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
failures AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        to_unixtime(from_iso8601_timestamp(eventtime)) AS ts,
        useridentity.type = 'Root' AS is_root,
        coalesce({{ actor_arn }}, useridentity.username) AS principal_arn,
        CASE WHEN useridentity.type = 'Root' THEN 'root'
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.principalid)
        END AS user_name
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
      AND (json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure' OR errormessage IS NOT NULL)
),
-- A burst starts at a failure whose (N-1)th successor for the same key is within the window.
starts AS (
    SELECT
        *,
        CASE
            WHEN is_root THEN lead(ts, {{ root_brute_force_threshold }} - 1) OVER (PARTITION BY recipientaccountid, user_name, sourceipaddress ORDER BY ts, eventid)
            ELSE lead(ts, {{ brute_force_threshold }} - 1) OVER (PARTITION BY recipientaccountid, user_name, sourceipaddress ORDER BY ts, eventid)
        END - ts <= {{ brute_force_window_minutes }} * 60 AS is_start
    FROM failures
),
-- A failure belongs to a burst when the latest burst start at or before it is within the window.
members AS (
    SELECT *
    FROM (
        SELECT
            *,
            max(CASE WHEN is_start THEN ts END) OVER (
                PARTITION BY recipientaccountid, user_name, sourceipaddress ORDER BY ts
            ) AS last_start
        FROM starts
    ) AS marked
    WHERE ts - last_start <= {{ brute_force_window_minutes }} * 60
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(is_root) THEN 'high' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    user_name
FROM members
GROUP BY recipientaccountid, user_name, sourceipaddress
ORDER BY first_seen
