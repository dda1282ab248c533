-- name: ec2_user_data_modified
-- title: EC2 instance user data modified
-- kind: detection
-- description: >
--   ModifyInstanceAttribute changing userData: the script runs as root on the next start, so stop /
--   modify / start is a way to execute code on an instance with only EC2 API rights (Stratus
--   ec2-user-data).
-- severity: high
-- mitre: [T1059.009, T1578]
-- engines: [local, athena, lake]
-- tags: [execution, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.execution.ec2-user-data/
-- remediation:
--   text: >
--     Compare the instance's user data with the script in your deployment templates and restore the
--     known-good version before the instance starts again. If the modified script already ran, treat
--     the instance as compromised (isolate it, snapshot its volumes) and, once the owner confirms the
--     change was not theirs, revoke the caller's credentials.
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
        json_extract_scalar(requestparameters, '$.instanceId') AS instance_id
    FROM events
    WHERE eventsource = 'ec2.amazonaws.com'
      AND eventname = 'ModifyInstanceAttribute'
      AND (json_extract(requestparameters, '$.userData') IS NOT NULL
           OR json_extract_scalar(requestparameters, '$.attribute') = 'userData')
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
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
    array_sort(array_agg(DISTINCT instance_id)) AS instances
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
