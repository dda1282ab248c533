-- name: ec2_unusual_instance_launch
-- title: GPU or very large EC2 instances launched, or instances launched in an unused region
-- kind: detection
-- description: >
--   Crypto-mining preparation: RunInstances (successful or failed - Client.UnauthorizedOperation and
--   VcpuLimitExceeded show the attempt) of an instance type matching unusual_types (GPU and
--   accelerator families p, g, inf, trn, dl, f, vt, and 12xlarge-and-up or metal sizes), or of any
--   type in a region where the account ran no RunInstances between baseline_start and start (another
--   account's launches there do not count). Severity is high for an unusual type in an unused region
--   or whose launch failed on a limit or an authorization error; anything else is medium. Stratus
--   ec2-launch-unusual-instances (p2.xlarge); Panther AWS.EC2.LaunchUnusualEC2Instances; Elastic
--   hunting ec2_high_instance_deployment_count_attempts (anchors.md 3.15).
-- severity: medium
-- mitre: [T1496, T1578.002]
-- engines: [local, athena, lake]
-- tags: [mining, key_hunt]
-- parameters:
--   baseline_start: {type: timestamp, default: start - 14d, description: Start of the trailing baseline (UTC); the baseline ends at start}
--   start: {type: timestamp, description: Detection window start in UTC (inclusive)}
--   end: {type: timestamp, description: Detection window end in UTC (exclusive)}
--   unusual_types: {type: string, default: '^(p[0-9]|g[0-9]|gr[0-9]|inf[0-9]|trn[0-9]|dl[0-9]|f[0-9]|vt[0-9]|x[0-9])[a-z0-9-]*\.|\.(metal.*|(1[2-9]|[2-9][0-9]|1[0-9][0-9])xlarge)$', description: Regular expression over the instance type that marks GPU / accelerator / very large instances}
--   min_baseline_launches: {type: int, default: 1, min: 0, description: RunInstances calls an account needs in the baseline before unused regions are judged (0 judges every account)}
-- window: [baseline_start, end]
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.execution.ec2-launch-unusual-instances/
--   - https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/accelerated-computing-instances.html
-- remediation:
--   text: >
--     Ask the account owner whether the launch was planned. If not, snapshot and terminate the
--     instances, revoke the credentials that launched them, and look for the same launches in other
--     Regions; an SCP can deny instance types and Regions you never use.
--   docs: https://docs.aws.amazon.com/guardduty/latest/ug/compromised-creds.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
launches AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        lower(coalesce(json_extract_scalar(requestparameters, '$.instanceType'), '')) AS instance_type,
        coalesce(TRY_CAST(json_extract_scalar(requestparameters, '$.instancesSet.items[0].maxCount') AS INTEGER), 1) AS max_count,
        from_iso8601_timestamp(eventtime) >= {{ start }} AS in_window
    FROM events
    WHERE eventsource = 'ec2.amazonaws.com' AND eventname = 'RunInstances'
),
account_history AS (
    SELECT recipientaccountid, count_if(NOT in_window) AS baseline_launches FROM launches GROUP BY recipientaccountid
),
used_regions AS (
    SELECT DISTINCT recipientaccountid, awsregion FROM launches WHERE NOT in_window
),
judged AS (
    SELECT l.*,
           regexp_like(l.instance_type, {{ unusual_types }}) AS unusual_type,
           (u.awsregion IS NULL AND h.baseline_launches >= {{ min_baseline_launches }}) AS unused_region,
           coalesce(l.errorcode, '') IN ('Client.UnauthorizedOperation', 'UnauthorizedOperation', 'Client.VcpuLimitExceeded',
                                          'VcpuLimitExceeded', 'Client.InstanceLimitExceeded', 'InstanceLimitExceeded',
                                          'Server.InsufficientInstanceCapacity', 'Client.MaxSpotInstanceCountExceeded') AS limit_or_denied
    FROM launches l
    JOIN account_history h ON h.recipientaccountid = l.recipientaccountid
    LEFT JOIN used_regions u ON u.recipientaccountid = l.recipientaccountid AND u.awsregion = l.awsregion
    WHERE l.in_window
),
flagged AS (
    SELECT * FROM judged WHERE unusual_type OR unused_region
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(unusual_type AND (unused_region OR limit_or_denied)) THEN 'high' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    awsregion AS region,
    principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    array_sort(array_agg(DISTINCT instance_type)) AS instance_types,
    sum(max_count) AS instances_requested,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT errorcode) FILTER (WHERE errorcode IS NOT NULL)) AS errors,
    bool_or(unused_region) AS unused_region
FROM flagged
GROUP BY recipientaccountid, awsregion, principal_arn
ORDER BY first_seen
