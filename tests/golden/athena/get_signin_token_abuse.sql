WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
)
SELECT
    'get_signin_token_abuse' AS detection,
    'medium' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    useridentity.arn AS principal_arn,
    min(useridentity.accesskeyid) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1550.001'] AS mitre
FROM events
WHERE eventsource = 'signin.amazonaws.com'
  AND eventname = 'GetSigninToken'
  AND strpos(coalesce(useragent, ''), 'Jersey/${project.version}') = 0
GROUP BY recipientaccountid, useridentity.arn, sourceipaddress
ORDER BY first_seen
