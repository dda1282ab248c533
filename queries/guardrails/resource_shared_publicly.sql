-- name: resource_shared_publicly
-- title: AMI, EBS snapshot or RDS snapshot shared publicly or with another account
-- kind: detection
-- description: >
--   ModifyImageAttribute (launchPermission add), ModifySnapshotAttribute (createVolumePermission
--   add), ModifyDBSnapshotAttribute / ModifyDBClusterSnapshotAttribute (restore valuesToAdd): the
--   image or snapshot is shared with group "all" (public, critical) or with an account outside
--   trusted_accounts (high). Sharing a snapshot is a one-call exfiltration of a disk or a database
--   (Stratus ec2-share-ami, ec2-share-ebs-snapshot, rds-share-snapshot). Failed attempts are
--   reported too: a finding whose calls all failed is medium, public or not.
-- severity: high
-- mitre: [T1537]
-- engines: [local, athena, lake]
-- tags: [guardrails, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   trusted_accounts: {type: 'list[account_id]', default: [], description: Accounts that may receive shares (your organization)}
-- references:
--   - https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySnapshotAttribute.html
--   - https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBSnapshotAttribute.html
-- remediation:
--   text: >
--     Unless the owner confirms the share, remove the public (group all) or outside-account permission
--     from the image or snapshot. A copy the other account already made cannot be recalled, so rotate
--     the secrets the disk or database holds; turn on block public access for AMIs and EBS snapshots
--     in each Region.
--   docs: https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html
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
    WHERE g.grantee = 'all' OR (g.grantee <> h.recipientaccountid AND NOT contains({{ trusted_accounts }}, g.grantee))
    GROUP BY g.eventid
),
shared AS (
    SELECT h.*, f.public, f.shared_with FROM hits h JOIN foreign_grants f ON f.eventid = h.eventid
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(errorcode IS NULL) = 0 THEN 'medium' WHEN bool_or(public) THEN 'critical' ELSE {{ severity }} END AS severity,
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
    array_sort(array_agg(DISTINCT resource_id)) AS resources_shared,
    array_sort(array_distinct(flatten(array_agg(shared_with)))) AS shared_with
FROM shared
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
