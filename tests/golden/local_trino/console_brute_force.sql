WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T23:45:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
failures AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        to_unixtime(from_iso8601_timestamp(eventtime)) AS ts,
        useridentity.type = 'Root' AS is_root,
        coalesce(coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby), useridentity.username) AS principal_arn,
        CASE WHEN useridentity.type = 'Root' THEN 'root'
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.principalid)
        END AS user_name
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
      AND (json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure' OR errormessage IS NOT NULL)
),
-- A burst starts at a failure whose (N-1)th successor for the same key is within the window.
starts AS (
    SELECT
        *,
        CASE
            WHEN is_root THEN lead(ts, 5 - 1) OVER (PARTITION BY recipientaccountid, user_name, sourceipaddress ORDER BY ts, eventid)
            ELSE lead(ts, 10 - 1) OVER (PARTITION BY recipientaccountid, user_name, sourceipaddress ORDER BY ts, eventid)
        END - ts <= 15 * 60 AS is_start
    FROM failures
),
-- A failure belongs to a burst when the latest burst start at or before it is within the window.
members AS (
    SELECT *
    FROM (
        SELECT
            *,
            max(CASE WHEN is_start THEN ts END) OVER (
                PARTITION BY recipientaccountid, user_name, sourceipaddress ORDER BY ts
            ) AS last_start
        FROM starts
    ) AS marked
    WHERE ts - last_start <= 15 * 60
)
SELECT
    'console_brute_force' AS detection,
    CASE WHEN bool_or(is_root) THEN 'high' ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1110.001'] AS mitre,
    user_name
FROM members
GROUP BY recipientaccountid, user_name, sourceipaddress
ORDER BY first_seen
