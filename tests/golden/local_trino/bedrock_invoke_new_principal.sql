WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/08' AND '2026/10/29' AND eventtime >= '2026-10-08T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
bedrock AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn, useridentity.principalid) AS actor,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        json_extract_scalar(requestparameters, '$.modelId') AS model_id,
        eventname IN ('InvokeModel', 'InvokeModelWithResponseStream', 'Converse', 'ConverseStream') AS invoke,
        eventname IN ('PutUseCaseForModelAccess', 'CreateFoundationModelAgreement', 'PutFoundationModelEntitlement') AS enable,
        from_iso8601_timestamp(eventtime) >= TIMESTAMP '2026-10-22 00:00:00' AS in_window
    FROM events
    WHERE eventsource = 'bedrock.amazonaws.com'
      AND useridentity.invokedby IS NULL
),
known AS (
    SELECT DISTINCT actor FROM bedrock WHERE NOT in_window AND invoke
),
novel AS (
    SELECT b.*
    FROM bedrock b
    LEFT JOIN known k ON k.actor = b.actor
    WHERE b.in_window AND (b.invoke OR b.enable) AND (k.actor IS NULL OR b.enable)
)
SELECT
    'bedrock_invoke_new_principal' AS detection,
    CASE WHEN bool_or(enable) AND bool_or(invoke) THEN 'high' ELSE 'medium' END AS severity,
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
    ARRAY['T1496'] AS mitre,
    array_sort(array_agg(DISTINCT model_id) FILTER (WHERE model_id IS NOT NULL)) AS models
FROM novel
GROUP BY recipientaccountid, actor
ORDER BY first_seen
