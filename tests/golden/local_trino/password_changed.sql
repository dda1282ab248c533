WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
changes AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.type = 'Root' AS is_root,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id
    FROM events
    WHERE errorcode IS NULL
      AND (
        (eventsource = 'iam.amazonaws.com' AND eventname = 'ChangePassword')
        OR (eventsource = 'signin.amazonaws.com' AND eventname = 'PasswordUpdated'
            AND coalesce(json_extract_scalar(responseelements, '$.PasswordUpdated'), 'Success') = 'Success')
      )
)
SELECT
    'password_changed' AS detection,
    CASE WHEN bool_or(is_root) THEN 'high' ELSE 'info' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1098'] AS mitre
FROM changes
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen
