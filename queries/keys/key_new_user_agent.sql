-- name: key_new_user_agent
-- title: Access key or principal used with a user agent never seen in its baseline
-- kind: detection
-- description: >
--   First-seen against a trailing baseline: a long-term key or IAM user / root principal calls AWS
--   with an exact user-agent string it never sent in the baseline, from a source IP it also never
--   used. Tool upgrades change the version in the string, so the IP condition keeps routine upgrades
--   quiet; key_new_user_agent_family reports a change of tool. The subject is the long-term key
--   (AKIA...) when the call was signed with one, otherwise the IAM user or root principal ARN. Only
--   subjects with at least min_baseline_events events between baseline_start and start are judged,
--   so brand-new keys do not flood the hunt. Calls made by AWS services on the principal's behalf
--   are ignored.
-- severity: low
-- mitre: [T1078.004]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- parameters:
--   baseline_start: {type: timestamp, default: start - 14d, description: Start of the trailing baseline (UTC); the baseline ends at start}
--   start: {type: timestamp, description: Detection window start in UTC (inclusive)}
--   end: {type: timestamp, description: Detection window end in UTC (exclusive)}
--   min_baseline_events: {type: int, default: 5, min: 1, description: Events a subject needs in the baseline to be judged}
-- window: [baseline_start, end]
-- references:
--   - https://github.com/elastic/detection-rules (new_terms on access key and user agent)
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
activity AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN useridentity.accesskeyid
             ELSE {{ actor_arn }} END AS subject,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN 'key' ELSE 'principal' END AS subject_type,
        useragent AS seen_value,
        from_iso8601_timestamp(eventtime) >= {{ start }} AS in_window
    FROM events
    WHERE (useridentity.accesskeyid LIKE 'AKIA%' OR useridentity.type IN ('IAMUser', 'Root'))
      AND useridentity.invokedby IS NULL
      AND sourceipaddress IS NOT NULL
      AND sourceipaddress NOT LIKE '%amazonaws.com'
      AND sourceipaddress <> 'AWS Internal'
),
known_subjects AS (
    SELECT subject FROM activity WHERE NOT in_window GROUP BY subject HAVING count(*) >= {{ min_baseline_events }}
),
baseline AS (
    SELECT DISTINCT subject, seen_value FROM activity WHERE NOT in_window AND seen_value IS NOT NULL
),
novel AS (
    SELECT a.*
    FROM activity a
    JOIN known_subjects k ON k.subject = a.subject
    LEFT JOIN baseline b ON b.subject = a.subject AND b.seen_value = a.seen_value
    WHERE a.in_window AND a.seen_value IS NOT NULL AND b.subject IS NULL
),
known_ips AS (
    SELECT DISTINCT subject, sourceipaddress FROM activity WHERE NOT in_window
),
novel_from_new_ip AS (
    SELECT n.*
    FROM novel n
    LEFT JOIN known_ips i ON i.subject = n.subject AND i.sourceipaddress = n.sourceipaddress
    WHERE i.subject IS NULL
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    subject_type,
    subject,
    seen_value AS new_user_agent
FROM novel_from_new_ip
GROUP BY recipientaccountid, subject_type, subject, seen_value
ORDER BY first_seen
