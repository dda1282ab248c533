WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
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
          AND CAST(regexp_extract(json_format(json_extract(requestparameters, '$.LifecycleConfiguration')), '"Days"\s*:\s*"?([0-9]+)', 1) AS INTEGER) <= 7)
)
SELECT
    'cloudtrail_config_weakened' AS detection,
    CASE WHEN count_if(errorcode IS NULL) = 0 THEN 'medium' ELSE 'high' END AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1562.008'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT change)) AS changes
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
