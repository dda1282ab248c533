-- name: console_login_without_mfa
-- title: Console sign-in without MFA
-- kind: detection
-- description: >
--   Successful AWS console sign-ins where MFA was not used (additionalEventData.MFAUsed is not
--   'Yes') and the session is not MFA-authenticated. A phished password without MFA is among the
--   most common cloud incidents. Federated and SSO sign-ins (SamlProviderArn, AWSReservedSSO roles)
--   are excluded: their MFA is enforced by the identity provider, and console_login_federated
--   reports them apart. Root sign-ins are reported by root_activity as well. A root sign-in is
--   critical, anyone else's medium.
-- severity: medium
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
--     Assign an MFA device to the user and require MFA for console access (deny actions when
--     aws:MultiFactorAuthPresent is false). Ask the user whether the sign-in was theirs; if not, reset
--     the password and review the session.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
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
    {{ detection }} AS detection,
    CASE WHEN min(useridentity.type) = 'Root' THEN 'critical' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    coalesce({{ actor_arn }}, useridentity.username) AS principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre
FROM logins
GROUP BY recipientaccountid, coalesce({{ actor_arn }}, useridentity.username), sourceipaddress
ORDER BY first_seen
