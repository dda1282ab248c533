-- name: password_changed
-- title: Console password changed
-- kind: detection
-- description: >
--   A user changed their own console password (iam ChangePassword) or the root password was changed
--   (signin PasswordUpdated). After a suspicious sign-in, a password change is how an intruder locks
--   the owner out. Root password changes are high; IAM users changing their own password is routine
--   hygiene and info. Only successful changes are listed.
-- severity: info
-- mitre: [T1098]
-- engines: [local, athena, lake]
-- tags: [iam, console_logins]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
--   - https://docs.aws.amazon.com/IAM/latest/APIReference/API_ChangePassword.html
-- remediation:
--   text: >
--     Confirm with the user, out of band, that they changed the password. If not, reset it at once,
--     check the user's MFA devices and access keys for additions and review the sessions signed in
--     since; a root password change nobody made calls for AWS account recovery.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/Using_ManagingLogins.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
changes AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.type = 'Root' AS is_root,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id
    FROM events
    WHERE errorcode IS NULL
      AND (
        (eventsource = 'iam.amazonaws.com' AND eventname = 'ChangePassword')
        OR (eventsource = 'signin.amazonaws.com' AND eventname = 'PasswordUpdated'
            AND coalesce(json_extract_scalar(responseelements, '$.PasswordUpdated'), 'Success') = 'Success')
      )
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(is_root) THEN 'high' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre
FROM changes
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen
