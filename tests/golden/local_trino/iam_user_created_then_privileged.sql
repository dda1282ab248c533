WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
iam AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        json_extract_scalar(requestparameters, '$.userName') AS target_user,
        from_iso8601_timestamp(eventtime) AS at
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname IN ('CreateUser', 'AttachUserPolicy', 'PutUserPolicy', 'AddUserToGroup', 'CreateAccessKey', 'CreateLoginProfile')
      AND errorcode IS NULL
      AND json_extract_scalar(requestparameters, '$.userName') IS NOT NULL
),
creations AS (
    SELECT recipientaccountid, principal_arn, target_user, at AS created_at, eventid AS create_id
    FROM iam WHERE eventname = 'CreateUser'
),
story AS (
    SELECT i.*, c.create_id
    FROM iam i
    JOIN creations c
      ON c.recipientaccountid = i.recipientaccountid AND c.target_user = i.target_user
     AND coalesce(c.principal_arn, '') = coalesce(i.principal_arn, '')
     AND i.at >= c.created_at AND i.at <= c.created_at + 24 * INTERVAL '1' HOUR
)
SELECT
    'iam_user_created_then_privileged' AS detection,
    CASE WHEN count_if(eventname IN ('AttachUserPolicy', 'PutUserPolicy', 'AddUserToGroup')) > 0 THEN 'high' ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1136.003', 'T1098'] AS mitre,
    target_user AS created_user
FROM story
GROUP BY recipientaccountid, principal_arn, target_user, create_id
HAVING count_if(eventname <> 'CreateUser') > 0
ORDER BY first_seen
