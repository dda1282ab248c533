WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/08' AND '2026/10/29' AND eventtime >= '2026-10-08T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
activity AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN useridentity.accesskeyid
             ELSE coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) END AS subject,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN 'key' ELSE 'principal' END AS subject_type,
        from_iso8601_timestamp(eventtime) >= TIMESTAMP '2026-10-22 00:00:00' AS in_window
    FROM events
    WHERE (useridentity.accesskeyid LIKE 'AKIA%' OR useridentity.type IN ('IAMUser', 'Root'))
      AND useridentity.invokedby IS NULL
      AND sourceipaddress IS NOT NULL
      AND sourceipaddress NOT LIKE '%amazonaws.com'
      AND sourceipaddress <> 'AWS Internal'
),
subject_history AS (
    SELECT subject, count_if(NOT in_window) AS baseline_events FROM activity GROUP BY subject
),
baseline AS (
    SELECT DISTINCT subject, sourceipaddress FROM activity WHERE NOT in_window
),
novel AS (
    SELECT a.*
    FROM activity a
    JOIN subject_history h ON h.subject = a.subject
    LEFT JOIN baseline b ON b.subject = a.subject AND b.sourceipaddress = a.sourceipaddress
    WHERE a.in_window AND b.subject IS NULL AND h.baseline_events >= 0
),
first_calls AS (
    SELECT subject, sourceipaddress, min(eventtime) AS first_time FROM novel GROUP BY subject, sourceipaddress
),
whoami_first AS (
    SELECT n.*
    FROM novel n
    JOIN first_calls f ON f.subject = n.subject AND f.sourceipaddress = n.sourceipaddress
    WHERE n.eventname = 'GetCallerIdentity' AND n.eventtime = f.first_time
)
SELECT
    'key_first_call_getcalleridentity' AS detection,
    'medium' AS severity,
    min(n.eventtime) AS first_seen,
    max(n.eventtime) AS last_seen,
    n.recipientaccountid AS account_id,
    min(n.awsregion) AS region,
    min(n.principal_arn) AS principal_arn,
    min(n.access_key_id) AS access_key_id,
    n.sourceipaddress AS source_ip,
    min(n.useragent) AS user_agent,
    array_sort(array_agg(DISTINCT n.eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(n.eventid ORDER BY n.eventtime), 1, 1000) AS event_ids,
    ARRAY['T1033', 'T1078.004'] AS mitre,
    n.subject_type,
    n.subject
FROM novel n
JOIN (SELECT DISTINCT subject, sourceipaddress FROM whoami_first) w
  ON w.subject = n.subject AND w.sourceipaddress = n.sourceipaddress
GROUP BY n.recipientaccountid, n.subject_type, n.subject, n.sourceipaddress
ORDER BY first_seen
