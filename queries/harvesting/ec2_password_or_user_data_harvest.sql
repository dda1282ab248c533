-- name: ec2_password_or_user_data_harvest
-- title: EC2 Windows passwords or instance user data read across instances
-- kind: detection
-- description: >
--   ec2:GetPasswordData (the encrypted Windows administrator password) or DescribeInstanceAttribute
--   for userData (which often holds bootstrap secrets) on at least min_instances distinct instances
--   by one principal within bucket_minutes. Failed attempts count: a sweep that is denied still
--   shows intent (Stratus ec2-get-password-data, ec2-download-user-data). A sweep in which any call
--   succeeded is high (the data was read); one denied throughout is medium.
-- severity: medium
-- mitre: [T1552.005, T1552]
-- engines: [local, athena, lake]
-- tags: [harvesting, key_hunt]
-- lookback: bucket_minutes
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   bucket_minutes: {type: int, default: 60, min: 1, max: 1440, description: Length of the counting bucket in minutes}
--   min_instances: {type: int, default: 3, min: 1, description: Distinct instances read in one bucket}
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.credential-access.ec2-get-password-data/
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.discovery.ec2-download-user-data/
-- remediation:
--   text: >
--     Assume every Windows administrator password retrieved and every secret in the user data read is
--     known to the caller: rotate them, and move secrets out of user data into Secrets Manager or
--     Parameter Store. Ask the owner whether the reads were automation before revoking the caller's
--     credentials.
--   docs: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html
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
        json_extract_scalar(requestparameters, '$.instanceId') AS instance_id,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / ({{ bucket_minutes }} * 60)) AS bucket
    FROM events
    WHERE eventsource = 'ec2.amazonaws.com'
      AND (eventname = 'GetPasswordData'
           OR (eventname = 'DescribeInstanceAttribute' AND json_extract_scalar(requestparameters, '$.attribute') = 'userData'))
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(errorcode IS NULL) > 0 THEN 'high' ELSE {{ severity }} END AS severity,
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
    count(DISTINCT instance_id) AS instances
FROM hits
GROUP BY recipientaccountid, principal_arn, bucket
HAVING count(DISTINCT instance_id) >= {{ min_instances }}
ORDER BY first_seen
