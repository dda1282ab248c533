-- name: console_password_spray
-- title: Console password spraying
-- kind: detection
-- description: >
--   One source IP fails console sign-in for at least `spray_min_users` distinct user names within
--   `spray_window_minutes`: someone trying a few common passwords against many accounts, which stays
--   under per-user lockout and brute-force thresholds. Every failure inside such a window is
--   listed; user_names holds the names tried. If root is among them the finding is high. AWS logs
--   names that are not IAM users as HIDDEN_DUE_TO_SECURITY_REASONS; each such attempt counts as a
--   name. Names are counted per account: one IP trying names in two accounts is judged in each
--   account apart.
-- severity: medium
-- mitre: [T1110.003]
-- engines: [local, athena, lake]
-- tags: [signin, console_logins]
-- lookback: spray_window_minutes
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   spray_min_users: {type: int, default: 5, min: 1, description: Distinct user names failing from one IP within the window}
--   spray_window_minutes: {type: int, default: 60, min: 1, max: 10080, description: Length of the sliding window in minutes}
-- references:
--   - https://attack.mitre.org/techniques/T1110/003/
-- remediation:
--   text: >
--     Check the names tried for a later successful sign-in from the same source, and make sure every
--     console user has MFA and the password policy requires long passwords. Names logged as
--     HIDDEN_DUE_TO_SECURITY_REASONS are not users of this account.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
failures AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        to_unixtime(from_iso8601_timestamp(eventtime)) AS ts,
        useridentity.type = 'Root' AS is_root,
        CASE WHEN useridentity.type = 'Root' THEN 'root'
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.principalid)
        END AS user_name,
        -- AWS hides names that are not IAM users; each hidden attempt counts as its own name.
        CASE WHEN useridentity.username = 'HIDDEN_DUE_TO_SECURITY_REASONS' THEN eventid
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.type)
        END AS name_tried
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
      AND (json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure' OR errormessage IS NOT NULL)
),
-- Each failure anchors a window [ts, ts + window]; it is a spray when enough names fail in it.
sprays AS (
    SELECT a.recipientaccountid, a.sourceipaddress, a.ts AS anchor_ts
    FROM failures AS a
    JOIN failures AS b
      ON b.recipientaccountid = a.recipientaccountid
     AND b.sourceipaddress = a.sourceipaddress
     AND b.ts >= a.ts
     AND b.ts <= a.ts + {{ spray_window_minutes }} * 60
    GROUP BY a.recipientaccountid, a.sourceipaddress, a.ts
    HAVING count(DISTINCT b.name_tried) >= {{ spray_min_users }}
),
members AS (
    SELECT DISTINCT f.eventtime, f.eventid, f.eventname, f.recipientaccountid, f.awsregion,
           f.sourceipaddress, f.useragent, f.is_root, f.user_name, f.name_tried
    FROM failures AS f
    JOIN sprays AS s
      ON f.recipientaccountid = s.recipientaccountid
     AND f.sourceipaddress = s.sourceipaddress
     AND f.ts >= s.anchor_ts
     AND f.ts <= s.anchor_ts + {{ spray_window_minutes }} * 60
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(is_root) THEN 'high' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    CAST(NULL AS VARCHAR) AS principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count(DISTINCT name_tried) AS user_count,
    slice(array_sort(array_agg(DISTINCT user_name)), 1, 50) AS user_names
FROM members
GROUP BY recipientaccountid, sourceipaddress
ORDER BY first_seen
