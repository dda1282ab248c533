WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
logins AS (
    SELECT *
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
      AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success'
      AND upper(coalesce(json_extract_scalar(additionaleventdata, '$.MFAUsed'), 'No')) <> 'YES'
      AND coalesce(useridentity.sessioncontext.attributes.mfaauthenticated, 'false') <> 'true'
      AND json_extract_scalar(additionaleventdata, '$.SamlProviderArn') IS NULL
      AND coalesce(useridentity.arn, '') NOT LIKE '%:assumed-role/AWSReservedSSO%'
)
SELECT
    'console_login_without_mfa' AS detection,
    CASE WHEN min(useridentity.type) = 'Root' THEN 'critical' ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    coalesce(coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby), useridentity.username) AS principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1078.004'] AS mitre
FROM logins
GROUP BY recipientaccountid, coalesce(coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby), useridentity.username), sourceipaddress
ORDER BY first_seen
