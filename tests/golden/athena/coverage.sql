WITH events AS (
    SELECT eventtime, recipientaccountid, awsregion FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '1000/01/01' AND '9999/12/31' AND eventtime >= '1000-01-01T00:00:00Z' AND eventtime < '9999-12-31T23:59:59Z'
),
placed AS (
    SELECT
        eventtime, recipientaccountid, awsregion,
        from_iso8601_timestamp(eventtime) < TIMESTAMP '2026-10-22 00:00:00' AS is_before,
        from_iso8601_timestamp(eventtime) >= TIMESTAMP '2026-10-29 00:00:00' AS is_after
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
