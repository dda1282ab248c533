WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/28' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn,
                 CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END,
                 useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        coalesce(json_extract_scalar(requestparameters, '$.policyDocument'), json_extract_scalar(requestparameters, '$.assumeRolePolicyDocument'), '') AS trust_policy,
        json_extract_scalar(requestparameters, '$.roleName') AS role_name
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname IN ('CreateRole', 'UpdateAssumeRolePolicy')
),
accounts AS (
    SELECT h.*, account
    FROM hits h
    CROSS JOIN UNNEST(regexp_extract_all(h.trust_policy, '(arn:aws[a-z-]*:iam::|"AWS"\s*:\s*\[?\s*")([0-9]{12})', 2)) AS t(account)
),
foreign_trust AS (
    SELECT eventid, array_agg(DISTINCT account) AS external_accounts
    FROM accounts
    WHERE account <> recipientaccountid AND NOT contains(CAST(ARRAY[] AS ARRAY(VARCHAR)), account)
    GROUP BY eventid
),
flagged AS (
    SELECT h.*, f.external_accounts,
           regexp_like(h.trust_policy, '"AWS"\s*:\s*(\[[^\]]*)?"\*"|"Principal"\s*:\s*"\*"') AS public
    FROM hits h
    LEFT JOIN foreign_trust f ON f.eventid = h.eventid
)
SELECT
    'iam_role_trust_backdoor' AS detection,
    CASE WHEN bool_or(public) THEN 'critical' ELSE 'high' END AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, 25) AS event_ids,
    ARRAY['T1098.003', 'T1098'] AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    role_name,
    bool_or(public) AS public,
    array_sort(array_distinct(flatten(array_agg(coalesce(external_accounts, CAST(ARRAY[] AS ARRAY(VARCHAR))))))) AS external_accounts
FROM flagged
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress, role_name
HAVING bool_or(public) OR count_if(external_accounts IS NOT NULL) > 0
ORDER BY first_seen
