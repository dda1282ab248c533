WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/08' AND '2026/10/29' AND eventtime >= '2026-10-08T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
-- One /48 must have one name whatever the address's spelling (RFC 4291 2.2): lower-case, a trailing
-- dotted IPv4 counted as the two hextets it stands for, and a 0 beside a '::' at either end so that
-- every ':' then separates two hextets.
ipv6_source AS (
    SELECT
        *,
        CASE WHEN strpos(sourceipaddress, ':') > 0
            THEN regexp_replace(regexp_replace(regexp_replace(lower(sourceipaddress),
                     '\d{1,3}(\.\d{1,3}){3}$', '0:0'), '^::', '0::'), '::$', '::0')
        END AS ipv6_text
    FROM events
),
-- The '::' written out as the zero hextets it replaces: eight hextets less those present.
ipv6_expanded AS (
    SELECT
        *,
        CASE WHEN strpos(ipv6_text, '::') > 0
            THEN replace(ipv6_text, '::', ':' || substr('0:0:0:0:0:0:0:0:', 1,
                     2 * greatest(0, 8 - (length(ipv6_text) - length(replace(ipv6_text, ':', ''))))))
            ELSE ipv6_text
        END AS ipv6_hextets
    FROM ipv6_source
),
seen AS (
    SELECT
        *,
        CASE
            WHEN regexp_like(sourceipaddress, '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$')
                THEN regexp_extract(sourceipaddress, '^([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})\.', 1) || '.0/24'
            -- The /48 is named by its first three hextets without leading zeros: 2001:db8:0::/48.
            WHEN regexp_like(ipv6_hextets, '^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){7}$')
                THEN regexp_replace(regexp_extract(ipv6_hextets, '^([0-9a-f]+:[0-9a-f]+:[0-9a-f]+):', 1),
                                    '(^|:)0+([0-9a-f])', '$1$2') || '::/48'
        END AS seen_value
    FROM ipv6_expanded
),
activity AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN useridentity.accesskeyid
             ELSE coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) END AS subject,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN 'key' ELSE 'principal' END AS subject_type,
        seen_value,
        from_iso8601_timestamp(eventtime) >= TIMESTAMP '2026-10-22 00:00:00' AS in_window
    FROM seen
    WHERE (useridentity.accesskeyid LIKE 'AKIA%' OR useridentity.type IN ('IAMUser', 'Root'))
      AND useridentity.invokedby IS NULL
      AND sourceipaddress IS NOT NULL
      AND sourceipaddress NOT LIKE '%amazonaws.com'
      AND sourceipaddress <> 'AWS Internal'
),
known_subjects AS (
    SELECT subject FROM activity WHERE NOT in_window GROUP BY subject HAVING count(*) >= 5
),
baseline AS (
    SELECT DISTINCT subject, seen_value FROM activity WHERE NOT in_window AND seen_value IS NOT NULL
),
novel AS (
    SELECT a.*
    FROM activity a
    JOIN known_subjects k ON k.subject = a.subject
    LEFT JOIN baseline b ON b.subject = a.subject AND b.seen_value = a.seen_value
    WHERE a.in_window AND a.seen_value IS NOT NULL AND b.subject IS NULL
)
SELECT
    'key_new_source_network' AS detection,
    'medium' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1078.004'] AS mitre,
    subject_type,
    subject,
    seen_value AS network
FROM novel
GROUP BY recipientaccountid, subject_type, subject, seen_value
ORDER BY first_seen
