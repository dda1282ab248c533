-- name: session_key_from_two_networks
-- title: One temporary session key used from two unrelated networks
-- kind: detection
-- description: >
--   One temporary session key (ASIA...) calls AWS from at least min_networks unrelated networks in the
--   window. A session lives in one runtime - an instance, a task, a function, one person's shell - so a
--   second network is rare and strong, and a handful of events decide it with no baseline history.
--   A network is the IPv4 /16 of a public source address. Not counted: private addresses (VPC
--   endpoints, inside the session's own VPC, normally paired with the runtime's NAT address), AWS
--   service names and calls an AWS service made on the key's behalf (invokedBy), console sessions,
--   and IPv6 sources (a dual-stack client shows an IPv4 and an IPv6 address that cannot be compared;
--   they are still listed as evidence). Calls carrying a runtime's exec-env/AWS_... marker (Lambda,
--   ECS) count as one network together, because a Lambda function's calls leave from an AWS address
--   pool that spans several /16s; not when the user agent is a workstation's (a thief who exported the
--   runtime's environment). A person's session that moves between home, office and a VPN within
--   its lifetime also fires; such sessions (AWS IAM Identity Center roles, federated users, IAM users'
--   GetSessionToken keys) are reported at medium, workload and other role sessions at high.
--   event_ids lead with the calls outside the session's first network (or outside its runtime's
--   networks), then the rest.
-- severity: high
-- mitre: [T1550.001, T1078.004]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   min_networks: {type: int, default: 2, min: 2, description: Unrelated networks (IPv4 /16s; a runtime's marked calls count once) one session key must use}
-- columns:
--   networks: list[string]
--   network_count: int
--   home_networks: list[string]
--   outside_event_ids: list[string]
-- references:
--   - https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp.html
--   - https://github.com/elastic/detection-rules (initial_access_iam_session_token_used_from_multiple_addresses)
-- remediation:
--   text: >
--     For a person's session, first ask them whether they moved networks (VPN, travel). Otherwise
--     revoke the role's sessions issued before now, which invalidates the stolen key, and find where
--     the credentials were taken from (the instance, task, function or workstation).
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
calls AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        {{ actor_arn }} AS principal_arn,
        useridentity.type AS identity_type,
        useridentity.accesskeyid AS access_key_id,
        regexp_extract(sourceipaddress, '^(\d{1,3}\.\d{1,3})\.\d{1,3}\.\d{1,3}$', 1) AS network,
        (regexp_like(coalesce(useragent, ''), 'exec-env/AWS_')
         AND NOT regexp_like(lower(useragent), 'darwin|macintosh|mac os x|os/macos|windows nt|mozilla/')) AS runtime_agent
    FROM events
    WHERE useridentity.accesskeyid LIKE 'ASIA%'
      AND useridentity.invokedby IS NULL
      AND coalesce(sessioncredentialfromconsole, 'false') <> 'true'
      AND (regexp_like(coalesce(sourceipaddress, ''), '^\d{1,3}(\.\d{1,3}){3}$') OR strpos(coalesce(sourceipaddress, ''), ':') > 0)
      AND NOT coalesce(contains('10.0.0.0/8', TRY_CAST(sourceipaddress AS IPADDRESS))
                       OR contains('172.16.0.0/12', TRY_CAST(sourceipaddress AS IPADDRESS))
                       OR contains('192.168.0.0/16', TRY_CAST(sourceipaddress AS IPADDRESS)), false)
      AND NOT regexp_like(lower(coalesce(sourceipaddress, '')), '^f[cd][0-9a-f]{2}:')
),
per_key AS (
    SELECT
        recipientaccountid, access_key_id,
        array_agg(DISTINCT network) FILTER (WHERE runtime_agent AND network IS NOT NULL) AS agent_networks,
        min_by(network, eventtime) FILTER (WHERE network IS NOT NULL) AS first_network
    FROM calls
    GROUP BY recipientaccountid, access_key_id
),
homed AS (
    -- The session's home: its runtime's marked networks, or else the network of its first call.
    SELECT c.*,
           CASE WHEN cardinality(coalesce(k.agent_networks, ARRAY[])) > 0 THEN k.agent_networks
                ELSE ARRAY[k.first_network] END AS home_networks
    FROM calls c
    JOIN per_key k ON k.recipientaccountid = c.recipientaccountid AND k.access_key_id = c.access_key_id
    WHERE k.first_network IS NOT NULL
),
judged AS (
    SELECT *,
           (network IS NOT NULL AND NOT runtime_agent AND NOT contains(home_networks, network)) AS away
    FROM homed
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN regexp_like(min(principal_arn), ':assumed-role/AWSReservedSSO_')
              OR bool_or(identity_type IN ('FederatedUser', 'IAMUser')) THEN 'medium'
         ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    access_key_id,
    array_join(array_sort(array_agg(DISTINCT sourceipaddress)), ', ') AS source_ip,
    min(useragent) FILTER (WHERE away) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY away DESC, eventtime, eventid), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    array_sort(array_agg(DISTINCT network) FILTER (WHERE network IS NOT NULL)) AS networks,
    1 + count(DISTINCT network) FILTER (WHERE away) AS network_count,
    array_sort(min(home_networks)) AS home_networks,
    array_agg(eventid ORDER BY eventtime, eventid) FILTER (WHERE away) AS outside_event_ids
FROM judged
GROUP BY recipientaccountid, access_key_id
HAVING 1 + count(DISTINCT network) FILTER (WHERE away) >= {{ min_networks }}
ORDER BY first_seen
