-- name: get_signin_token_abuse
-- title: Console session minted from API credentials (GetSigninToken)
-- kind: detection
-- description: >
--   signin GetSigninToken called by anything other than the IAM Identity Center portal (whose user
--   agent is 'Jersey/${project.version}'). Tools such as aws_consoler and Pacu turn stolen access keys
--   into a console session this way, bridging key theft into console access.
-- severity: medium
-- mitre: [T1550.001]
-- engines: [local, athena, lake]
-- tags: [signin, console_logins]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_enable-console-custom-url.html
--   - https://github.com/SigmaHQ/sigma/blob/master/rules/cloud/aws/cloudtrail/aws_console_getsignintoken.yml
-- remediation:
--   text: >
--     Find the credentials that minted the console session and ask their owner. If it was not them,
--     deactivate the access key and deny all actions to the IAM user, or revoke the role's sessions
--     (the console session outlives the key), then review what the console session did.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_disable-perms.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    useridentity.arn AS principal_arn,
    min(useridentity.accesskeyid) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre
FROM events
WHERE eventsource = 'signin.amazonaws.com'
  AND eventname = 'GetSigninToken'
  AND strpos(coalesce(useragent, ''), 'Jersey/${project.version}') = 0
GROUP BY recipientaccountid, useridentity.arn, sourceipaddress
ORDER BY first_seen
