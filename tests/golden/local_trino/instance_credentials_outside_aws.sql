WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
calls AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.type AS identity_type,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        (useridentity.type = 'AssumedRole'
         AND (regexp_like(coalesce(useridentity.arn, ''), '/i-[0-9a-zA-Z]{8,17}$')
              OR useridentity.sessioncontext.ec2roledelivery IS NOT NULL)) AS instance_session,
        coalesce(contains('10.0.0.0/8', TRY_CAST(sourceipaddress AS IPADDRESS))
                 OR contains('172.16.0.0/12', TRY_CAST(sourceipaddress AS IPADDRESS))
                 OR contains('192.168.0.0/16', TRY_CAST(sourceipaddress AS IPADDRESS)), false) AS private_ip
    FROM events
    WHERE useridentity.invokedby IS NULL
      AND sourceipaddress IS NOT NULL
      AND sourceipaddress NOT LIKE '%amazonaws.com'
      AND sourceipaddress <> 'AWS Internal'
),
person_ips AS (
    SELECT DISTINCT sourceipaddress FROM calls WHERE identity_type IN ('IAMUser', 'Root')
),
instance_calls AS (
    SELECT c.*,
           regexp_like(lower(coalesce(c.useragent, '')), 'darwin/|macintosh|mac os x|os/macos|mozilla/|kali|parrot') AS desktop_agent,
           p.sourceipaddress IS NOT NULL AS person_ip
    FROM calls c
    LEFT JOIN person_ips p ON p.sourceipaddress = c.sourceipaddress
    WHERE c.instance_session AND eventsource NOT IN ('ssm.amazonaws.com', 'ec2messages.amazonaws.com', 'ssmmessages.amazonaws.com')
),
per_session AS (
    SELECT
        access_key_id,
        bool_or(desktop_agent) AS desktop_agent,
        bool_or(person_ip) AS person_ip,
        count(DISTINCT sourceipaddress) FILTER (WHERE NOT private_ip) AS public_ips
    FROM instance_calls
    GROUP BY access_key_id
),
flagged AS (
    SELECT i.*, s.public_ips,
           s.desktop_agent AS session_desktop_agent, s.person_ip AS session_person_ip
    FROM instance_calls i
    JOIN per_session s ON s.access_key_id = i.access_key_id
    WHERE s.desktop_agent OR s.person_ip OR s.public_ips >= 2
)
SELECT
    'instance_credentials_outside_aws' AS detection,
    'high' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    access_key_id,
    array_join(array_sort(array_agg(DISTINCT sourceipaddress)), ', ') AS source_ip,
    min(useragent) FILTER (WHERE desktop_agent OR person_ip) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1552.005', 'T1078.004'] AS mitre,
    array_join(ARRAY[
        CASE WHEN bool_or(session_desktop_agent) THEN 'workstation user agent' END,
        CASE WHEN bool_or(session_person_ip) THEN 'source IP also used by IAM users or root' END,
        CASE WHEN max(public_ips) >= 2 THEN 'several public source IPs' END
    ], '; ') AS reasons
FROM flagged
GROUP BY recipientaccountid, principal_arn, access_key_id
ORDER BY first_seen
