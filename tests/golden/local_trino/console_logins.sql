WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
)
SELECT
    eventtime,
    eventid,
    recipientaccountid AS account_id,
    awsregion AS region,
    useridentity.type AS identity_type,
    coalesce(coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby), useridentity.username) AS principal_arn,
    CASE WHEN useridentity.type = 'Root' THEN 'root'
         ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.principalid)
    END AS user_name,
    sourceipaddress AS source_ip,
    useragent AS user_agent,
    coalesce(json_extract_scalar(responseelements, '$.ConsoleLogin'), IF(errorcode IS NULL AND errormessage IS NULL, 'Success', 'Failure')) AS outcome,
    upper(coalesce(json_extract_scalar(additionaleventdata, '$.MFAUsed'), 'No')) = 'YES'
        OR coalesce(useridentity.sessioncontext.attributes.mfaauthenticated, 'false') = 'true' AS mfa_used,
    json_extract_scalar(additionaleventdata, '$.SamlProviderArn') IS NOT NULL
        OR coalesce(useridentity.arn, '') LIKE '%:assumed-role/AWSReservedSSO%' AS federated,
    errormessage AS error_message
FROM events
WHERE eventsource = 'signin.amazonaws.com'
  AND eventname = 'ConsoleLogin'
ORDER BY eventtime, eventid
