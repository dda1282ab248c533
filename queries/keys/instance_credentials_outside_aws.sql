-- name: instance_credentials_outside_aws
-- title: EC2 instance-profile credentials used off the instance
-- kind: detection
-- description: >
--   Credentials of an EC2 instance profile (role sessions named after the instance, i-..., or marked
--   with ec2RoleDelivery) taken from the metadata service and used elsewhere. Three signs, each listed
--   in reasons: the user agent is a workstation's (macOS Darwin or AWS CLI v2's os/macos, a browser, an
--   attack distribution; pattern desktop_user_agents) - instances run Linux or Windows Server, not a laptop; the session
--   called AWS from a source IP that IAM users or root also used in the window (the credentials sit on
--   a person's machine); or the same session key called from two or more public source IPs (an
--   instance has one). Calls through AWS services and from private (VPC endpoint) addresses are
--   ignored. Panther aws_imds_credential_exfiltration, Sigma aws_cloudtrail_imds_malicious_usage
--   (anchors.md 3.17); the OTRF Mordor ec2_proxy_s3_exfiltration key ASIA5FLZVX4OPVKKVBMX is caught by
--   its Darwin aws-cli user agent. reasons names the signs, in this order, joined by '; ':
--   workstation user agent, source IP also used by IAM users or root, several public source IPs.
-- severity: high
-- mitre: [T1552.005, T1078.004]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- lookback: 24h
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   desktop_user_agents: {type: string, default: 'darwin/|macintosh|mac os x|os/macos|mozilla/|kali|parrot', description: Regular expression over the lower-cased user agent that marks a workstation}
--   min_public_ips: {type: int, default: 2, min: 2, description: Distinct public source IPs for one session key that count as two sources}
-- references:
--   - https://github.com/panther-labs/panther-analysis (aws_imds_credential_exfiltration)
--   - https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html
-- remediation:
--   text: >
--     Revoke the instance role's active sessions and find how the credentials left the instance (SSRF,
--     a compromised process, IMDSv1); require IMDSv2 on it. Check with the instance owner before
--     stopping it, and snapshot its volumes first for forensics.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
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
           regexp_like(lower(coalesce(c.useragent, '')), {{ desktop_user_agents }}) AS desktop_agent,
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
    WHERE s.desktop_agent OR s.person_ip OR s.public_ips >= {{ min_public_ips }}
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    array_join(ARRAY[
        CASE WHEN bool_or(session_desktop_agent) THEN 'workstation user agent' END,
        CASE WHEN bool_or(session_person_ip) THEN 'source IP also used by IAM users or root' END,
        CASE WHEN max(public_ips) >= {{ min_public_ips }} THEN 'several public source IPs' END
    ], '; ') AS reasons
FROM flagged
GROUP BY recipientaccountid, principal_arn, access_key_id
ORDER BY first_seen
