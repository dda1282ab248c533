WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/08' AND '2026/10/29' AND eventtime >= '2026-10-08T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
seen AS (
    SELECT
        *,
        CASE
            WHEN regexp_like(sourceipaddress, '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$')
                THEN regexp_extract(sourceipaddress, '^([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})\.', 1) || '.0/24'
            WHEN strpos(sourceipaddress, ':') > 0
                THEN regexp_extract(lower(sourceipaddress), '^([0-9a-f]{0,4}:[0-9a-f]{0,4}:[0-9a-f]{0,4})', 1) || '::/48'
        END AS seen_value
    FROM events
),
activity AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN useridentity.accesskeyid
             ELSE coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) END AS subject,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN 'key' ELSE 'principal' END AS subject_type,
        seen_value,
        from_iso8601_timestamp(eventtime) >= TIMESTAMP '2026-10-22 00:00:00' AS in_window
    FROM seen
    WHERE (useridentity.accesskeyid LIKE 'AKIA%' OR useridentity.type IN ('IAMUser', 'Root'))
      AND useridentity.invokedby IS NULL
      AND sourceipaddress IS NOT NULL
      AND sourceipaddress NOT LIKE '%amazonaws.com'
      AND sourceipaddress <> 'AWS Internal'
),
known_subjects AS (
    SELECT subject FROM activity WHERE NOT in_window GROUP BY subject HAVING count(*) >= 5
),
baseline AS (
    SELECT DISTINCT subject, seen_value FROM activity WHERE NOT in_window AND seen_value IS NOT NULL
),
novel AS (
    SELECT a.*
    FROM activity a
    JOIN known_subjects k ON k.subject = a.subject
    LEFT JOIN baseline b ON b.subject = a.subject AND b.seen_value = a.seen_value
    WHERE a.in_window AND a.seen_value IS NOT NULL AND b.subject IS NULL
)
SELECT
    'key_new_source_network' AS detection,
    'medium' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1078.004'] AS mitre,
    subject_type,
    subject,
    seen_value AS network
FROM novel
GROUP BY recipientaccountid, subject_type, subject, seen_value
ORDER BY first_seen
