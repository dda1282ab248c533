-- name: lambda_code_or_layer_changed
-- title: Lambda function code overwritten, or layers / extensions added, by a new hand
-- kind: detection
-- description: >
--   UpdateFunctionCode (code overwritten) or UpdateFunctionConfiguration adding layers (a layer can
--   carry an extension that sees every invocation) by a principal that made no such change to that
--   function between baseline_start and start. Deployment pipelines redeploy the same functions
--   every day and stay quiet; an attacker backdooring a function is new to it. Event names carry
--   API-version suffixes (UpdateFunctionCode20150331v2). Pipelines can also be excluded outright
--   with excluded_principals (ARN LIKE patterns). Stratus lambda-overwrite-code, lambda-layer-
--   extension. Only the same principal's earlier change of the same kind (code, or layers) to the
--   same function makes a change known.
-- severity: medium
-- mitre: [T1525, T1546]
-- engines: [local, athena, lake]
-- tags: [execution, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   baseline_start: {type: timestamp, default: start - 14d, description: Start of the trailing baseline (UTC); the baseline ends at start}
--   excluded_principals: {type: 'list[string]', default: [], description: Principal ARN patterns (SQL LIKE) of deployment pipelines to leave out}
-- window: [baseline_start, end]
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.lambda-overwrite-code/
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.lambda-layer-extension/
-- remediation:
--   text: >
--     Ask the function's owner whether the deployment was theirs. If not, redeploy the last known-good
--     code or version, remove layers nobody added on purpose and revoke the caller's credentials; then
--     enforce code signing on sensitive functions so only packages signed by your pipeline can be
--     deployed.
--   docs: https://docs.aws.amazon.com/lambda/latest/dg/configuring-codesigning.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        regexp_extract(coalesce(json_extract_scalar(requestparameters, '$.functionName'), ''), '[^:]*$') AS function_name,
        json_extract(requestparameters, '$.layers') IS NOT NULL AS adds_layers,
        coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn) AS actor,
        from_iso8601_timestamp(eventtime) >= {{ start }} AS in_window
    FROM events
    WHERE eventsource = 'lambda.amazonaws.com'
      AND (eventname LIKE 'UpdateFunctionCode%'
           OR (eventname LIKE 'UpdateFunctionConfiguration%' AND json_extract(requestparameters, '$.layers') IS NOT NULL))
),
known AS (
    SELECT DISTINCT actor, function_name, adds_layers FROM hits WHERE NOT in_window AND errorcode IS NULL
),
excluded AS (
    SELECT DISTINCT h.eventid FROM hits h CROSS JOIN UNNEST({{ excluded_principals }}) AS x(pattern)
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
    {{ detection }} AS detection,
    {{ severity }} AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT function_name)) AS functions,
    bool_or(adds_layers) AS adds_layers
FROM kept
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
