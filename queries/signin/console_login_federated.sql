-- name: console_login_federated
-- title: Federated and SSO console sign-ins
-- kind: detection
-- description: >
--   Successful console sign-ins through a SAML identity provider (additionalEventData.SamlProviderArn)
--   or IAM Identity Center (AWSReservedSSO roles). Their MFA is enforced by the identity provider,
--   not AWS, so MFAUsed says No even when MFA was used; they are listed apart from
--   console_login_without_mfa for an auditor to reconcile with the IdP's own sign-in log.
--   identity_provider is the SAML provider's ARN, or IAM Identity Center for an AWSReservedSSO
--   role.
-- severity: info
-- mitre: [T1078.004]
-- engines: [local, athena, lake]
-- tags: [signin, console_logins]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
-- remediation:
--   text: >
--     Reconcile each sign-in with the identity provider's own log (who signed in, with which MFA) and
--     ask the user when the provider has no record. For an unexplained sign-in, disable the user at
--     the identity provider and revoke the role's sessions.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
logins AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        coalesce({{ actor_arn }}, useridentity.username) AS principal_arn,
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
    {{ detection }} AS detection,
    {{ severity }} AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    min(identity_provider) AS identity_provider
FROM logins
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen
