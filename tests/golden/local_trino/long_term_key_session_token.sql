WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/20' AND '2026/10/29' AND eventtime >= '2026-10-20T12:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        json_extract_scalar(responseelements, '$.credentials.accessKeyId') AS minted_key,
        regexp_like(coalesce(json_extract_scalar(requestparameters, '$.policy'), ''), '"Action"\s*:\s*(\[\s*)?"\*"') AS grants_all
    FROM events
    WHERE eventsource = 'sts.amazonaws.com'
      AND eventname IN ('GetSessionToken', 'GetFederationToken')
      AND useridentity.accesskeyid LIKE 'AKIA%'
      AND (eventname = 'GetFederationToken' OR FALSE
           OR json_extract_scalar(requestparameters, '$.serialNumber') IS NULL)
),
cited AS (
    SELECT recipientaccountid, awsregion, principal_arn, sourceipaddress, eventid, eventtime, eventname, TRUE AS mint
    FROM hits
    UNION ALL
    SELECT h.recipientaccountid, h.awsregion, h.principal_arn, h.sourceipaddress, e.eventid, e.eventtime, e.eventname,
           FALSE AS mint
    FROM hits h
    JOIN events e ON e.useridentity.accesskeyid = h.minted_key
),
used AS (
    SELECT recipientaccountid, awsregion, principal_arn, sourceipaddress,
           min(eventtime) AS first_seen, max(eventtime) AS last_seen,
           array_sort(array_agg(DISTINCT eventname)) AS event_names,
           count(*) AS event_count,
           slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids
    FROM (SELECT DISTINCT * FROM cited) AS c
    GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
),
mints AS (
    SELECT
        recipientaccountid, awsregion, principal_arn, sourceipaddress,
        bool_or(grants_all) AS grants_all,
        min(access_key_id) AS access_key_id,
        min(useragent) AS user_agent,
        count_if(errorcode IS NULL) AS succeeded,
        array_sort(array_agg(DISTINCT minted_key) FILTER (WHERE minted_key IS NOT NULL)) AS minted_keys
    FROM hits
    GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
)
SELECT
    'long_term_key_session_token' AS detection,
    CASE WHEN m.grants_all THEN 'high' ELSE 'medium' END AS severity,
    u.first_seen,
    u.last_seen,
    m.recipientaccountid AS account_id,
    m.awsregion AS region,
    m.principal_arn AS principal_arn,
    m.access_key_id,
    m.sourceipaddress AS source_ip,
    m.user_agent,
    u.event_names,
    u.event_count,
    u.event_ids,
    ARRAY['T1550.001', 'T1078.004'] AS mitre,
    m.succeeded,
    m.minted_keys
FROM mints m
JOIN used u ON u.recipientaccountid IS NOT DISTINCT FROM m.recipientaccountid
    AND u.awsregion IS NOT DISTINCT FROM m.awsregion AND u.principal_arn IS NOT DISTINCT FROM m.principal_arn
    AND u.sourceipaddress IS NOT DISTINCT FROM m.sourceipaddress
ORDER BY first_seen
