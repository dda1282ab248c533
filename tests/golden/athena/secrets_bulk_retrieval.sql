WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        json_extract_scalar(requestparameters, '$.secretId') AS secret_id,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / (60 * 60)) AS bucket
    FROM events
    WHERE eventsource = 'secretsmanager.amazonaws.com'
      AND eventname IN ('GetSecretValue', 'BatchGetSecretValue')
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
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1555.006', 'T1552'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    count(DISTINCT secret_id) FILTER (WHERE eventname = 'GetSecretValue') AS distinct_secrets,
    count_if(eventname = 'BatchGetSecretValue') AS batch_calls,
    count(DISTINCT awsregion) AS regions
FROM hits
GROUP BY recipientaccountid, principal_arn, bucket
HAVING count(DISTINCT secret_id) FILTER (WHERE eventname = 'GetSecretValue') >= 10 OR count_if(eventname = 'BatchGetSecretValue') >= 1
ORDER BY first_seen
