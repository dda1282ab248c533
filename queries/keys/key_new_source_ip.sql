-- name: key_new_source_ip
-- title: Access key or principal used from a source IP never seen in its baseline
-- kind: detection
-- description: >
--   First-seen against a trailing baseline: a long-term access key (AKIA...) or an IAM user / root
--   principal calls AWS from a source IP it never used between baseline_start and start. The
--   subject is the long-term key when the call was signed with one, otherwise the principal ARN
--   (console and STS sessions of IAM users and root). Only subjects with at least
--   min_baseline_events in the baseline are judged, so brand-new keys do not flood the hunt (they
--   are covered by access_key_created_then_used). Calls made by AWS services on the principal's
--   behalf are ignored. A leaked key shows up here on its first use by the attacker
--   (Elastic "long-term access key first seen from source IP", 10-day history; anchors.md 3.3).
-- severity: medium
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
--   - https://github.com/elastic/detection-rules (credential_access_iam_long_term_access_key_first_seen_from_source_ip)
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
-- remediation:
--   text: >
--     Ask the owner of the key or user whether the new address is theirs (a new office, VPN exit or CI
--     runner). If not, deactivate the access key or reset the user's password, and review every call
--     made from that address.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
seen AS (
    SELECT *, sourceipaddress AS seen_value FROM events
),
{{ key_first_seen }}
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    subject_type,
    subject
FROM novel
GROUP BY recipientaccountid, subject_type, subject, sourceipaddress
ORDER BY first_seen
