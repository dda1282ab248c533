WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
created AS (
    SELECT
        json_extract_scalar(responseelements, '$.accessKey.accessKeyId') AS new_key,
        json_extract_scalar(responseelements, '$.accessKey.userName') AS key_user,
        eventtime AS created_at,
        eventid AS create_event_id,
        sourceipaddress AS creator_ip,
        useridentity.arn AS creator_arn,
        coalesce(useridentity.username, '') AS creator_name
    FROM events
    WHERE eventsource = 'iam.amazonaws.com' AND eventname = 'CreateAccessKey' AND errorcode IS NULL
      AND json_extract_scalar(responseelements, '$.accessKey.accessKeyId') IS NOT NULL
),
uses AS (
    SELECT e.eventtime, e.eventid, e.eventname, e.recipientaccountid, e.awsregion, e.sourceipaddress, e.useragent,
           e.useridentity.arn AS principal_arn, e.useridentity.accesskeyid AS access_key_id
    FROM events e
    WHERE e.useridentity.accesskeyid LIKE 'AKIA%'
      AND e.sourceipaddress NOT LIKE '%amazonaws.com'
      AND e.sourceipaddress <> 'AWS Internal'
),
used_elsewhere AS (
    SELECT u.*, c.creator_arn, c.creator_ip, c.create_event_id, c.key_user, c.creator_name
    FROM uses u
    JOIN created c ON c.new_key = u.access_key_id
    WHERE u.eventtime >= c.created_at AND u.sourceipaddress <> coalesce(c.creator_ip, '')
)
SELECT
    'access_key_created_then_used' AS detection,
    CASE WHEN min(key_user) <> min(creator_name) THEN 'high' ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1098.001', 'T1078.004'] AS mitre,
    min(creator_arn) AS created_by,
    min(creator_ip) AS created_from,
    min(create_event_id) AS create_event_id
FROM used_elsewhere
GROUP BY recipientaccountid, access_key_id, sourceipaddress
ORDER BY first_seen
