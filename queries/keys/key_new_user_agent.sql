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
-- remediation:
--   text: >
--     Ask the owner whether they changed tools or hosts; the user agent is set by the client and can
--     be forged, so weigh the new source address more. If the change is not theirs, deactivate the key
--     and review the calls made with the new agent.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
seen AS (
    SELECT *, useragent AS seen_value FROM events
),
{{ key_first_seen }},
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
