-- name: ssm_command_many_instances
-- title: SSM SendCommand or StartSession across many instances
-- kind: detection
-- description: >
--   Execution and lateral movement through Systems Manager: one principal runs commands
--   (SendCommand, by instance id) or opens shell sessions (StartSession) on at least min_instances
--   distinct instances within bucket_minutes (buckets on two grids, the second shifted by half a
--   bucket, so a burst cut by one grid's edge, midnight included, is whole on the other; each event
--   is reported once, with the firing bucket that reaches the most instances). Fleet patching normally runs from State Manager or
--   Maintenance Windows (invoked by SSM itself, ignored here) and targets tags, not lists of ids.
--   Stratus ssm-send-command, ssm-start-session, ec2-steal-instance-credentials. Shell commands
--   (SendCommand with AWS-RunShellScript or AWS-RunPowerShellScript) make a finding high; other
--   documents and sessions alone, medium. Instances are counted per account and principal.
-- severity: medium
-- mitre: [T1651, T1021.007]
-- engines: [local, athena, lake]
-- tags: [execution, key_hunt]
-- lookback: bucket_minutes
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   bucket_minutes: {type: int, default: 60, min: 1, max: 1440, description: Length of the counting bucket in minutes}
--   min_instances: {type: int, default: 3, min: 1, description: Distinct instances reached in one bucket}
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.execution.ssm-send-command/
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.execution.ssm-start-session/
-- remediation:
--   text: >
--     Read the commands or session logs behind the calls and ask the fleet owner whether the run was
--     planned. If not, treat the targeted instances as compromised (isolate them, snapshot their
--     volumes), revoke the caller's credentials, and limit ssm:SendCommand and ssm:StartSession to
--     named roles and tagged instances.
--   docs: https://docs.aws.amazon.com/guardduty/latest/ug/compromised-ec2.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
commands AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        json_extract_scalar(requestparameters, '$.documentName') AS document,
        regexp_extract_all(coalesce(json_format(json_extract(requestparameters, '$.instanceIds')),
                                    json_extract_scalar(requestparameters, '$.target'), ''), 'i-[0-9a-zA-Z]+') AS instances,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / ({{ bucket_minutes }} * 60)) AS bucket,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / ({{ bucket_minutes }} * 60) + 0.5) AS shifted
    FROM events
    WHERE eventsource = 'ssm.amazonaws.com'
      AND eventname IN ('SendCommand', 'StartSession')
      AND useridentity.invokedby IS NULL
),
cells AS (
    SELECT eventid, recipientaccountid, principal_arn, instances, 0 AS grid, bucket AS cell FROM commands
    UNION ALL
    SELECT eventid, recipientaccountid, principal_arn, instances, 1 AS grid, shifted AS cell FROM commands
),
reached AS (
    SELECT c.eventid, c.recipientaccountid, c.principal_arn, c.grid, c.cell, instance_id
    FROM cells c
    CROSS JOIN UNNEST(c.instances) AS t(instance_id)
),
spread AS (
    SELECT recipientaccountid, principal_arn, grid, cell, count(DISTINCT instance_id) AS instances_reached,
           array_sort(array_agg(DISTINCT instance_id)) AS instance_ids
    FROM reached
    GROUP BY recipientaccountid, principal_arn, grid, cell
    HAVING count(DISTINCT instance_id) >= {{ min_instances }}
),
chosen AS (
    SELECT eventid, burst
    FROM (
        SELECT c.eventid, 2 * c.cell + c.grid AS burst,
               row_number() OVER (PARTITION BY c.eventid
                                  ORDER BY s.instances_reached DESC, 2 * c.cell + c.grid) AS pick
        FROM cells c
        JOIN spread s ON s.recipientaccountid = c.recipientaccountid AND s.principal_arn = c.principal_arn
            AND s.grid = c.grid AND s.cell = c.cell
    ) ranked
    WHERE pick = 1
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(eventname = 'SendCommand' AND document IN ('AWS-RunShellScript', 'AWS-RunPowerShellScript')) > 0
         THEN 'high' ELSE {{ severity }} END AS severity,
    min(c.eventtime) AS first_seen,
    max(c.eventtime) AS last_seen,
    c.recipientaccountid AS account_id,
    min(c.awsregion) AS region,
    c.principal_arn,
    min(c.access_key_id) AS access_key_id,
    min(c.sourceipaddress) AS source_ip,
    min(c.useragent) AS user_agent,
    array_sort(array_agg(DISTINCT c.eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(c.eventid ORDER BY c.eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    min(s.instances_reached) AS instances_reached,
    min(s.instance_ids) AS instance_ids
FROM commands c
JOIN chosen k ON k.eventid = c.eventid
JOIN spread s ON s.recipientaccountid = c.recipientaccountid AND s.principal_arn = c.principal_arn
    AND 2 * s.cell + s.grid = k.burst
GROUP BY c.recipientaccountid, c.principal_arn, k.burst
ORDER BY first_seen
