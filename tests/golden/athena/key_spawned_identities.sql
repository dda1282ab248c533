WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
followed AS (
    SELECT * FROM events
    WHERE (contains(CAST(ARRAY[] AS ARRAY(VARCHAR)), useridentity.accesskeyid)
           OR contains(CAST(ARRAY[] AS ARRAY(VARCHAR)), useridentity.arn)
           OR contains(CAST(ARRAY[] AS ARRAY(VARCHAR)), useridentity.sessioncontext.sessionissuer.arn))
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
