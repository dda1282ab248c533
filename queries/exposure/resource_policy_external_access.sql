-- name: resource_policy_external_access
-- title: Resource opened to the public or to another organization
-- kind: detection
-- description: >
--   IAM Access Analyzer's question, from CloudTrail: a successful call that sets a resource policy
--   or a grant (S3 bucket policy, ACL and access point; KMS key policy and grant; SQS; SNS; Lambda
--   permission, layer permission and function URL; ECR; Secrets Manager; Glacier; EFS; OpenSearch;
--   Backup) and lets in someone outside your organization. One parser (trailbook.resource_policy)
--   reads every policy shape: principals as text, list or map, NotPrincipal, and conditions.
--   exposure is public (critical: everyone, no limiting condition), external (high: a foreign
--   account or organization, or a principal that is not an AWS service) or unverified (medium:
--   limited by something trailbook cannot check, such as an organization id when trusted_org_ids is
--   not given, a VPC endpoint or an IP range). Trusted: the accounts seen in the window,
--   trusted_accounts, trusted_org_ids, and AWS service principals unless a condition names a
--   foreign account. grants holds each outside principal, its actions, why, and the exact statement.
--   Role trust policies are iam_role_trust_backdoor's, with the same parser.
-- severity: high
-- mitre: [T1530, T1098, T1537]
-- engines: [local, athena, lake]
-- tags: [exposure, key_hunt, resource_exposure]
-- stage: resource_policy
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   trusted_accounts: {type: 'list[account_id]', default: [], description: Accounts of your organization beyond those seen in the window}
--   trusted_org_ids: {type: 'list[org_id]', default: [], description: Your AWS Organizations id(s); an org condition naming one is trusted}
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-resources.html
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.exfiltration.s3-backdoor-bucket-policy/
-- remediation:
--   text: >
--     For each grant, confirm with the resource owner that the outside principal is meant to have
--     access; if not, remove the policy statement, ACL grant or permission and check the resource's
--     data-access logs for use by that principal. Keep IAM Access Analyzer running to catch the next
--     resource shared outside the organization.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-findings-remediate.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
seen AS (
    SELECT array_agg(DISTINCT recipientaccountid) AS accounts FROM events
),
candidates AS (
    SELECT *, {{ actor_arn }} AS principal_arn
    FROM events
    WHERE errorcode IS NULL
      AND eventsource IN ('s3.amazonaws.com', 'kms.amazonaws.com', 'sqs.amazonaws.com', 'sns.amazonaws.com',
                          'lambda.amazonaws.com', 'ecr.amazonaws.com', 'secretsmanager.amazonaws.com',
                          'glacier.amazonaws.com', 'elasticfilesystem.amazonaws.com', 'es.amazonaws.com',
                          'backup.amazonaws.com')
      AND regexp_replace(eventname, '[0-9]{8}(v[0-9]+)?$', '') IN (
          'PutBucketPolicy', 'PutBucketAcl', 'PutObjectAcl', 'PutAccessPointPolicy', 'PutKeyPolicy', 'CreateKey',
          'CreateGrant', 'SetQueueAttributes', 'CreateQueue', 'AddPermission', 'SetTopicAttributes', 'CreateTopic',
          'AddLayerVersionPermission', 'CreateFunctionUrlConfig', 'UpdateFunctionUrlConfig', 'SetRepositoryPolicy',
          'PutResourcePolicy', 'SetVaultAccessPolicy', 'PutFileSystemPolicy', 'CreateDomain', 'UpdateDomainConfig',
          'CreateElasticsearchDomain', 'UpdateElasticsearchDomainConfig', 'PutBackupVaultAccessPolicy')
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    c.eventtime AS first_seen,
    c.eventtime AS last_seen,
    c.recipientaccountid AS account_id,
    c.awsregion AS region,
    c.principal_arn,
    c.useridentity.accesskeyid AS access_key_id,
    c.sourceipaddress AS source_ip,
    c.useragent AS user_agent,
    ARRAY[c.eventname] AS event_names,
    1 AS event_count,
    ARRAY[c.eventid] AS event_ids,
    {{ mitre }} AS mitre,
    c.eventsource AS event_source,
    c.requestparameters AS request_parameters,
    array_distinct(concat(coalesce(s.accounts, CAST(ARRAY[] AS ARRAY(VARCHAR))), {{ trusted_accounts }})) AS trusted_accounts,
    {{ trusted_org_ids }} AS trusted_org_ids
FROM candidates c
CROSS JOIN seen s
ORDER BY first_seen, c.eventid
