WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
followed AS (
    SELECT * FROM events
    WHERE contains(CAST(ARRAY[] AS ARRAY(VARCHAR)), useridentity.accesskeyid)
       OR contains(CAST(ARRAY[] AS ARRAY(VARCHAR)), useridentity.arn)
       OR contains(CAST(ARRAY[] AS ARRAY(VARCHAR)), useridentity.sessioncontext.sessionissuer.arn)
)
SELECT
    sourceipaddress AS source_ip,
    useragent AS user_agent,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    count(*) AS calls,
    count_if(errorcode IS NOT NULL) AS failed_calls,
    array_join(array_sort(array_agg(DISTINCT awsregion)), ', ') AS regions,
    array_join(array_sort(array_agg(DISTINCT replace(eventsource, '.amazonaws.com', ''))), ', ') AS services,
    array_join(array_sort(array_agg(DISTINCT useridentity.accesskeyid) FILTER (WHERE useridentity.accesskeyid IS NOT NULL)), ', ') AS access_keys
FROM followed
GROUP BY sourceipaddress, useragent
ORDER BY first_seen
