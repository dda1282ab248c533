-- name: key_sources
-- title: Source IPs and user agents of given access keys or principals, with first and last seen
-- kind: context
-- description: >
--   Incident scoping: for the access keys in access_key_ids and the principals in principal_arns,
--   every (source IP, user agent) pair with its first and last time, number of calls, failed calls,
--   regions and services. The basis for telling the owner's sources from an attacker's (AWS
--   incident-response playbook credential-compromise query #2; anchors.md 3.2).
-- severity: info
-- engines: [local, athena, lake]
-- tags: [incident]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   access_key_ids: {type: 'list[access_key_id]', default: [], description: Access key ids to follow (AKIA or ASIA)}
--   principal_arns: {type: 'list[arn]', default: [], description: 'Principal ARNs to follow (users, roles, sessions)'}
-- columns:
--   source_ip: string
--   user_agent: string
--   first_seen: string
--   last_seen: string
--   calls: int
--   failed_calls: int
--   regions: string
--   services: string
--   access_keys: string
-- references:
--   - https://github.com/aws-samples/aws-incident-response-playbooks (athena-queries-credential-compromise.sql)
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
followed AS (
    SELECT * FROM events
    WHERE contains({{ access_key_ids }}, useridentity.accesskeyid)
       OR contains({{ principal_arns }}, useridentity.arn)
       OR contains({{ principal_arns }}, useridentity.sessioncontext.sessionissuer.arn)
)
SELECT
    sourceipaddress AS source_ip,
    useragent AS user_agent,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    count(*) AS calls,
    count_if(errorcode IS NOT NULL) AS failed_calls,
    array_join(array_sort(array_agg(DISTINCT awsregion)), ', ') AS regions,
    array_join(array_sort(array_agg(DISTINCT replace(eventsource, '.amazonaws.com', ''))), ', ') AS services,
    array_join(array_sort(array_agg(DISTINCT useridentity.accesskeyid) FILTER (WHERE useridentity.accesskeyid IS NOT NULL)), ', ') AS access_keys
FROM followed
GROUP BY sourceipaddress, useragent
ORDER BY first_seen
