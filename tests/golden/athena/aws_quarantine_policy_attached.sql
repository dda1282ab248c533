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
        json_extract_scalar(requestparameters, '$.userName') AS target_user,
        coalesce(json_extract_scalar(requestparameters, '$.policyName'), json_extract_scalar(requestparameters, '$.policyArn')) AS policy
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname IN ('PutUserPolicy', 'AttachUserPolicy', 'PutRolePolicy', 'AttachRolePolicy', 'PutGroupPolicy', 'AttachGroupPolicy')
      AND (coalesce(json_extract_scalar(requestparameters, '$.policyName'), '') LIKE 'AWSCompromisedKeyQuarantine%'
           OR coalesce(json_extract_scalar(requestparameters, '$.policyArn'), '') LIKE '%/AWSCompromisedKeyQuarantine%'
           OR coalesce(json_extract_scalar(requestparameters, '$.policyName'), '') = 'AWSExposedCredentialPolicy_DO_NOT_REMOVE'
           OR coalesce(json_extract_scalar(requestparameters, '$.policyArn'), '') LIKE '%/AWSExposedCredentialPolicy_DO_NOT_REMOVE')
)
SELECT
    'aws_quarantine_policy_attached' AS detection,
    'critical' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    awsregion AS region,
    coalesce('arn:aws:iam::' || recipientaccountid || ':user/' || target_user, min(principal_arn)) AS principal_arn,
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1552.001', 'T1078.004'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    min(principal_arn) AS actor_arn,
    array_sort(array_agg(DISTINCT policy)) AS policies
FROM hits
GROUP BY recipientaccountid, awsregion, target_user, sourceipaddress
ORDER BY first_seen
