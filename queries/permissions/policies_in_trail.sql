-- name: policies_in_trail
-- title: IAM policies written in the trail (CreateRole, PutRolePolicy, AttachRolePolicy, ...)
-- kind: context
-- description: >
--   Every successful IAM call that grants, changes or removes a policy, with the policy document
--   from its request parameters where CloudTrail records one: inline policies (Put*Policy), managed
--   policy documents (CreatePolicy, CreatePolicyVersion), attachments (Attach*/Detach*Policy), trust
--   policies (CreateRole, UpdateAssumeRolePolicy) and group membership. When no IAM snapshot is
--   available this rebuilds what a principal was granted inside the window, so "used vs granted"
--   still works for principals created or changed in the trail.
-- severity: info
-- engines: [local, athena, lake]
-- tags: [permissions]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- columns:
--   eventtime: string
--   eventid: string
--   eventname: string
--   account_id: string
--   actor_arn: string
--   role_name: string
--   user_name: string
--   group_name: string
--   policy_name: string
--   policy_arn: string
--   policy_document: string
--   trust_policy: string
--   created_arn: string
--   set_as_default: string
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
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
