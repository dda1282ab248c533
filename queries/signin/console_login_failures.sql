-- name: console_login_failures
-- title: Failed console sign-ins per user and source IP
-- kind: detection
-- description: >
--   Failed ConsoleLogin attempts, one row per account, user name and source IP. Failed sign-ins
--   carry no userIdentity.arn (AWS does not confirm the user exists), so they are keyed by
--   userIdentity.userName; root failures are keyed as 'root'. A few failures are typos; many, or
--   failures for names that do not exist, are someone guessing (see console_brute_force and
--   console_password_spray). Root failures are medium, anyone else's low.
-- severity: low
-- mitre: [T1110]
-- engines: [local, athena, lake]
-- tags: [signin, console_logins]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
-- remediation:
--   text: >
--     A few failures need no action. Many failures, or failures for names that do not exist, call for
--     checking for a later success from the same source, making sure the named users have MFA, and
--     enforcing a password policy with length and reuse rules.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
failures AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.type = 'Root' AS is_root,
        coalesce({{ actor_arn }}, useridentity.username) AS principal_arn,
        CASE WHEN useridentity.type = 'Root' THEN 'root'
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.principalid)
        END AS user_name
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
      AND (json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure' OR errormessage IS NOT NULL)
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(is_root) THEN 'medium' ELSE {{ severity }} END AS severity,
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
FROM failures
GROUP BY recipientaccountid, user_name, sourceipaddress
ORDER BY first_seen
