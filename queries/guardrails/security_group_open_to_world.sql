-- name: security_group_open_to_world
-- title: Security group opened to the whole internet
-- kind: detection
-- description: >
--   AuthorizeSecurityGroupIngress with a /0 source (0.0.0.0/0 or ::/0; any address with a /0 mask is
--   the whole internet). Ports in allowed_ports (default 80 and 443, web servers) are left out;
--   remote administration ports (22, 3389) and all-port rules are high; other ports medium. Stratus
--   ec2-security-group-open-port-22-ingress.
-- severity: medium
-- mitre: [T1562.007]
-- engines: [local, athena, lake]
-- tags: [guardrails, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   allowed_ports: {type: 'list[int]', default: [80, 443], description: Ports that may be open to the internet (single-port rules only)}
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.exfiltration.ec2-security-group-open-port-22-ingress/
-- remediation:
--   text: >
--     Unless the owner confirms the port must face the internet, revoke the /0 ingress rule or narrow
--     it to known address ranges, and check the attached instances for sign-ins or exploitation while
--     it was open (VPC flow logs, the instances' own logs). Use Session Manager instead of opening SSH
--     or RDP to the internet.
--   docs: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RevokeSecurityGroupIngress.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        requestparameters AS request_text,
        coalesce(TRY_CAST(json_extract_scalar(requestparameters, '$.fromPort') AS INTEGER), TRY_CAST(regexp_extract(requestparameters, '"fromPort"\s*:\s*(-?[0-9]+)', 1) AS INTEGER)) AS from_port,
        coalesce(TRY_CAST(json_extract_scalar(requestparameters, '$.toPort') AS INTEGER), TRY_CAST(regexp_extract(requestparameters, '"toPort"\s*:\s*(-?[0-9]+)', 1) AS INTEGER)) AS to_port,
        json_extract_scalar(requestparameters, '$.groupId') AS group_id
    FROM events
    WHERE eventsource = 'ec2.amazonaws.com'
      AND eventname = 'AuthorizeSecurityGroupIngress'
      AND regexp_like(requestparameters, '"cidrIp(v6)?"\s*:\s*"[0-9a-fA-F.:]*/0"')
),
open_rules AS (
    SELECT * FROM hits
    WHERE from_port IS NULL OR to_port IS NULL OR from_port <> to_port OR NOT contains({{ allowed_ports }}, from_port)
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(from_port IS NULL OR from_port = -1 OR (22 BETWEEN from_port AND to_port) OR (3389 BETWEEN from_port AND to_port)) THEN 'high' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    awsregion AS region,
    principal_arn AS principal_arn,
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT group_id)) AS security_groups,
    array_sort(array_agg(DISTINCT CAST(from_port AS VARCHAR) || '-' || CAST(to_port AS VARCHAR))) AS port_ranges
FROM open_rules
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
