WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T23:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
probes AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        json_extract_scalar(requestparameters, '$.quotaCode') AS quota_code,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / (60 * 60)) AS bucket
    FROM events
    WHERE eventsource = 'servicequotas.amazonaws.com'
      AND eventname IN ('GetServiceQuota', 'GetAWSDefaultServiceQuota', 'ListServiceQuotas', 'ListAWSDefaultServiceQuotas', 'RequestServiceQuotaIncrease')
      AND json_extract_scalar(requestparameters, '$.serviceCode') = 'ec2'
)
SELECT
    'ec2_vcpu_quota_probe' AS detection,
    CASE WHEN count_if(eventname = 'RequestServiceQuotaIncrease' AND contains(ARRAY['L-1216C47A', 'L-DB2E81BA', 'L-417A185B', 'L-74FC7D96', 'L-7212CCBC'], quota_code)) > 0 THEN 'high' ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1496', 'T1580'] AS mitre,
    count(DISTINCT awsregion) AS distinct_regions,
    array_sort(array_agg(DISTINCT quota_code) FILTER (WHERE quota_code IS NOT NULL)) AS quota_codes
FROM probes
GROUP BY recipientaccountid, principal_arn, bucket
HAVING count(DISTINCT awsregion) >= 3
    OR count_if(eventname = 'RequestServiceQuotaIncrease' AND contains(ARRAY['L-1216C47A', 'L-DB2E81BA', 'L-417A185B', 'L-74FC7D96', 'L-7212CCBC'], quota_code)) > 0
ORDER BY first_seen
