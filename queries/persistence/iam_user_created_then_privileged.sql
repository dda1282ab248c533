-- name: iam_user_created_then_privileged
-- title: New IAM user given permissions or credentials right after creation
-- kind: detection
-- description: >
--   CreateUser followed, by the same caller within within_hours, by a policy attach or put
--   (AttachUserPolicy, PutUserPolicy), a group membership (AddUserToGroup), an access key
--   (CreateAccessKey) or a console password (CreateLoginProfile) for that user: the shape of a
--   backdoor administrator (Stratus iam-create-admin-user). Severity is high when a policy or
--   group was added, medium for credentials alone. The follow-up must be in the account where the
--   user was created.
-- severity: high
-- mitre: [T1136.003, T1098]
-- engines: [local, athena, lake]
-- tags: [persistence, key_hunt]
-- lookback: within_hours
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   within_hours: {type: int, default: 24, min: 1, max: 720, description: Hours after CreateUser in which the follow-up counts}
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.iam-create-admin-user/
-- remediation:
--   text: >
--     Ask the caller's team whether the user was meant to exist. If not, disable its console password
--     and access keys first (keep the user for evidence), review its activity, and then delete it with
--     its policies and group memberships.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_users_remove.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
iam AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        json_extract_scalar(requestparameters, '$.userName') AS target_user,
        from_iso8601_timestamp(eventtime) AS at
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname IN ('CreateUser', 'AttachUserPolicy', 'PutUserPolicy', 'AddUserToGroup', 'CreateAccessKey', 'CreateLoginProfile')
      AND errorcode IS NULL
      AND json_extract_scalar(requestparameters, '$.userName') IS NOT NULL
),
creations AS (
    SELECT recipientaccountid, principal_arn, target_user, at AS created_at, eventid AS create_id
    FROM iam WHERE eventname = 'CreateUser'
),
story AS (
    SELECT i.*, c.create_id
    FROM iam i
    JOIN creations c
      ON c.recipientaccountid = i.recipientaccountid AND c.target_user = i.target_user
     AND coalesce(c.principal_arn, '') = coalesce(i.principal_arn, '')
     AND i.at >= c.created_at AND i.at <= c.created_at + {{ within_hours }} * INTERVAL '1' HOUR
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(eventname IN ('AttachUserPolicy', 'PutUserPolicy', 'AddUserToGroup')) > 0 THEN {{ severity }} ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    target_user AS created_user
FROM story
GROUP BY recipientaccountid, principal_arn, target_user, create_id
HAVING count_if(eventname <> 'CreateUser') > 0
ORDER BY first_seen
