-- name: ec2_instance_connect_ssh_key
-- title: SSH key pushed to instances through EC2 Instance Connect or the serial console
-- kind: detection
-- description: >
--   ec2-instance-connect SendSSHPublicKey / SendSerialConsoleSSHPublicKey, and
--   ec2:EnableSerialConsoleAccess: API credentials become shell access on instances. The serial
--   console bypasses security groups and is raised to high. Stratus ec2-instance-connect,
--   ec2-serial-console-send-ssh-public-key.
-- severity: medium
-- mitre: [T1021.004, T1098.004]
-- engines: [local, athena, lake]
-- tags: [execution, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/ec2-instance-connect/latest/APIReference/API_SendSSHPublicKey.html
-- remediation:
--   text: >
--     Ask the instance owner whether the key push was expected. If not, treat the listed instances as
--     compromised (isolate them, snapshot their volumes before changing anything), revoke the caller's
--     credentials, turn EC2 serial console access off again if it was enabled, and limit
--     SendSSHPublicKey to the roles that need it.
--   docs: https://docs.aws.amazon.com/guardduty/latest/ug/compromised-ec2.html
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
        json_extract_scalar(requestparameters, '$.instanceId') AS instance_id
    FROM events
    WHERE (eventsource = 'ec2-instance-connect.amazonaws.com' AND eventname IN ('SendSSHPublicKey', 'SendSerialConsoleSSHPublicKey'))
      OR (eventsource = 'ec2.amazonaws.com' AND eventname = 'EnableSerialConsoleAccess')
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(eventname <> 'SendSSHPublicKey') > 0 THEN 'high' ELSE {{ severity }} END AS severity,
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
    array_sort(array_agg(DISTINCT instance_id) FILTER (WHERE instance_id IS NOT NULL)) AS instances
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
