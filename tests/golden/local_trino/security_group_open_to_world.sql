WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
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
    WHERE from_port IS NULL OR to_port IS NULL OR from_port <> to_port OR NOT contains(ARRAY[80, 443], from_port)
)
SELECT
    'security_group_open_to_world' AS detection,
    CASE WHEN bool_or(from_port IS NULL OR from_port = -1 OR (22 BETWEEN from_port AND to_port) OR (3389 BETWEEN from_port AND to_port)) THEN 'high' ELSE 'medium' END AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1562.007'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    array_sort(array_agg(DISTINCT group_id)) AS security_groups,
    array_sort(array_agg(DISTINCT CAST(from_port AS VARCHAR) || '-' || CAST(to_port AS VARCHAR))) AS port_ranges
FROM open_rules
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
