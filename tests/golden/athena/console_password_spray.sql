WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T23:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
failures AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        to_unixtime(from_iso8601_timestamp(eventtime)) AS ts,
        useridentity.type = 'Root' AS is_root,
        CASE WHEN useridentity.type = 'Root' THEN 'root'
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.principalid)
        END AS user_name,
        -- AWS hides names that are not IAM users; each hidden attempt counts as its own name.
        CASE WHEN useridentity.username = 'HIDDEN_DUE_TO_SECURITY_REASONS' THEN eventid
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.type)
        END AS name_tried
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
      AND (json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure' OR errormessage IS NOT NULL)
),
-- Each failure anchors a window [ts, ts + window]; it is a spray when enough names fail in it.
sprays AS (
    SELECT a.recipientaccountid, a.sourceipaddress, a.ts AS anchor_ts
    FROM failures AS a
    JOIN failures AS b
      ON b.recipientaccountid = a.recipientaccountid
     AND b.sourceipaddress = a.sourceipaddress
     AND b.ts >= a.ts
     AND b.ts <= a.ts + 60 * 60
    GROUP BY a.recipientaccountid, a.sourceipaddress, a.ts
    HAVING count(DISTINCT b.name_tried) >= 5
),
members AS (
    SELECT DISTINCT f.eventtime, f.eventid, f.eventname, f.recipientaccountid, f.awsregion,
           f.sourceipaddress, f.useragent, f.is_root, f.user_name, f.name_tried
    FROM failures AS f
    JOIN sprays AS s
      ON f.recipientaccountid = s.recipientaccountid
     AND f.sourceipaddress = s.sourceipaddress
     AND f.ts >= s.anchor_ts
     AND f.ts <= s.anchor_ts + 60 * 60
)
SELECT
    'console_password_spray' AS detection,
    CASE WHEN bool_or(is_root) THEN 'high' ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    CAST(NULL AS VARCHAR) AS principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1110.003'] AS mitre,
    count(DISTINCT name_tried) AS user_count,
    slice(array_sort(array_agg(DISTINCT user_name)), 1, 50) AS user_names
FROM members
GROUP BY recipientaccountid, sourceipaddress
ORDER BY first_seen
