WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T23:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
denied AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / (60 * 60)) AS bucket
    FROM events
    WHERE (errorcode LIKE '%AccessDenied%' OR errorcode LIKE '%UnauthorizedOperation%' OR errorcode = 'Forbidden')
      AND useridentity.invokedby IS NULL
      AND coalesce(useridentity.type, '') NOT IN ('AWSService', 'AWSAccount')
)
SELECT
    'access_denied_burst' AS detection,
    CASE WHEN count(DISTINCT eventname) >= 3 * 5 THEN 'high' ELSE 'medium' END AS severity,
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
    ARRAY['T1580', 'T1087.004', 'T1069.003'] AS mitre,
    count(DISTINCT eventname) AS distinct_denied_actions,
    count(DISTINCT eventsource) AS distinct_services
FROM denied
GROUP BY recipientaccountid, principal_arn, bucket
HAVING count(DISTINCT eventname) >= 5
ORDER BY first_seen
