WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
seen AS (
    SELECT array_agg(DISTINCT recipientaccountid) AS accounts FROM events
),
candidates AS (
    SELECT *, coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn
    FROM events
    WHERE errorcode IS NULL AND eventsource = 'iam.amazonaws.com' AND eventname IN ('CreateRole', 'UpdateAssumeRolePolicy')
)
SELECT
    'iam_role_trust_backdoor' AS detection,
    'high' AS severity,
    c.eventtime AS first_seen,
    c.eventtime AS last_seen,
    c.recipientaccountid AS account_id,
    c.awsregion AS region,
    c.principal_arn,
    c.useridentity.accesskeyid AS access_key_id,
    c.sourceipaddress AS source_ip,
    c.useragent AS user_agent,
    ARRAY[c.eventname] AS event_names,
    1 AS event_count,
    ARRAY[c.eventid] AS event_ids,
    ARRAY['T1098.003', 'T1098'] AS mitre,
    c.eventsource AS event_source,
    c.requestparameters AS request_parameters,
    array_distinct(concat(coalesce(s.accounts, CAST(ARRAY[] AS ARRAY(VARCHAR))), CAST(ARRAY[] AS ARRAY(VARCHAR)))) AS trusted_accounts,
    CAST(ARRAY[] AS ARRAY(VARCHAR)) AS trusted_org_ids
FROM candidates c
CROSS JOIN seen s
ORDER BY first_seen, c.eventid
