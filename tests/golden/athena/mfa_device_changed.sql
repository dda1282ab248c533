WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
changes AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        useridentity.type = 'Root' AS is_root,
        eventname IN ('DeactivateMFADevice', 'DeleteVirtualMFADevice') AS is_removal,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        coalesce(json_extract_scalar(requestparameters, '$.userName'),
                 CASE WHEN useridentity.type = 'Root' THEN 'root' END) AS target_user
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname IN ('DeactivateMFADevice', 'DeleteVirtualMFADevice', 'CreateVirtualMFADevice', 'EnableMFADevice')
)
SELECT
    'mfa_device_changed' AS detection,
    CASE
        WHEN bool_or(is_root OR target_user = 'root') THEN 'high'
        WHEN bool_or(is_removal) THEN 'medium'
        ELSE 'low'
    END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1556.006', 'T1098.005'] AS mitre,
    target_user,
    bool_or(is_removal) AS removed,
    count_if(errorcode IS NOT NULL) AS failed_calls
FROM changes
GROUP BY recipientaccountid, principal_arn, sourceipaddress, target_user
ORDER BY first_seen
