WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T23:30:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
keyed AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / (30 * 60)) AS bucket
    FROM events
    WHERE coalesce(useridentity.accesskeyid, '') <> ''
      AND useridentity.invokedby IS NULL
      AND coalesce(sessioncredentialfromconsole, 'false') <> 'true'
      AND sourceipaddress IS NOT NULL
      AND sourceipaddress NOT LIKE '%amazonaws.com'
      AND sourceipaddress <> 'AWS Internal'
)
SELECT
    'key_multi_source_burst' AS detection,
    'high' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    access_key_id,
    array_join(array_sort(array_agg(DISTINCT sourceipaddress)), ', ') AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1078.004', 'T1550.001'] AS mitre,
    count(DISTINCT sourceipaddress) AS distinct_source_ips,
    count(DISTINCT useragent) AS distinct_user_agents,
    array_sort(array_agg(DISTINCT useragent)) AS user_agents
FROM keyed
GROUP BY recipientaccountid, access_key_id, bucket
HAVING count(DISTINCT sourceipaddress) >= 3
    OR count(DISTINCT useragent) >= 4
ORDER BY first_seen
