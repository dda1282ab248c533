-- name: iam_access_key_created_for_other_user
-- title: Access key created for another IAM user
-- kind: detection
-- description: >
--   CreateAccessKey where the key's user (requestParameters.userName) is not the caller: a backdoor
--   key on another identity survives the rotation of the stolen one (Stratus iam-backdoor-user, iam-
--   create-admin-user; Sigma aws_iam_backdoor_users_keys; Elastic
--   persistence_iam_user_created_access_keys_for_another_user). Users creating their own key are
--   left out. Failed attempts are reported too: a finding whose calls all failed is medium.
-- severity: high
-- mitre: [T1098.001]
-- engines: [local, athena, lake]
-- tags: [persistence, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html
-- remediation:
--   text: >
--     Ask the user and the caller whether the key was requested. If not, deactivate and then delete
--     the key and treat the caller as compromised: rotating the originally stolen key is not enough
--     while this backdoor key exists.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        json_extract_scalar(requestparameters, '$.userName') AS target_user,
        json_extract_scalar(responseelements, '$.accessKey.accessKeyId') AS created_key
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname = 'CreateAccessKey'
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
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT target_user)) AS target_users,
    array_sort(array_agg(DISTINCT created_key) FILTER (WHERE created_key IS NOT NULL)) AS created_keys
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
