-- name: coverage
-- title: Events in the window, and in the store around it
-- kind: context
-- description: >
--   How much CloudTrail the window holds (events, accounts, regions, first and last event time)
--   and how many events of the scanned span fall before or after it. A window with no events is
--   never clean: it means a broken pipeline or a wrong window. The scanned span defaults to all
--   time, which is cheap on the local store; on Athena or Lake pass scan_start and scan_end to
--   read less. No rows when the scanned span holds no events at all.
-- severity: info
-- engines: [local, athena, lake]
-- tags: [cloudtrail, coverage]
-- parameters:
--   scan_start: {type: timestamp, default: '1000-01-01T00:00:00Z', description: Start of the span read in UTC (inclusive)}
--   scan_end: {type: timestamp, default: '9999-12-31T23:59:59Z', description: End of the span read in UTC (exclusive)}
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- window: [scan_start, scan_end]
-- columns:
--   events_scanned: int
--   events: int
--   accounts: int
--   regions: int
--   first_event: string
--   last_event: string
--   events_before: int
--   events_after: int
--   scan_first: string
--   scan_last: string
WITH events AS (
    SELECT eventtime, recipientaccountid, awsregion FROM {{ source }} WHERE {{ time_filter }}
),
placed AS (
    SELECT
        eventtime, recipientaccountid, awsregion,
        from_iso8601_timestamp(eventtime) < {{ start }} AS is_before,
        from_iso8601_timestamp(eventtime) >= {{ end }} AS is_after
    FROM events
),
flagged AS (
    SELECT eventtime, recipientaccountid, awsregion, is_before, is_after,
           NOT is_before AND NOT is_after AS in_window
    FROM placed
)
SELECT
    count(*) AS events_scanned,
    sum(CASE WHEN in_window THEN 1 ELSE 0 END) AS events,
    count(DISTINCT CASE WHEN in_window THEN recipientaccountid END) AS accounts,
    count(DISTINCT CASE WHEN in_window THEN awsregion END) AS regions,
    min(CASE WHEN in_window THEN eventtime END) AS first_event,
    max(CASE WHEN in_window THEN eventtime END) AS last_event,
    sum(CASE WHEN is_before THEN 1 ELSE 0 END) AS events_before,
    sum(CASE WHEN is_after THEN 1 ELSE 0 END) AS events_after,
    min(eventtime) AS scan_first,
    max(eventtime) AS scan_last
FROM flagged
HAVING count(*) > 0
