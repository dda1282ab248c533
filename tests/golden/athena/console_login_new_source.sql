WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/08' AND '2026/10/29' AND eventtime >= '2026-10-08T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
located AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        responseelements, errormessage,
        from_iso8601_timestamp(eventtime) >= TIMESTAMP '2026-10-22 00:00:00' AS in_window,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        coalesce(regexp_extract(sourceipaddress, '^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$', 1), sourceipaddress) AS subnet
    FROM events
),
baseline AS (
    SELECT principal_arn, sourceipaddress, subnet
    FROM located
    WHERE NOT in_window AND principal_arn IS NOT NULL
    GROUP BY principal_arn, sourceipaddress, subnet
),
known_principals AS (
    SELECT DISTINCT principal_arn FROM baseline
),
known_ips AS (
    SELECT DISTINCT principal_arn, sourceipaddress FROM baseline
),
known_subnets AS (
    SELECT DISTINCT principal_arn, subnet FROM baseline
),
logins AS (
    SELECT
        l.*,
        p.principal_arn IS NOT NULL AS principal_known,
        i.sourceipaddress IS NOT NULL AS ip_known,
        n.subnet IS NOT NULL AS subnet_known
    FROM located AS l
    LEFT JOIN known_principals AS p ON p.principal_arn = l.principal_arn
    LEFT JOIN known_ips AS i ON i.principal_arn = l.principal_arn AND i.sourceipaddress = l.sourceipaddress
    LEFT JOIN known_subnets AS n ON n.principal_arn = l.principal_arn AND n.subnet = l.subnet
    WHERE l.in_window
      AND l.eventsource = 'signin.amazonaws.com'
      AND l.eventname = 'ConsoleLogin'
      AND json_extract_scalar(l.responseelements, '$.ConsoleLogin') = 'Success'
      AND l.principal_arn IS NOT NULL
)
SELECT
    'console_login_new_source' AS detection,
    CASE
        WHEN NOT bool_or(principal_known) THEN 'info'
        WHEN NOT bool_or(subnet_known) THEN 'medium'
        ELSE 'low'
    END AS severity,
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
    ARRAY['T1078.004'] AS mitre,
    bool_or(principal_known) AS principal_in_baseline,
    NOT bool_or(subnet_known) AS new_subnet,
    min(subnet) AS subnet
FROM logins
WHERE NOT ip_known
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen
