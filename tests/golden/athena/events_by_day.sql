WITH events AS (
    SELECT eventtime, recipientaccountid, awsregion FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
)
SELECT
    recipientaccountid AS account_id,
    awsregion AS region,
    substr(eventtime, 1, 10) AS day,
    count(*) AS events
FROM events
GROUP BY recipientaccountid, awsregion, substr(eventtime, 1, 10)
ORDER BY account_id, region, day
