WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
failures AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.type = 'Root' AS is_root,
        coalesce(coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby), useridentity.username) AS principal_arn,
        CASE WHEN useridentity.type = 'Root' THEN 'root'
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.principalid)
        END AS user_name
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
      AND (json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure' OR errormessage IS NOT NULL)
)
SELECT
    'console_login_failures' AS detection,
    CASE WHEN bool_or(is_root) THEN 'medium' ELSE 'low' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1110'] AS mitre,
    user_name
FROM failures
GROUP BY recipientaccountid, user_name, sourceipaddress
ORDER BY first_seen
