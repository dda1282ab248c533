WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T23:45:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
discovery AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / (15 * 60)) AS bucket
    FROM events
    WHERE (eventname LIKE 'List%' OR eventname LIKE 'Describe%' OR eventname LIKE 'Get%')
      AND useridentity.invokedby IS NULL
      AND coalesce(useridentity.type, '') NOT IN ('AWSService', 'AWSAccount')
      AND coalesce(sourceipaddress, '') NOT LIKE '%amazonaws.com'
),
excluded AS (
    SELECT DISTINCT d.eventid
    FROM discovery d
    CROSS JOIN UNNEST(ARRAY['%terraform%', '%pulumi%', '%console%.amazonaws.com%', 'aws internal%']) AS x(pattern)
    WHERE lower(coalesce(d.useragent, '')) LIKE x.pattern
),
kept AS (
    SELECT d.* FROM discovery d LEFT JOIN excluded e ON e.eventid = d.eventid WHERE e.eventid IS NULL
)
SELECT
    'enumeration_burst' AS detection,
    CASE WHEN count(DISTINCT eventsource) >= 2 * 8 OR count(DISTINCT awsregion) >= 2 * 4
         THEN 'high' ELSE 'medium' END AS severity,
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
    ARRAY['T1580', 'T1526', 'T1087.004'] AS mitre,
    count(DISTINCT eventsource) AS distinct_services,
    count(DISTINCT awsregion) AS distinct_regions,
    array_sort(array_agg(DISTINCT eventsource)) AS services
FROM kept
GROUP BY recipientaccountid, principal_arn, bucket
HAVING count(*) >= 15
   AND (count(DISTINCT eventsource) >= 8 OR count(DISTINCT awsregion) >= 4)
ORDER BY first_seen
