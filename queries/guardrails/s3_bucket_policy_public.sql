-- name: s3_bucket_policy_public
-- title: S3 bucket made public by policy or ACL
-- kind: detection
-- description: >
--   PutBucketPolicy whose policy allows Principal "*" (or {"AWS": "*"}), or PutBucketAcl granting
--   AllUsers / AuthenticatedUsers. Statements limited by an aws:SourceVpc, aws:SourceVpce,
--   aws:PrincipalOrgID or aws:SourceAccount condition are still reported, as medium: review them. A
--   public bucket is the most common data exposure (Stratus s3-backdoor-bucket-policy; GuardDuty
--   Policy:S3/BucketAnonymousAccessGranted).
-- severity: high
-- mitre: [T1530, T1098]
-- engines: [local, athena, lake]
-- tags: [guardrails, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-policy-language-overview.html
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.exfiltration.s3-backdoor-bucket-policy/
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn,
                 CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END,
                 useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        json_extract_scalar(requestparameters, '$.bucketName') AS bucket,
        coalesce(json_format(json_extract(requestparameters, '$.bucketPolicy')), json_extract_scalar(requestparameters, '$.policy'), '') AS policy_text,
        coalesce(json_format(json_extract(requestparameters, '$.AccessControlPolicy')), '') AS acl_text
    FROM events
    WHERE eventsource = 's3.amazonaws.com' AND eventname IN ('PutBucketPolicy', 'PutBucketAcl')
),
public AS (
    SELECT *,
           regexp_like(policy_text, '"Condition"') AS conditioned
    FROM hits
    WHERE (eventname = 'PutBucketPolicy'
           AND regexp_like(policy_text, '"Principal"\s*:\s*("\*"|\{\s*"AWS"\s*:\s*(\[[^\]]*)?"\*")')
           AND regexp_like(policy_text, '"Effect"\s*:\s*"Allow"'))
       OR (eventname = 'PutBucketAcl' AND regexp_like(acl_text, 'acs.amazonaws.com/groups/global/(AllUsers|AuthenticatedUsers)'))
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(errorcode IS NULL) = 0 OR bool_and(conditioned) THEN 'medium' ELSE {{ severity }} END AS severity,
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
    array_sort(array_agg(DISTINCT bucket)) AS buckets
FROM public
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
