WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
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
    'lambda_resource_policy_backdoor' AS detection,
    CASE WHEN bool_or(grantee = '*') THEN 'critical' ELSE 'high' END AS severity,
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
    ARRAY['T1546', 'T1098'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT grantee)) AS grantees,
    array_sort(array_agg(DISTINCT function_name)) AS functions
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
