-- name: ssm_parameters_decrypted
-- title: Many SSM SecureString parameters decrypted by one principal
-- kind: detection
-- description: >
--   SSM GetParameter, GetParameters and GetParametersByPath with withDecryption=true: within one
--   bucket_minutes bucket a principal decrypts at least min_parameters parameters (names requested;
--   a by-path call counts as min_parameters on its own when recursive). Panther
--   AWS.SSM.DecryptSSMParams uses 25; 10 an hour is the default here (anchors.md 3.14). Stratus ssm-
--   retrieve-securestring-parameters.
-- severity: high
-- mitre: [T1552, T1555]
-- engines: [local, athena, lake]
-- tags: [harvesting, key_hunt]
-- lookback: bucket_minutes
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   bucket_minutes: {type: int, default: 60, min: 1, max: 1440, description: Length of the counting bucket in minutes}
--   min_parameters: {type: int, default: 10, min: 1, description: Parameters decrypted in one bucket}
-- references:
--   - https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html
-- remediation:
--   text: >
--     Ask the owner of the principal whether the decryption was expected. If not, change the value of
--     every SecureString parameter that was read and revoke the caller's credentials; restrict
--     ssm:GetParameter* and kms:Decrypt to the parameter paths each role needs.
--   docs: https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-restrict-parameter-access.html
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
        CASE WHEN eventname = 'GetParameters' THEN coalesce(json_array_length(json_extract(requestparameters, '$.names')), 0) WHEN eventname = 'GetParametersByPath' AND lower(coalesce(json_extract_scalar(requestparameters, '$.recursive'), 'false')) = 'true' THEN {{ min_parameters }} ELSE 1 END AS parameters,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / ({{ bucket_minutes }} * 60)) AS bucket
    FROM events
    WHERE eventsource = 'ssm.amazonaws.com'
      AND eventname IN ('GetParameter', 'GetParameters', 'GetParametersByPath')
      AND lower(coalesce(json_extract_scalar(requestparameters, '$.withDecryption'), 'false')) = 'true'
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn AS principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    sum(parameters) AS parameters_decrypted
FROM hits
GROUP BY recipientaccountid, principal_arn, bucket
HAVING sum(parameters) >= {{ min_parameters }}
ORDER BY first_seen
