WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/08' AND '2026/10/29' AND eventtime >= '2026-10-08T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
launches AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        lower(coalesce(json_extract_scalar(requestparameters, '$.instanceType'), '')) AS instance_type,
        coalesce(TRY_CAST(json_extract_scalar(requestparameters, '$.instancesSet.items[0].maxCount') AS INTEGER), 1) AS max_count,
        from_iso8601_timestamp(eventtime) >= TIMESTAMP '2026-10-22 00:00:00' AS in_window
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
           regexp_like(l.instance_type, '^(p[0-9]|g[0-9]|gr[0-9]|inf[0-9]|trn[0-9]|dl[0-9]|f[0-9]|vt[0-9]|x[0-9])[a-z0-9-]*\.|\.(metal.*|(1[2-9]|[2-9][0-9]|1[0-9][0-9])xlarge)$') AS unusual_type,
           (u.awsregion IS NULL AND h.baseline_launches >= 1) AS unused_region,
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
    'ec2_unusual_instance_launch' AS detection,
    CASE WHEN bool_or(unusual_type AND (unused_region OR limit_or_denied)) THEN 'high' ELSE 'medium' END AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1496', 'T1578.002'] AS mitre,
    array_sort(array_agg(DISTINCT instance_type)) AS instance_types,
    sum(max_count) AS instances_requested,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT errorcode) FILTER (WHERE errorcode IS NOT NULL)) AS errors,
    bool_or(unused_region) AS unused_region
FROM flagged
GROUP BY recipientaccountid, awsregion, principal_arn
ORDER BY first_seen
