WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        coalesce(json_extract_scalar(requestparameters, '$.imageId'), json_extract_scalar(requestparameters, '$.snapshotId'), json_extract_scalar(requestparameters, '$.dBSnapshotIdentifier'), json_extract_scalar(requestparameters, '$.dBClusterSnapshotIdentifier')) AS resource_id,
        coalesce(json_format(json_extract(requestparameters, '$.launchPermission.add')), json_format(json_extract(requestparameters, '$.createVolumePermission.add')), json_format(json_extract(requestparameters, '$.valuesToAdd')), '') AS added
    FROM events
    WHERE (eventsource = 'ec2.amazonaws.com' AND eventname IN ('ModifyImageAttribute', 'ModifySnapshotAttribute'))
      OR (eventsource = 'rds.amazonaws.com' AND eventname IN ('ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute')
          AND json_extract_scalar(requestparameters, '$.attributeName') = 'restore')
),
grantees AS (
    SELECT h.eventid, grantee
    FROM hits h
    CROSS JOIN UNNEST(regexp_extract_all(h.added, '"?(all|[0-9]{12})"?', 1)) AS t(grantee)
),
foreign_grants AS (
    SELECT g.eventid, bool_or(g.grantee = 'all') AS public, array_agg(DISTINCT g.grantee) AS shared_with
    FROM grantees g
    JOIN hits h ON h.eventid = g.eventid
    WHERE g.grantee = 'all' OR (g.grantee <> h.recipientaccountid AND NOT contains(CAST(ARRAY[] AS ARRAY(VARCHAR)), g.grantee))
    GROUP BY g.eventid
),
shared AS (
    SELECT h.*, f.public, f.shared_with FROM hits h JOIN foreign_grants f ON f.eventid = h.eventid
)
SELECT
    'resource_shared_publicly' AS detection,
    CASE WHEN count_if(errorcode IS NULL) = 0 THEN 'medium' WHEN bool_or(public) THEN 'critical' ELSE 'high' END AS severity,
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
    ARRAY['T1537'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT resource_id)) AS resources_shared,
    array_sort(array_distinct(flatten(array_agg(shared_with)))) AS shared_with
FROM shared
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
