-- name: ec2_vcpu_quota_probe
-- title: EC2 vCPU service quotas probed across regions, or raised
-- kind: detection
-- description: >
--   Before mining, attackers check how many vCPUs they may start in each region (Service Quotas
--   GetServiceQuota / GetAWSDefaultServiceQuota / ListServiceQuotas for service ec2) and ask for more
--   (RequestServiceQuotaIncrease). Reported when one principal looks at ec2 quotas in at least
--   min_quota_regions regions within bucket_minutes, or requests an increase of one of the vCPU quotas in
--   quota_codes (high). Elastic discovery_servicequotas_multi_region_service_quota_requests uses
--   L-1216C47A across more than 10 regions in 30 seconds (anchors.md 3.15, 4.6).
-- severity: medium
-- mitre: [T1496, T1580]
-- engines: [local, athena, lake]
-- tags: [mining, key_hunt]
-- lookback: bucket_minutes
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   bucket_minutes: {type: int, default: 60, min: 1, max: 1440, description: Length of the counting bucket in minutes}
--   min_quota_regions: {type: int, default: 3, min: 1, description: Distinct regions probed in one bucket}
--   quota_codes: {type: 'list[string]', default: [L-1216C47A, L-DB2E81BA, L-417A185B, L-74FC7D96, L-7212CCBC], description: 'EC2 vCPU quota codes (standard, G and VT, P, F, Inf on-demand)'}
-- references:
--   - https://github.com/elastic/detection-rules (discovery_servicequotas_multi_region_service_quota_requests)
--   - https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_RequestServiceQuotaIncrease.html
-- remediation:
--   text: >
--     Ask the principal's owner whether they reviewed or raised quotas. If not, revoke its credentials
--     and check Service Quotas for increase requests nobody made; mining launches usually follow
--     within hours.
--   docs: https://docs.aws.amazon.com/guardduty/latest/ug/compromised-creds.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
probes AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        json_extract_scalar(requestparameters, '$.quotaCode') AS quota_code,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / ({{ bucket_minutes }} * 60)) AS bucket
    FROM events
    WHERE eventsource = 'servicequotas.amazonaws.com'
      AND eventname IN ('GetServiceQuota', 'GetAWSDefaultServiceQuota', 'ListServiceQuotas', 'ListAWSDefaultServiceQuotas', 'RequestServiceQuotaIncrease')
      AND json_extract_scalar(requestparameters, '$.serviceCode') = 'ec2'
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(eventname = 'RequestServiceQuotaIncrease' AND contains({{ quota_codes }}, quota_code)) > 0 THEN 'high' ELSE {{ severity }} END AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count(DISTINCT awsregion) AS distinct_regions,
    array_sort(array_agg(DISTINCT quota_code) FILTER (WHERE quota_code IS NOT NULL)) AS quota_codes
FROM probes
GROUP BY recipientaccountid, principal_arn, bucket
HAVING count(DISTINCT awsregion) >= {{ min_quota_regions }}
    OR count_if(eventname = 'RequestServiceQuotaIncrease' AND contains({{ quota_codes }}, quota_code)) > 0
ORDER BY first_seen
