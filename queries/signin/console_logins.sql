-- name: console_logins
-- title: Console sign-ins (timeline)
-- kind: context
-- description: >
--   Every ConsoleLogin in the window with its outcome, whether MFA was used, whether it was a
--   federated (SAML or IAM Identity Center) sign-in, the principal and the source. Failed sign-ins
--   carry no ARN, so user_name is the key that failures and successes share.
-- severity: info
-- engines: [local, athena, lake]
-- tags: [signin, console_logins]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- columns:
--   eventtime: string
--   eventid: string
--   account_id: string
--   region: string
--   identity_type: string
--   principal_arn: string
--   user_name: string
--   source_ip: string
--   user_agent: string
--   outcome: string
--   mfa_used: bool
--   federated: bool
--   error_message: string
-- references:
--   - https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
)
SELECT
    eventtime,
    eventid,
    recipientaccountid AS account_id,
    awsregion AS region,
    useridentity.type AS identity_type,
    coalesce({{ actor_arn }}, useridentity.username) AS principal_arn,
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
