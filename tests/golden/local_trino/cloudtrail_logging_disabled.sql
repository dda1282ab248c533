WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
)
SELECT
    'cloudtrail_logging_disabled' AS detection,
    CASE WHEN count_if(errorcode IS NULL) > 0 THEN 'high' ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    awsregion AS region,
    useridentity.arn AS principal_arn,
    min(useridentity.accesskeyid) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1562.008'] AS mitre,
    array_sort(array_agg(DISTINCT json_extract_scalar(requestparameters, '$.name'))) AS trails
FROM events
WHERE eventsource = 'cloudtrail.amazonaws.com'
  AND eventname IN ('StopLogging', 'DeleteTrail')
GROUP BY recipientaccountid, awsregion, useridentity.arn, sourceipaddress
ORDER BY first_seen
