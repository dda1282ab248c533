-- name: cloudtrail_config_weakened
-- title: CloudTrail trail or event data store weakened
-- kind: detection
-- description: >
--   Complements cloudtrail_logging_disabled (StopLogging, DeleteTrail): UpdateTrail that turns off
--   global-service or multi-region logging, or moves the trail to another bucket or KMS key;
--   PutEventSelectors / PutInsightSelectors that drop management events (includeManagementEvents
--   false, or only ReadOnly); DeleteEventDataStore and StopEventDataStoreIngestion; and S3 lifecycle
--   rules that expire objects within max_expiration_days (log destruction; Panther
--   AWS.CloudTrail.ShortLifecycle). Stratus cloudtrail-event-selectors, cloudtrail-lifecycle-rule.
--   Failed attempts are reported too: a finding whose calls all failed is medium.
-- severity: high
-- mitre: [T1562.008]
-- engines: [local, athena, lake]
-- tags: [guardrails, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   max_expiration_days: {type: int, default: 7, min: 1, description: A lifecycle expiration of at most this many days counts as log destruction}
-- references:
--   - https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.defense-evasion.cloudtrail-lifecycle-rule/
-- remediation:
--   text: >
--     Restore the trail's configuration (multi-Region and global service events, read and write
--     management events, the original bucket and KMS key) or the event data store's ingestion, and
--     remove lifecycle rules that expire log objects early. Confirm with the owner whether the change
--     was planned, and review the caller's other activity from a log it could not change.
--   docs: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-create-and-update-a-trail.html
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
        CASE
            WHEN eventname = 'PutEventSelectors' THEN 'event selectors: ' || coalesce(json_extract_scalar(requestparameters, '$.trailName'), '')
            WHEN eventname = 'UpdateTrail' THEN 'trail updated: ' || coalesce(json_extract_scalar(requestparameters, '$.name'), '')
            WHEN eventname = 'PutBucketLifecycle' THEN 'lifecycle: ' || coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '')
            ELSE eventname END AS change
    FROM events
    WHERE (eventsource = 'cloudtrail.amazonaws.com' AND (
          (eventname = 'UpdateTrail' AND (
              lower(coalesce(json_extract_scalar(requestparameters, '$.includeGlobalServiceEvents'), 'true')) = 'false'
              OR lower(coalesce(json_extract_scalar(requestparameters, '$.isMultiRegionTrail'), 'true')) = 'false'
              OR json_extract_scalar(requestparameters, '$.s3BucketName') IS NOT NULL
              OR json_extract_scalar(requestparameters, '$.kmsKeyId') IS NOT NULL))
          OR (eventname = 'PutEventSelectors' AND (
              regexp_like(coalesce(json_format(json_extract(requestparameters, '$.eventSelectors')), ''), '"includeManagementEvents"\s*:\s*false|"readWriteType"\s*:\s*"ReadOnly"')
              OR regexp_like(coalesce(json_format(json_extract(requestparameters, '$.advancedEventSelectors')), ''), '"Data"')))
          OR eventname IN ('DeleteEventDataStore', 'StopEventDataStoreIngestion')))
      OR (eventsource = 's3.amazonaws.com' AND eventname = 'PutBucketLifecycle'
          AND regexp_like(coalesce(json_format(json_extract(requestparameters, '$.LifecycleConfiguration')), ''), '"Days"\s*:\s*"?[0-9]')
          AND CAST(regexp_extract(json_format(json_extract(requestparameters, '$.LifecycleConfiguration')), '"Days"\s*:\s*"?([0-9]+)', 1) AS INTEGER) <= {{ max_expiration_days }})
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
    array_sort(array_agg(DISTINCT change)) AS changes
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
