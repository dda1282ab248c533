WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T23:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        CASE WHEN eventname = 'GetParameters' THEN coalesce(json_array_length(json_extract(requestparameters, '$.names')), 0) WHEN eventname = 'GetParametersByPath' AND lower(coalesce(json_extract_scalar(requestparameters, '$.recursive'), 'false')) = 'true' THEN 10 ELSE 1 END AS parameters,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / (60 * 60)) AS bucket
    FROM events
    WHERE eventsource = 'ssm.amazonaws.com'
      AND eventname IN ('GetParameter', 'GetParameters', 'GetParametersByPath')
      AND lower(coalesce(json_extract_scalar(requestparameters, '$.withDecryption'), 'false')) = 'true'
)
SELECT
    'ssm_parameters_decrypted' AS detection,
    'high' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn AS principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1552', 'T1555'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    sum(parameters) AS parameters_decrypted
FROM hits
GROUP BY recipientaccountid, principal_arn, bucket
HAVING sum(parameters) >= 10
ORDER BY first_seen
