WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
ranges AS (
    SELECT
        cidr,
        CAST(split_part(split_part(cidr, '/', 1), '.', 1) AS BIGINT) * 16777216
            + CAST(split_part(split_part(cidr, '/', 1), '.', 2) AS BIGINT) * 65536
            + CAST(split_part(split_part(cidr, '/', 1), '.', 3) AS BIGINT) * 256
            + CAST(split_part(split_part(cidr, '/', 1), '.', 4) AS BIGINT) AS low,
        CAST(power(2, 32 - CAST(split_part(cidr, '/', 2) AS BIGINT)) AS BIGINT) AS size
    FROM UNNEST(CAST(ARRAY[] AS ARRAY(VARCHAR))) AS t(cidr)
    WHERE strpos(cidr, ':') = 0
),
logins AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.type = 'Root' AS is_root,
        coalesce(coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby), useridentity.username) AS principal_arn,
        CASE WHEN regexp_like(sourceipaddress, '^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$') THEN
            CAST(split_part(sourceipaddress, '.', 1) AS BIGINT) * 16777216
            + CAST(split_part(sourceipaddress, '.', 2) AS BIGINT) * 65536
            + CAST(split_part(sourceipaddress, '.', 3) AS BIGINT) * 256
            + CAST(split_part(sourceipaddress, '.', 4) AS BIGINT)
        END AS ip_number
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
      AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success'
),
judged AS (
    SELECT l.eventid, l.eventtime, count(r.cidr) AS matching_ranges
    FROM logins AS l
    LEFT JOIN ranges AS r ON l.ip_number >= r.low AND l.ip_number < r.low + r.size
    GROUP BY l.eventid, l.eventtime
),
outside AS (
    SELECT l.*
    FROM logins AS l
    JOIN judged AS j ON j.eventid = l.eventid AND j.eventtime = l.eventtime
    WHERE j.matching_ranges = 0
      AND (SELECT count(*) FROM ranges) > 0
)
SELECT
    'console_login_outside_allowed_ranges' AS detection,
    CASE WHEN bool_or(is_root) THEN 'high' ELSE 'medium' END AS severity,
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
    ARRAY['T1078.004'] AS mitre
FROM outside
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen
