WITH events AS (
    SELECT eventtime, recipientaccountid, awsregion FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
bounds AS (
    SELECT
        CAST(floor(to_unixtime(TIMESTAMP '2026-10-22 00:00:00') / 3600) AS bigint) AS first_hour,
        CAST(ceil(to_unixtime(TIMESTAMP '2026-10-29 00:00:00') / 3600) AS bigint) AS end_hour
),
hours AS (
    SELECT
        recipientaccountid AS account_id,
        awsregion AS region,
        CAST(floor(to_unixtime(from_iso8601_timestamp(eventtime)) / 3600) AS bigint) AS hour,
        min(eventtime) AS first_event,
        max(eventtime) AS last_event
    FROM events
    GROUP BY 1, 2, 3
),
pairs AS (
    SELECT account_id, region, count(*) AS active_hours
    FROM hours
    GROUP BY account_id, region
),
-- Each pair's active hours, plus a mark just before the window and one at its end, so the
-- hours before the first event and after the last one count as gaps too.
marks AS (
    SELECT account_id, region, hour, first_event, last_event FROM hours
    UNION ALL
    SELECT p.account_id, p.region, b.first_hour - 1, NULL, NULL FROM pairs p CROSS JOIN bounds b
    UNION ALL
    SELECT p.account_id, p.region, b.end_hour, NULL, NULL FROM pairs p CROSS JOIN bounds b
),
runs AS (
    SELECT
        account_id, region, hour, last_event,
        lead(hour) OVER (PARTITION BY account_id, region ORDER BY hour) AS next_hour,
        lead(first_event) OVER (PARTITION BY account_id, region ORDER BY hour) AS next_event
    FROM marks
)
SELECT
    r.account_id,
    r.region,
    to_iso8601(from_unixtime((r.hour + 1) * 3600)) AS gap_start,
    to_iso8601(from_unixtime(r.next_hour * 3600)) AS gap_end,
    r.next_hour - r.hour - 1 AS gap_hours,
    r.last_event AS last_event_before,
    r.next_event AS first_event_after,
    p.active_hours,
    b.end_hour - b.first_hour AS window_hours
FROM runs r
JOIN pairs p ON p.account_id = r.account_id AND p.region = r.region
CROSS JOIN bounds b
WHERE r.next_hour - r.hour - 1 >= 1
  AND p.active_hours >= 0.8 * (b.end_hour - b.first_hour)
ORDER BY r.account_id, r.region, r.hour
