-- name: events_by_day
-- title: Events per account, region and UTC day
-- kind: context
-- description: >
--   What the window covers: how many CloudTrail events each account and region holds on each UTC
--   day. The report's scope section shows the accounts and regions covered and events per account
--   and day from it; a day with far fewer events than its neighbours is worth a look even when no
--   whole hour is empty (see logging_gaps).
-- severity: info
-- engines: [local, athena, lake]
-- tags: [cloudtrail, coverage]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- columns:
--   account_id: string
--   region: string
--   day: string
--   events: int
WITH events AS (
    SELECT eventtime, recipientaccountid, awsregion FROM {{ source }} WHERE {{ time_filter }}
)
SELECT
    recipientaccountid AS account_id,
    awsregion AS region,
    substr(eventtime, 1, 10) AS day,
    count(*) AS events
FROM events
GROUP BY recipientaccountid, awsregion, substr(eventtime, 1, 10)
ORDER BY account_id, region, day
