-- name: enumeration_burst
-- title: Discovery burst - List, Describe and Get calls across many services or regions
-- kind: detection
-- description: >
--   Reconnaissance: within one bucket_minutes bucket a principal makes at least min_calls
--   read-only discovery calls (List*, Describe*, Get*) spread over at least min_services services
--   or at least min_regions regions. This is what a leaked key looks like in its first minutes
--   (sts get-caller-identity, then iam list-*, s3 ls, ec2 describe-* in every region). Thresholds
--   follow Elastic's multi-region Describe hunt (>= 10 regions) and Sigma's enumeration counts
--   (> 5 in 10 minutes), lowered to 4 regions; 8 services sits above what one automation job or
--   one engineer's session reads in 15 minutes (anchors.md 3.13). Infrastructure-as-code tools read
--   many services by design: user agents matching excluded_user_agents (SQL LIKE on the lower-cased
--   agent; default terraform, pulumi, the console) are left out. A burst over at least twice
--   min_services services, or twice min_regions regions, is high.
-- severity: medium
-- mitre: [T1580, T1526, T1087.004]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- lookback: bucket_minutes
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   bucket_minutes: {type: int, default: 15, min: 1, max: 1440, description: Length of the counting bucket in minutes}
--   min_calls: {type: int, default: 15, min: 1, description: Discovery calls in one bucket}
--   min_services: {type: int, default: 8, min: 1, description: Distinct services (eventSource) in one bucket}
--   min_regions: {type: int, default: 4, min: 1, description: Distinct regions in one bucket}
--   excluded_user_agents: {type: 'list[string]', default: ['%terraform%', '%pulumi%', '%console%.amazonaws.com%', 'aws internal%'], description: LIKE patterns of lower-cased user agents to leave out}
-- references:
--   - https://github.com/elastic/detection-rules (discovery_multiple_discovery_api_calls_via_cli, hunting ec2_discovery_multi_region_describe_instance_calls)
--   - https://github.com/prowler-cloud/prowler (cloudtrail_threat_detection_enumeration)
-- remediation:
--   text: >
--     Ask the owner of the key or session whether an inventory or audit tool ran at that time. If not,
--     deactivate the key or revoke the role's sessions and treat the principal as compromised;
--     discovery comes before persistence, so look for new users, keys and roles next.
--   docs: https://docs.aws.amazon.com/guardduty/latest/ug/compromised-creds.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
discovery AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / ({{ bucket_minutes }} * 60)) AS bucket
    FROM events
    WHERE (eventname LIKE 'List%' OR eventname LIKE 'Describe%' OR eventname LIKE 'Get%')
      AND useridentity.invokedby IS NULL
      AND coalesce(useridentity.type, '') NOT IN ('AWSService', 'AWSAccount')
      AND coalesce(sourceipaddress, '') NOT LIKE '%amazonaws.com'
),
excluded AS (
    SELECT DISTINCT d.eventid
    FROM discovery d
    CROSS JOIN UNNEST({{ excluded_user_agents }}) AS x(pattern)
    WHERE lower(coalesce(d.useragent, '')) LIKE x.pattern
),
kept AS (
    SELECT d.* FROM discovery d LEFT JOIN excluded e ON e.eventid = d.eventid WHERE e.eventid IS NULL
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count(DISTINCT eventsource) >= 2 * {{ min_services }} OR count(DISTINCT awsregion) >= 2 * {{ min_regions }}
         THEN 'high' ELSE {{ severity }} END AS severity,
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
    count(DISTINCT eventsource) AS distinct_services,
    count(DISTINCT awsregion) AS distinct_regions,
    array_sort(array_agg(DISTINCT eventsource)) AS services
FROM kept
GROUP BY recipientaccountid, principal_arn, bucket
HAVING count(*) >= {{ min_calls }}
   AND (count(DISTINCT eventsource) >= {{ min_services }} OR count(DISTINCT awsregion) >= {{ min_regions }})
ORDER BY first_seen
