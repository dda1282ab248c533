WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
calls AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
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
    'session_key_from_two_networks' AS detection,
    CASE WHEN regexp_like(min(principal_arn), ':assumed-role/AWSReservedSSO_')
              OR bool_or(identity_type IN ('FederatedUser', 'IAMUser')) THEN 'medium'
         ELSE 'high' END AS severity,
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
    slice(array_agg(eventid ORDER BY away DESC, eventtime, eventid), 1, 1000) AS event_ids,
    ARRAY['T1550.001', 'T1078.004'] AS mitre,
    array_sort(array_agg(DISTINCT network) FILTER (WHERE network IS NOT NULL)) AS networks,
    1 + count(DISTINCT network) FILTER (WHERE away) AS network_count,
    array_sort(min(home_networks)) AS home_networks,
    array_agg(eventid ORDER BY eventtime, eventid) FILTER (WHERE away) AS outside_event_ids
FROM judged
GROUP BY recipientaccountid, access_key_id
HAVING 1 + count(DISTINCT network) FILTER (WHERE away) >= 2
ORDER BY first_seen
