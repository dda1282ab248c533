-- name: bedrock_invoke_new_principal
-- title: Bedrock models invoked or enabled by a principal new to Bedrock
-- kind: detection
-- description: >
--   LLM-jacking, the new crypto-mining: stolen keys are used to enable and invoke Bedrock models
--   (PutUseCaseForModelAccess, CreateFoundationModelAgreement, PutFoundationModelEntitlement, then
--   InvokeModel / Converse). Reported when a principal (a role counts as one, whatever the session
--   name) that made no Bedrock runtime call between baseline_start and start invokes a model, or when
--   anyone enables model access. Stratus bedrock-invoke-model; prowler
--   cloudtrail_threat_detection_llm_jacking (anchors.md 3.15). A principal that both enables model
--   access and invokes a model in the window is high; either alone is medium.
-- severity: medium
-- mitre: [T1496]
-- engines: [local, athena, lake]
-- tags: [mining, key_hunt]
-- parameters:
--   baseline_start: {type: timestamp, default: start - 14d, description: Start of the trailing baseline (UTC); the baseline ends at start}
--   start: {type: timestamp, description: Detection window start in UTC (inclusive)}
--   end: {type: timestamp, description: Detection window end in UTC (exclusive)}
-- window: [baseline_start, end]
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.impact.bedrock-invoke-model/
--   - https://sysdig.com/blog/llmjacking-stolen-cloud-credentials-used-in-new-ai-attack/
-- remediation:
--   text: >
--     Ask the principal's owner whether they use Bedrock. If not, revoke its credentials, remove model
--     access nobody requested, and deny bedrock:InvokeModel* to principals that do not need it; watch
--     the bill for model-invocation charges.
--   docs: https://docs.aws.amazon.com/bedrock/latest/userguide/model-access.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
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
        from_iso8601_timestamp(eventtime) >= {{ start }} AS in_window
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
    {{ detection }} AS detection,
    CASE WHEN bool_or(enable) AND bool_or(invoke) THEN 'high' ELSE {{ severity }} END AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    array_sort(array_agg(DISTINCT model_id) FILTER (WHERE model_id IS NOT NULL)) AS models
FROM novel
GROUP BY recipientaccountid, actor
ORDER BY first_seen
