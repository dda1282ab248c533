WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T23:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        json_extract_scalar(requestparameters, '$.secretId') AS secret_id,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / (60 * 60)) AS bucket,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / (60 * 60) + 0.5) AS shifted
    FROM events
    WHERE eventsource = 'secretsmanager.amazonaws.com'
      AND eventname IN ('GetSecretValue', 'BatchGetSecretValue')
),
cells AS (
    SELECT eventid, recipientaccountid, principal_arn, eventname, secret_id, 0 AS grid, bucket AS cell FROM hits
    UNION ALL
    SELECT eventid, recipientaccountid, principal_arn, eventname, secret_id, 1 AS grid, shifted AS cell FROM hits
),
firing AS (
    SELECT recipientaccountid, principal_arn, grid, cell, count(*) AS size
    FROM cells
    GROUP BY recipientaccountid, principal_arn, grid, cell
    HAVING count(DISTINCT secret_id) FILTER (WHERE eventname = 'GetSecretValue') >= 10 OR count_if(eventname = 'BatchGetSecretValue') >= 1
),
chosen AS (
    SELECT eventid, burst
    FROM (
        SELECT c.eventid, 2 * c.cell + c.grid AS burst,
               row_number() OVER (PARTITION BY c.eventid ORDER BY f.size DESC, 2 * c.cell + c.grid) AS pick
        FROM cells c
        JOIN firing f ON f.recipientaccountid = c.recipientaccountid AND f.principal_arn = c.principal_arn
            AND f.grid = c.grid AND f.cell = c.cell
    ) ranked
    WHERE pick = 1
)
SELECT
    'secrets_bulk_retrieval' AS detection,
    'high' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn AS principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(h.eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1555.006', 'T1552'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    count(DISTINCT secret_id) FILTER (WHERE eventname = 'GetSecretValue') AS distinct_secrets,
    count_if(eventname = 'BatchGetSecretValue') AS batch_calls,
    count(DISTINCT awsregion) AS regions
FROM hits h
JOIN chosen k ON k.eventid = h.eventid
GROUP BY recipientaccountid, principal_arn, k.burst
ORDER BY first_seen
