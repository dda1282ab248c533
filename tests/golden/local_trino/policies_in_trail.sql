WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
)
SELECT
    eventtime,
    eventid,
    eventname,
    recipientaccountid AS account_id,
    coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn) AS actor_arn,
    json_extract_scalar(requestparameters, '$.roleName') AS role_name,
    json_extract_scalar(requestparameters, '$.userName') AS user_name,
    json_extract_scalar(requestparameters, '$.groupName') AS group_name,
    json_extract_scalar(requestparameters, '$.policyName') AS policy_name,
    coalesce(json_extract_scalar(requestparameters, '$.policyArn'),
             json_extract_scalar(responseelements, '$.policy.arn')) AS policy_arn,
    CASE WHEN eventname <> 'UpdateAssumeRolePolicy'
         THEN json_extract_scalar(requestparameters, '$.policyDocument') END AS policy_document,
    coalesce(json_extract_scalar(requestparameters, '$.assumeRolePolicyDocument'),
             CASE WHEN eventname = 'UpdateAssumeRolePolicy'
                  THEN json_extract_scalar(requestparameters, '$.policyDocument') END) AS trust_policy,
    coalesce(json_extract_scalar(responseelements, '$.role.arn'),
             json_extract_scalar(responseelements, '$.user.arn'),
             json_extract_scalar(responseelements, '$.group.arn')) AS created_arn,
    json_extract_scalar(requestparameters, '$.setAsDefault') AS set_as_default
FROM events
WHERE eventsource = 'iam.amazonaws.com'
  AND errorcode IS NULL
  AND eventname IN (
      'CreateRole', 'CreateUser', 'CreateGroup', 'UpdateAssumeRolePolicy',
      'PutRolePolicy', 'PutUserPolicy', 'PutGroupPolicy',
      'DeleteRolePolicy', 'DeleteUserPolicy', 'DeleteGroupPolicy',
      'AttachRolePolicy', 'AttachUserPolicy', 'AttachGroupPolicy',
      'DetachRolePolicy', 'DetachUserPolicy', 'DetachGroupPolicy',
      'CreatePolicy', 'CreatePolicyVersion', 'SetDefaultPolicyVersion',
      'AddUserToGroup', 'RemoveUserFromGroup',
      'PutRolePermissionsBoundary', 'PutUserPermissionsBoundary'
  )
ORDER BY eventtime, eventid
