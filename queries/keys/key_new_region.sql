-- name: key_new_region
-- title: Access key or principal active in a region never seen in its baseline
-- kind: detection
-- description: >
--   First-seen against a trailing baseline: a long-term key or IAM user / root principal makes calls
--   in an AWS region it never touched in the baseline (one finding per subject, listing every new
--   region). Attackers favour regions nobody watches, for recon and for mining. Global services that
--   CloudTrail logs in us-east-1 count as us-east-1. The subject is the long-term key (AKIA...) when
--   the call was signed with one, otherwise the IAM user or root principal ARN. Only subjects with
--   at least min_baseline_events events between baseline_start and start are judged, so brand-new
--   keys do not flood the hunt. Calls made by AWS services on the principal's behalf are ignored.
-- severity: medium
-- mitre: [T1535]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- parameters:
--   baseline_start: {type: timestamp, default: start - 14d, description: Start of the trailing baseline (UTC); the baseline ends at start}
--   start: {type: timestamp, description: Detection window start in UTC (inclusive)}
--   end: {type: timestamp, description: Detection window end in UTC (exclusive)}
--   min_baseline_events: {type: int, default: 5, min: 1, description: Events a subject needs in the baseline to be judged}
-- window: [baseline_start, end]
-- references:
--   - https://github.com/panther-labs/panther-analysis (aws_unused_region)
-- remediation:
--   text: >
--     Ask the owner whether work in the new Region was planned. If not, deactivate the key, inventory
--     and remove what was created there (instances, users, keys), and consider an SCP that denies the
--     Regions your organization does not use.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
seen AS (
    SELECT *, awsregion AS seen_value FROM events
),
{{ key_first_seen }}
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min_by(seen_value, eventtime) AS region,
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
    array_sort(array_agg(DISTINCT seen_value)) AS new_regions
FROM novel
GROUP BY recipientaccountid, subject_type, subject
ORDER BY first_seen
