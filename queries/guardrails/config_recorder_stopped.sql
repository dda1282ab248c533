-- name: config_recorder_stopped
-- title: AWS Config recorder stopped or deleted
-- kind: detection
-- description: >
--   StopConfigurationRecorder, DeleteConfigurationRecorder or DeleteDeliveryChannel: the account
--   stops recording resource changes, hiding what an attacker changes next (Sigma
--   aws_config_disable_recording, Panther AWS.ConfigService.DisabledDeleted). Failed attempts are
--   reported too: a finding whose calls all failed is medium.
-- severity: high
-- mitre: [T1562.001]
-- engines: [local, athena, lake]
-- tags: [guardrails, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/config/latest/APIReference/API_StopConfigurationRecorder.html
-- remediation:
--   text: >
--     Start the configuration recorder again (recreate the delivery channel first if it was deleted)
--     in every affected Region, and ask the account owner whether the stop was planned. Changes made
--     while recording was off are missing from AWS Config's history: review the caller's CloudTrail
--     activity for that period instead.
--   docs: https://docs.aws.amazon.com/config/latest/developerguide/managing-recorder_console-start.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name
    FROM events
    WHERE eventsource = 'config.amazonaws.com'
      AND eventname IN ('StopConfigurationRecorder', 'DeleteConfigurationRecorder', 'DeleteDeliveryChannel')
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
    count_if(errorcode IS NULL) AS succeeded
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
