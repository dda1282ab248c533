WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
seen AS (
    SELECT array_agg(DISTINCT recipientaccountid) AS accounts FROM events
),
candidates AS (
    SELECT *, coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn
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
    'resource_policy_external_access' AS detection,
    'high' AS severity,
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
    ARRAY['T1530', 'T1098', 'T1537'] AS mitre,
    c.eventsource AS event_source,
    c.requestparameters AS request_parameters,
    array_distinct(concat(coalesce(s.accounts, CAST(ARRAY[] AS ARRAY(VARCHAR))), CAST(ARRAY[] AS ARRAY(VARCHAR)))) AS trusted_accounts,
    CAST(ARRAY[] AS ARRAY(VARCHAR)) AS trusted_org_ids
FROM candidates c
CROSS JOIN seen s
ORDER BY first_seen, c.eventid
