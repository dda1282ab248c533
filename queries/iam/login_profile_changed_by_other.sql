-- name: login_profile_changed_by_other
-- title: Console password set for another user
-- kind: detection
-- description: >
--   CreateLoginProfile or UpdateLoginProfile where the caller is not the user whose console password
--   is set: a password counts as changed by another when requestParameters.userName names a user
--   (without it the call sets the caller's own, e.g. root's recovery in an AssumeRoot session) and
--   the caller is the root user (never an IAM user, even one named root) or its user or session name
--   differs from that userName.
--   Setting someone else's password gives the caller a console sign-in as that user: a persistence
--   and privilege-escalation path (Stratus iam-create-user-login-profile, iam-update-user-login-profile).
--   An admin reset that forces a new password at next sign-in (passwordResetRequired) is low;
--   failed calls are low too but still listed, as they show intent.
-- severity: medium
-- mitre: [T1098, T1078.004]
-- engines: [local, athena, lake]
-- tags: [iam, console_logins]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateLoginProfile.html
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.iam-create-user-login-profile/
-- remediation:
--   text: >
--     Ask the user whose password was set whether they asked for the reset. If not, reset it again
--     with a change required at next sign-in, review the console sessions signed in as that user
--     since, and revoke the caller's credentials; only identity administrators should be able to set
--     other users' passwords.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/Using_ManagingLogins.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
changes AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        json_extract_scalar(requestparameters, '$.userName') AS target_user,
        useridentity.type AS actor_type,
        -- The ARN's last name: the user, the session, or `root` for the root user.
        coalesce(regexp_extract(useridentity.arn, '[^/:]+$'), useridentity.username) AS actor_name,
        lower(coalesce(json_extract_scalar(requestparameters, '$.passwordResetRequired'), 'false')) = 'true' AS reset_required
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname IN ('CreateLoginProfile', 'UpdateLoginProfile')
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_and(reset_required OR errorcode IS NOT NULL) THEN 'low' ELSE {{ severity }} END AS severity,
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
    {{ mitre }} AS mitre,
    target_user,
    bool_and(reset_required) AS password_reset_required,
    count_if(errorcode IS NOT NULL) AS failed_calls
FROM changes
WHERE target_user IS NOT NULL
  -- Root by identity, not name: root is no IAM user, so its call is never on its own login
  -- profile, even for an IAM user named root (IAM's user-name pattern admits it).
  AND (actor_type = 'Root' OR coalesce(actor_name, '') <> target_user)
GROUP BY recipientaccountid, principal_arn, sourceipaddress, target_user
ORDER BY first_seen
