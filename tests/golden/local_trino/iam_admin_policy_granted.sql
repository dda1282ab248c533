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
        coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.roleName'), json_extract_scalar(requestparameters, '$.groupName'), json_extract_scalar(requestparameters, '$.policyArn')) AS target,
        coalesce(json_extract_scalar(requestparameters, '$.policyArn'), json_extract_scalar(requestparameters, '$.policyName')) AS policy,
        json_extract_scalar(requestparameters, '$.userName') IS NOT NULL AND json_extract_scalar(requestparameters, '$.userName') = useridentity.username AS grants_self
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND (
        (eventname IN ('PutUserPolicy', 'PutRolePolicy', 'PutGroupPolicy')
         AND regexp_like(coalesce(json_extract_scalar(requestparameters, '$.policyDocument'), ''), '"(Action|NotAction)"\s*:\s*(\[[^\]]*)?"(\*|iam:\*|[a-z0-9-]+:\*)"'))
        OR (eventname IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy')
            AND contains(ARRAY['AdministratorAccess', 'IAMFullAccess'], regexp_extract(coalesce(json_extract_scalar(requestparameters, '$.policyArn'), ''), '[^/]*$')))
        OR (eventname = 'CreatePolicyVersion'
            AND lower(coalesce(json_extract_scalar(requestparameters, '$.setAsDefault'), 'false')) = 'true'
            AND regexp_like(coalesce(json_extract_scalar(requestparameters, '$.policyDocument'), ''), '"(Action|NotAction)"\s*:\s*(\[[^\]]*)?"(\*|iam:\*|[a-z0-9-]+:\*)"'))
      )
)
SELECT
    'iam_admin_policy_granted' AS detection,
    CASE WHEN count_if(errorcode IS NULL) = 0 THEN 'medium' ELSE 'high' END AS severity,
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
    ARRAY['T1098.003', 'T1078.004'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    target,
    array_sort(array_agg(DISTINCT policy)) AS policies,
    bool_or(grants_self) AS grants_self
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress, target
ORDER BY first_seen
