-- name: vpc_flow_logs_deleted
-- title: VPC flow logs deleted
-- kind: detection
-- description: >
--   ec2:DeleteFlowLogs removes network logging for VPCs, subnets or interfaces (Stratus vpc-remove-
--   flow-logs; Sigma aws_cloudtrail_vpc_flow_logs_deleted). Failed attempts are reported too: a
--   finding whose calls all failed is medium.
-- severity: high
-- mitre: [T1562.008]
-- engines: [local, athena, lake]
-- tags: [guardrails, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteFlowLogs.html
-- remediation:
--   text: >
--     Recreate the flow logs for the affected VPCs, subnets or interfaces with their original
--     destination, after asking the network owner whether the deletion was planned. Traffic during the
--     gap is not recorded; look at GuardDuty findings and other network logs for that period.
--   docs: https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html
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
    WHERE eventsource = 'ec2.amazonaws.com' AND eventname = 'DeleteFlowLogs'
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
