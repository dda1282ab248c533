-- name: logging_gaps
-- title: Hours in which an account and region that normally logs has no events
-- kind: context
-- description: >
--   Logging gaps: runs of whole UTC hours without a single CloudTrail event, for each account and
--   region that normally logs. The rule: a pair (account, region) normally logs when it has
--   events in at least min_active_share (default 0.8, 80 %) of the window's hours; for such a pair,
--   every run of at least min_gap_hours consecutive hours with zero events is a gap (one row, with
--   the last event before it and the first event after it). Pairs that log less often (a quiet
--   region) are left out: an empty hour there is normal. A gap in a busy pair means the trail was
--   stopped, delivery broke, or the logs were removed; an attacker who stops CloudTrail leaves one.
-- severity: info
-- engines: [local, athena, lake]
-- tags: [cloudtrail, coverage]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   min_active_share: {type: float, default: 0.8, description: Share of the window's hours a pair must log in to count as normally logging}
--   min_gap_hours: {type: int, default: 1, description: Shortest run of empty hours reported as a gap}
-- columns:
--   account_id: string
--   region: string
--   gap_start: string
--   gap_end: string
--   gap_hours: int
--   last_event_before: string
--   first_event_after: string
--   active_hours: int
--   window_hours: int
WITH events AS (
    SELECT eventtime, recipientaccountid, awsregion FROM {{ source }} WHERE {{ time_filter }}
),
bounds AS (
    SELECT
        CAST(floor(to_unixtime({{ start }}) / 3600) AS bigint) AS first_hour,
        CAST(ceil(to_unixtime({{ end }}) / 3600) AS bigint) AS end_hour
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
WHERE r.next_hour - r.hour - 1 >= {{ min_gap_hours }}
  AND p.active_hours >= {{ min_active_share }} * (b.end_hour - b.first_hour)
ORDER BY r.account_id, r.region, r.hour
