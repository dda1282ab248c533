WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."trailbook_scan_00000000000000000000000000000000" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z' AND account_partition IN ('111122223333')
),
root AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        eventname = 'ConsoleLogin'
            AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success'
            AND upper(coalesce(json_extract_scalar(additionaleventdata, '$.MFAUsed'), 'No')) <> 'YES' AS login_without_mfa
    FROM events
    WHERE useridentity.type = 'Root'
      AND coalesce(eventtype, '') <> 'AwsServiceEvent'
      AND useridentity.invokedby IS NULL
)
SELECT
    'root_activity' AS detection,
    CASE WHEN bool_or(login_without_mfa) THEN 'critical' ELSE 'high' END AS severity,
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
    ARRAY['T1078.004'] AS mitre
FROM root
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen

