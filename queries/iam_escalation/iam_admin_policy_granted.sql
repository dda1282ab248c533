-- name: iam_admin_policy_granted
-- title: Administrator-level policy put on or attached to a user, role or group
-- kind: detection
-- description: >
--   Privilege escalation: an inline policy whose statements allow Action "*" (or "iam:*", or a
--   service wildcard such as "s3:*", or any NotAction) is put on a user, role or group
--   (PutUserPolicy, PutRolePolicy, PutGroupPolicy); an administrator managed policy (admin_policies,
--   default AdministratorAccess, IAMFullAccess) is attached; or a new policy version with such
--   statements is set as default (CreatePolicyVersion setAsDefault). grants_self is true when the
--   caller changed its own user. Denied attempts are reported too (medium). Sigma/Panther IAM
--   privilege-escalation patterns (anchors.md 3.8), Stratus iam-create-admin-user / iam-create-
--   backdoor-role.
-- severity: high
-- mitre: [T1098.003, T1078.004]
-- engines: [local, athena, lake]
-- tags: [iam_escalation, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   admin_policies: {type: 'list[string]', default: [AdministratorAccess, IAMFullAccess], description: Managed policy names that count as administrator access}
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_job-functions.html
--   - https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/
-- remediation:
--   text: >
--     Confirm with the owner of the user, role or group that the grant was approved. If not, detach
--     the managed policy, delete the inline policy or restore the previous default policy version, and
--     review what the principal did with the new rights; a permissions boundary or SCP can stop the
--     next attempt.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_manage-attach-detach.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.roleName'), json_extract_scalar(requestparameters, '$.groupName'), json_extract_scalar(requestparameters, '$.policyArn')) AS target,
        coalesce(json_extract_scalar(requestparameters, '$.policyArn'), json_extract_scalar(requestparameters, '$.policyName')) AS policy,
        json_extract_scalar(requestparameters, '$.userName') IS NOT NULL AND json_extract_scalar(requestparameters, '$.userName') = useridentity.username AS grants_self
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND (
        (eventname IN ('PutUserPolicy', 'PutRolePolicy', 'PutGroupPolicy')
         AND regexp_like(coalesce(json_extract_scalar(requestparameters, '$.policyDocument'), ''), '"(Action|NotAction)"\s*:\s*(\[[^\]]*)?"(\*|iam:\*|[a-z0-9-]+:\*)"'))
        OR (eventname IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy')
            AND contains({{ admin_policies }}, regexp_extract(coalesce(json_extract_scalar(requestparameters, '$.policyArn'), ''), '[^/]*$')))
        OR (eventname = 'CreatePolicyVersion'
            AND lower(coalesce(json_extract_scalar(requestparameters, '$.setAsDefault'), 'false')) = 'true'
            AND regexp_like(coalesce(json_extract_scalar(requestparameters, '$.policyDocument'), ''), '"(Action|NotAction)"\s*:\s*(\[[^\]]*)?"(\*|iam:\*|[a-z0-9-]+:\*)"'))
      )
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(errorcode IS NULL) = 0 THEN 'medium' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    awsregion AS region,
    principal_arn AS principal_arn,
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    target,
    array_sort(array_agg(DISTINCT policy)) AS policies,
    bool_or(grants_self) AS grants_self
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress, target
ORDER BY first_seen
