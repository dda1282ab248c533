WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
logins AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        to_unixtime(from_iso8601_timestamp(eventtime)) AS ts,
        useridentity.type = 'Root' AS is_root,
        coalesce(coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby), useridentity.username) AS principal_arn,
        CASE WHEN useridentity.type = 'Root' THEN 'root'
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.principalid)
        END AS user_name,
        json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success' AND errormessage IS NULL AS succeeded
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
),
pairs AS (
    SELECT
        s.eventid AS success_id, s.eventtime AS success_time, s.recipientaccountid, s.sourceipaddress,
        s.principal_arn, s.user_name, s.is_root, s.useragent, s.awsregion,
        f.eventid AS failure_id, f.eventtime AS failure_time, f.user_name AS failed_user
    FROM logins AS s
    JOIN logins AS f
      ON f.recipientaccountid = s.recipientaccountid
     AND f.sourceipaddress = s.sourceipaddress
     AND NOT f.succeeded
     AND f.ts <= s.ts
     AND f.ts >= s.ts - 1440 * 60
    WHERE s.succeeded
),
qualifying AS (
    SELECT success_id, success_time, recipientaccountid, sourceipaddress, principal_arn, user_name,
           is_root, useragent, awsregion
    FROM pairs
    GROUP BY success_id, success_time, recipientaccountid, sourceipaddress, principal_arn, user_name,
             is_root, useragent, awsregion
    HAVING count(*) >= 3
),
-- The evidence of each finding: its successes and the failures that preceded them.
members AS (
    SELECT DISTINCT q.recipientaccountid, q.sourceipaddress, q.principal_arn, q.user_name, q.is_root,
           q.useragent, q.awsregion, p.failure_id AS eventid, p.failure_time AS eventtime, 'failure' AS kind,
           'ConsoleLogin' AS eventname
    FROM qualifying AS q
    JOIN pairs AS p ON p.success_id = q.success_id AND p.success_time = q.success_time
    UNION
    SELECT q.recipientaccountid, q.sourceipaddress, q.principal_arn, q.user_name, q.is_root,
           q.useragent, q.awsregion, q.success_id, q.success_time, 'success', 'ConsoleLogin'
    FROM qualifying AS q
)
SELECT
    'console_login_after_failures' AS detection,
    CASE WHEN bool_or(is_root) THEN 'critical' ELSE 'high' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1110', 'T1078.004'] AS mitre,
    count_if(kind = 'failure') AS failures,
    count_if(kind = 'success') AS successes,
    min(user_name) AS user_name
FROM members
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen
