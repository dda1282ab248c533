-- name: access_key_created_then_used
-- title: New access key used from a source other than the one that created it
-- kind: detection
-- description: >
--   An access key created in the window (CreateAccessKey) is then used from a source IP other than
--   the one it was created from. An attacker who creates a key for persistence takes it home; an
--   administrator who creates a key for a pipeline hands it to that pipeline too, so the finding is
--   medium unless the creator was not the key's user (then high: see also
--   iam_access_key_created_for_other_user). Elastic persistence_iam_user_self_created_access_key_subsequently_used
--   (anchors.md 3.8).
-- severity: medium
-- mitre: [T1098.001, T1078.004]
-- engines: [local, athena, lake]
-- tags: [persistence, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html
-- remediation:
--   text: >
--     Ask the key's user whether they created the key and where it is meant to run. If not, deactivate
--     the key, delete it when the investigation is over, and revoke the creator's credentials when the
--     creator was someone else.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
created AS (
    SELECT
        json_extract_scalar(responseelements, '$.accessKey.accessKeyId') AS new_key,
        json_extract_scalar(responseelements, '$.accessKey.userName') AS key_user,
        eventtime AS created_at,
        eventid AS create_event_id,
        sourceipaddress AS creator_ip,
        useridentity.arn AS creator_arn,
        coalesce(useridentity.username, '') AS creator_name
    FROM events
    WHERE eventsource = 'iam.amazonaws.com' AND eventname = 'CreateAccessKey' AND errorcode IS NULL
      AND json_extract_scalar(responseelements, '$.accessKey.accessKeyId') IS NOT NULL
),
uses AS (
    SELECT e.eventtime, e.eventid, e.eventname, e.recipientaccountid, e.awsregion, e.sourceipaddress, e.useragent,
           e.useridentity.arn AS principal_arn, e.useridentity.accesskeyid AS access_key_id
    FROM events e
    WHERE e.useridentity.accesskeyid LIKE 'AKIA%'
      AND e.sourceipaddress NOT LIKE '%amazonaws.com'
      AND e.sourceipaddress <> 'AWS Internal'
),
used_elsewhere AS (
    SELECT u.*, c.creator_arn, c.creator_ip, c.create_event_id, c.key_user, c.creator_name
    FROM uses u
    JOIN created c ON c.new_key = u.access_key_id
    WHERE u.eventtime >= c.created_at AND u.sourceipaddress <> coalesce(c.creator_ip, '')
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN min(key_user) <> min(creator_name) THEN 'high' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    min(creator_arn) AS created_by,
    min(creator_ip) AS created_from,
    min(create_event_id) AS create_event_id
FROM used_elsewhere
GROUP BY recipientaccountid, access_key_id, sourceipaddress
ORDER BY first_seen
