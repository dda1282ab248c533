WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/08' AND '2026/10/29' AND eventtime >= '2026-10-08T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        regexp_extract(coalesce(json_extract_scalar(requestparameters, '$.functionName'), ''), '[^:]*$') AS function_name,
        json_extract(requestparameters, '$.layers') IS NOT NULL AS adds_layers,
        coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn) AS actor,
        from_iso8601_timestamp(eventtime) >= TIMESTAMP '2026-10-22 00:00:00' AS in_window
    FROM events
    WHERE eventsource = 'lambda.amazonaws.com'
      AND (eventname LIKE 'UpdateFunctionCode%'
           OR (eventname LIKE 'UpdateFunctionConfiguration%' AND json_extract(requestparameters, '$.layers') IS NOT NULL))
),
known AS (
    SELECT DISTINCT actor, function_name, adds_layers FROM hits WHERE NOT in_window AND errorcode IS NULL
),
excluded AS (
    SELECT DISTINCT h.eventid FROM hits h CROSS JOIN UNNEST(CAST(ARRAY[] AS ARRAY(VARCHAR))) AS x(pattern)
    WHERE h.principal_arn LIKE x.pattern
),
kept AS (
    SELECT h.*
    FROM hits h
    LEFT JOIN known k ON k.actor = h.actor AND k.function_name = h.function_name AND k.adds_layers = h.adds_layers
    LEFT JOIN excluded e ON e.eventid = h.eventid
    WHERE h.in_window AND k.actor IS NULL AND e.eventid IS NULL
)
SELECT
    'lambda_code_or_layer_changed' AS detection,
    'medium' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    awsregion AS region,
    principal_arn AS principal_arn,
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1525', 'T1546'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT function_name)) AS functions,
    bool_or(adds_layers) AS adds_layers
FROM kept
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
