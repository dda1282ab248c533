-- name: lambda_resource_policy_backdoor
-- title: Lambda function permission granted to everyone, another account or an unscoped AWS service
-- kind: detection
-- description: >
--   lambda:AddPermission with principal "*" or another account's id: anyone (or that account) can
--   now invoke the function, a persistence path that needs no IAM credentials (Stratus lambda-
--   backdoor-function). A grant to an AWS service principal (e.g. s3.amazonaws.com) is reported only
--   when it sets neither SourceAccount nor SourceArn: then a resource of that service in any account
--   can invoke the function (the confused deputy the AddPermission API reference warns of). A finding
--   with a grant to "*" is critical; other grants are high.
-- severity: high
-- mitre: [T1546, T1098]
-- engines: [local, athena, lake]
-- tags: [persistence, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.lambda-backdoor-function/
-- remediation:
--   text: >
--     Confirm with the function's owner that the principal should invoke it. If not, remove the
--     statement from the function's resource-based policy (RemovePermission) and review the
--     invocations since the grant; grants to service principals need a source account or ARN
--     condition.
--   docs: https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html
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
        json_extract_scalar(requestparameters, '$.principal') AS grantee,
        json_extract_scalar(requestparameters, '$.functionName') AS function_name
    FROM events
    WHERE eventsource = 'lambda.amazonaws.com'
      AND eventname LIKE 'AddPermission%'
      AND (json_extract_scalar(requestparameters, '$.principal') = '*'
           OR (regexp_like(coalesce(json_extract_scalar(requestparameters, '$.principal'), ''), '^(arn:aws[a-z-]*:iam::)?[0-9]{12}')
               AND regexp_extract(json_extract_scalar(requestparameters, '$.principal'), '([0-9]{12})', 1) <> recipientaccountid)
           OR (regexp_like(coalesce(json_extract_scalar(requestparameters, '$.principal'), ''), '\.amazonaws\.com(\.cn)?$')
               AND coalesce(json_extract_scalar(requestparameters, '$.sourceAccount'), '') = ''
               AND coalesce(json_extract_scalar(requestparameters, '$.sourceArn'), '') = ''))
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(grantee = '*') THEN 'critical' ELSE {{ severity }} END AS severity,
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
    array_sort(array_agg(DISTINCT grantee)) AS grantees,
    array_sort(array_agg(DISTINCT function_name)) AS functions
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
