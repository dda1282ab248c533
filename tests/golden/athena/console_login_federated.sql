WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
logins AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        coalesce(coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby), useridentity.username) AS principal_arn,
        coalesce(
            json_extract_scalar(additionaleventdata, '$.SamlProviderArn'),
            CASE WHEN coalesce(useridentity.arn, '') LIKE '%:assumed-role/AWSReservedSSO%' THEN 'IAM Identity Center' END
        ) AS identity_provider
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
      AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success'
      AND (json_extract_scalar(additionaleventdata, '$.SamlProviderArn') IS NOT NULL
           OR coalesce(useridentity.arn, '') LIKE '%:assumed-role/AWSReservedSSO%')
)
SELECT
    'console_login_federated' AS detection,
    'info' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1078.004'] AS mitre,
    min(identity_provider) AS identity_provider
FROM logins
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen
