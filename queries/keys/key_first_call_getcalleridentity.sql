-- name: key_first_call_getcalleridentity
-- title: GetCallerIdentity as the first call from a new source
-- kind: detection
-- description: >
--   "Who am I?" is the first thing anyone does with credentials they found. This reports a
--   long-term key (AKIA...) or an IAM user / root principal whose first call from a source IP it
--   never used in the baseline (baseline_start to start) is sts:GetCallerIdentity. With
--   min_subject_history 0 (the default) brand-new keys are judged too: their first source is new
--   by definition, so a fresh key whose first act is GetCallerIdentity is reported.
--   Elastic discovery_new_terms_sts_getcalleridentity; TruffleHog verifies keys this way (anchors.md 3.12).
-- severity: medium
-- mitre: [T1033, T1078.004]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- parameters:
--   baseline_start: {type: timestamp, default: start - 14d, description: Start of the trailing baseline (UTC); the baseline ends at start}
--   start: {type: timestamp, description: Detection window start in UTC (inclusive)}
--   end: {type: timestamp, description: Detection window end in UTC (exclusive)}
--   min_subject_history: {type: int, default: 0, min: 0, description: Events a subject needs in the baseline to be judged (0 judges new keys too)}
-- window: [baseline_start, end]
-- references:
--   - https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
--   - https://github.com/elastic/detection-rules (discovery_new_terms_sts_getcalleridentity)
-- remediation:
--   text: >
--     Ask the key's owner whether they used it from that address. If not, deactivate the key (keep it
--     until the investigation is over) and review every call from the new source: GetCallerIdentity
--     needs no permission, so the calls that follow show what the caller tried.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
activity AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN useridentity.accesskeyid
             ELSE {{ actor_arn }} END AS subject,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN 'key' ELSE 'principal' END AS subject_type,
        from_iso8601_timestamp(eventtime) >= {{ start }} AS in_window
    FROM events
    WHERE (useridentity.accesskeyid LIKE 'AKIA%' OR useridentity.type IN ('IAMUser', 'Root'))
      AND useridentity.invokedby IS NULL
      AND sourceipaddress IS NOT NULL
      AND sourceipaddress NOT LIKE '%amazonaws.com'
      AND sourceipaddress <> 'AWS Internal'
),
subject_history AS (
    SELECT subject, count_if(NOT in_window) AS baseline_events FROM activity GROUP BY subject
),
baseline AS (
    SELECT DISTINCT subject, sourceipaddress FROM activity WHERE NOT in_window
),
novel AS (
    SELECT a.*
    FROM activity a
    JOIN subject_history h ON h.subject = a.subject
    LEFT JOIN baseline b ON b.subject = a.subject AND b.sourceipaddress = a.sourceipaddress
    WHERE a.in_window AND b.subject IS NULL AND h.baseline_events >= {{ min_subject_history }}
),
first_calls AS (
    SELECT subject, sourceipaddress, min(eventtime) AS first_time FROM novel GROUP BY subject, sourceipaddress
),
whoami_first AS (
    SELECT n.*
    FROM novel n
    JOIN first_calls f ON f.subject = n.subject AND f.sourceipaddress = n.sourceipaddress
    WHERE n.eventname = 'GetCallerIdentity' AND n.eventtime = f.first_time
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    min(n.eventtime) AS first_seen,
    max(n.eventtime) AS last_seen,
    n.recipientaccountid AS account_id,
    min(n.awsregion) AS region,
    min(n.principal_arn) AS principal_arn,
    min(n.access_key_id) AS access_key_id,
    n.sourceipaddress AS source_ip,
    min(n.useragent) AS user_agent,
    array_sort(array_agg(DISTINCT n.eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(n.eventid ORDER BY n.eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    n.subject_type,
    n.subject
FROM novel n
JOIN (SELECT DISTINCT subject, sourceipaddress FROM whoami_first) w
  ON w.subject = n.subject AND w.sourceipaddress = n.sourceipaddress
GROUP BY n.recipientaccountid, n.subject_type, n.subject, n.sourceipaddress
ORDER BY first_seen
