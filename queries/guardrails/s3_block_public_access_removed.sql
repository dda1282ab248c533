-- name: s3_block_public_access_removed
-- title: S3 Block Public Access removed or relaxed
-- kind: detection
-- description: >
--   DeletePublicAccessBlock, or PutPublicAccessBlock with any of the four settings false, on a
--   bucket or for the whole account (s3-control): the last guard against public buckets is gone.
--   Failed attempts are reported too: a finding whose calls all failed is medium.
-- severity: high
-- mitre: [T1562.001, T1530]
-- engines: [local, athena, lake]
-- tags: [guardrails, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
-- remediation:
--   text: >
--     Turn the four Block Public Access settings back on for the bucket or the account unless the
--     owner confirms a deliberate exception. Then check whether a bucket became public in the meantime
--     (bucket policies, ACLs) and what was read from it.
--   docs: https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-block-public-access-account.html
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
        coalesce(json_extract_scalar(requestparameters, '$.bucketName'), 'account ' || recipientaccountid) AS scope
    FROM events
    WHERE eventsource IN ('s3.amazonaws.com', 's3-control.amazonaws.com')
      AND (eventname = 'DeletePublicAccessBlock' OR eventname = 'DeleteAccountPublicAccessBlock'
           OR (eventname IN ('PutPublicAccessBlock', 'PutAccountPublicAccessBlock')
               AND regexp_like(coalesce(json_format(json_extract(requestparameters, '$.PublicAccessBlockConfiguration')), json_format(json_extract(requestparameters, '$.publicAccessBlock')), ''),
                               '"(BlockPublicAcls|IgnorePublicAcls|BlockPublicPolicy|RestrictPublicBuckets)"\s*:\s*"?false')))
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
    array_sort(array_agg(DISTINCT scope)) AS scopes
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
