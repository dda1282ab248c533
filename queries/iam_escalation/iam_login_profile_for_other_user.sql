-- name: iam_login_profile_for_other_user
-- title: Console password created or changed for another IAM user
-- kind: detection
-- description: >
--   CreateLoginProfile or UpdateLoginProfile for a user other than the caller: whoever holds a key
--   with iam:CreateLoginProfile / UpdateLoginProfile can take over any user's console access
--   (Stratus iam-create-user-login-profile, iam-update-user-login-profile; Sigma
--   aws_iam_s3browser_loginprofile_creation). Users changing their own password (no userName, or
--   their own) are left out. Failed attempts are reported as medium.
-- severity: high
-- mitre: [T1098, T1078.004]
-- engines: [local, athena, lake]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateLoginProfile.html
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.iam-create-user-login-profile/
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn,
                 CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END,
                 useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        json_extract_scalar(requestparameters, '$.userName') AS target_user
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname IN ('CreateLoginProfile', 'UpdateLoginProfile')
      AND json_extract_scalar(requestparameters, '$.userName') IS NOT NULL
      AND json_extract_scalar(requestparameters, '$.userName') <> coalesce(useridentity.username, '')
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(errorcode IS NULL) = 0 THEN 'medium' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    awsregion AS region,
    principal_arn AS principal_arn,
    arbitrary(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    arbitrary(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT target_user)) AS target_users
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
