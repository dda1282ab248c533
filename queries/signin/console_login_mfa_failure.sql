-- name: console_login_mfa_failure
-- title: Failed MFA step at console sign-in
-- kind: detection
-- description: >
--   A console sign-in that failed at the MFA step: ConsoleLogin Failure with MFAUsed Yes, or a
--   CheckMfa that did not succeed. Getting as far as MFA suggests the password is known to whoever
--   is signing in; repeated MFA failures are also how MFA-fatigue and stolen-password attempts look.
--   Root is high. A CheckMfa did not succeed when its response is not Success or it carries an
--   error code or message.
-- severity: medium
-- mitre: [T1110, T1621]
-- engines: [local, athena, lake]
-- tags: [signin, console_logins]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
-- remediation:
--   text: >
--     Ask the user whether they were signing in: reaching the MFA step means the password is probably
--     known to whoever tried. If it was not them, reset the password and check the MFA devices; never
--     approve or re-register MFA for someone who contacts you about it.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/Using_ManagingLogins.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
mfa_failures AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.type = 'Root' AS is_root,
        coalesce({{ actor_arn }}, useridentity.username) AS principal_arn,
        CASE WHEN useridentity.type = 'Root' THEN 'root'
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.principalid)
        END AS user_name
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND (
        (eventname = 'ConsoleLogin'
         AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure'
         AND upper(coalesce(json_extract_scalar(additionaleventdata, '$.MFAUsed'), 'No')) = 'YES')
        OR (eventname = 'CheckMfa'
            AND (coalesce(json_extract_scalar(responseelements, '$.CheckMfa'), 'Failure') <> 'Success'
                 OR errorcode IS NOT NULL OR errormessage IS NOT NULL))
      )
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(is_root) THEN 'high' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    user_name
FROM mfa_failures
GROUP BY recipientaccountid, user_name, sourceipaddress
ORDER BY first_seen
