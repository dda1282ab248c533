WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
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
    'ec2_user_data_modified' AS detection,
    'high' AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1059.009', 'T1578'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT instance_id)) AS instances
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
