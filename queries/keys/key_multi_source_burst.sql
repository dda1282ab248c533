-- name: key_multi_source_burst
-- title: One access key used from many IPs or user agents within minutes
-- kind: detection
-- description: >
--   The same access key (long-term or temporary) calls AWS from at least min_source_ips distinct
--   source IPs, or with at least min_user_agents distinct user agents, inside one bucket_minutes
--   bucket (default 30 minutes, as Elastic's "session token used from multiple addresses"; anchors.md
--   3.4). One person's key rarely moves between networks that fast; a leaked key used by its owner
--   and by one or more attackers at once does. Console sessions and calls made by AWS services on
--   the key's behalf are ignored.
-- severity: high
-- mitre: [T1078.004, T1550.001]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- lookback: bucket_minutes
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   bucket_minutes: {type: int, default: 30, min: 1, max: 1440, description: Length of the counting bucket in minutes}
--   min_source_ips: {type: int, default: 3, min: 2, description: Distinct source IPs in one bucket that raise a finding}
--   min_user_agents: {type: int, default: 4, min: 2, description: Distinct user agents in one bucket that raise a finding}
-- references:
--   - https://github.com/elastic/detection-rules (initial_access_iam_session_token_used_from_multiple_addresses)
-- remediation:
--   text: >
--     Ask the key's owner which addresses and tools are theirs. If the sources cannot be explained,
--     deactivate the long-term key or revoke the role's sessions, give the owner a replacement, and
--     review the calls from the unknown sources.
--   docs: https://docs.aws.amazon.com/guardduty/latest/ug/compromised-creds.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
keyed AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / ({{ bucket_minutes }} * 60)) AS bucket
    FROM events
    WHERE coalesce(useridentity.accesskeyid, '') <> ''
      AND useridentity.invokedby IS NULL
      AND coalesce(sessioncredentialfromconsole, 'false') <> 'true'
      AND sourceipaddress IS NOT NULL
      AND sourceipaddress NOT LIKE '%amazonaws.com'
      AND sourceipaddress <> 'AWS Internal'
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    access_key_id,
    array_join(array_sort(array_agg(DISTINCT sourceipaddress)), ', ') AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count(DISTINCT sourceipaddress) AS distinct_source_ips,
    count(DISTINCT useragent) AS distinct_user_agents,
    array_sort(array_agg(DISTINCT useragent)) AS user_agents
FROM keyed
GROUP BY recipientaccountid, access_key_id, bucket
HAVING count(DISTINCT sourceipaddress) >= {{ min_source_ips }}
    OR count(DISTINCT useragent) >= {{ min_user_agents }}
ORDER BY first_seen
