-- name: key_spawned_identities
-- title: Keys, users, roles and sessions created or assumed by given access keys or principals
-- kind: context
-- description: >
--   Incident scoping, one hop out: what the followed keys and principals created or became.
--   CreateAccessKey (the new key id and its user), CreateUser, CreateRole, CreateLoginProfile /
--   UpdateLoginProfile (console access), AssumeRole* (the role and the session's temporary key id),
--   GetSessionToken / GetFederationToken (the minted key id) and GetSigninToken (a console session).
--   Follow spawned_key_id and spawned_arn with key_activity to see what those did.
-- severity: info
-- engines: [local, athena, lake]
-- tags: [incident]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   access_key_ids: {type: 'list[access_key_id]', default: [], description: Access key ids to follow (AKIA or ASIA)}
--   principal_arns: {type: 'list[arn]', default: [], description: 'Principal ARNs to follow (users, roles, sessions)'}
-- columns:
--   eventtime: string
--   eventid: string
--   eventname: string
--   errorcode: string
--   kind: string
--   spawned_key_id: string
--   spawned_arn: string
--   spawned_name: string
--   by_access_key_id: string
--   by_principal_arn: string
--   source_ip: string
-- references:
--   - https://github.com/aws-samples/cloud-trail-lake-query-samples (iam-role-assumed-by-iam-access-key.sql)
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
followed AS (
    SELECT * FROM events
    WHERE (contains({{ access_key_ids }}, useridentity.accesskeyid)
           OR contains({{ principal_arns }}, useridentity.arn)
           OR contains({{ principal_arns }}, useridentity.sessioncontext.sessionissuer.arn))
      AND eventname IN ('CreateAccessKey', 'CreateUser', 'CreateRole', 'CreateLoginProfile', 'UpdateLoginProfile',
                        'AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'GetSessionToken',
                        'GetFederationToken', 'GetSigninToken')
)
SELECT
    eventtime,
    eventid,
    eventname,
    errorcode,
    CASE
        WHEN eventname = 'CreateAccessKey' THEN 'access key'
        WHEN eventname = 'CreateUser' THEN 'user'
        WHEN eventname = 'CreateRole' THEN 'role'
        WHEN eventname IN ('CreateLoginProfile', 'UpdateLoginProfile', 'GetSigninToken') THEN 'console access'
        ELSE 'session'
    END AS kind,
    coalesce(json_extract_scalar(responseelements, '$.accessKey.accessKeyId'),
             json_extract_scalar(responseelements, '$.credentials.accessKeyId')) AS spawned_key_id,
    coalesce(json_extract_scalar(responseelements, '$.user.arn'),
             json_extract_scalar(responseelements, '$.role.arn'),
             json_extract_scalar(responseelements, '$.assumedRoleUser.arn'),
             json_extract_scalar(responseelements, '$.federatedUser.arn'),
             json_extract_scalar(requestparameters, '$.roleArn')) AS spawned_arn,
    coalesce(json_extract_scalar(requestparameters, '$.userName'),
             json_extract_scalar(requestparameters, '$.roleName'),
             json_extract_scalar(requestparameters, '$.roleSessionName'),
             json_extract_scalar(requestparameters, '$.name')) AS spawned_name,
    useridentity.accesskeyid AS by_access_key_id,
    useridentity.arn AS by_principal_arn,
    sourceipaddress AS source_ip
FROM followed
ORDER BY eventtime, eventid
