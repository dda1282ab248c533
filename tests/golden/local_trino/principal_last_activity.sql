WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
activity AS (
    SELECT
        recipientaccountid AS account_id,
        CASE WHEN useridentity.type IN ('AssumedRole', 'FederatedUser')
                  THEN coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn)
             WHEN useridentity.type = 'Root'
                  THEN coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby)
             ELSE useridentity.arn
        END AS principal_arn,
        useridentity.type AS identity_type,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN useridentity.accesskeyid END AS access_key_id,
        errorcode, eventtime, sourceipaddress
    FROM events
    WHERE coalesce(eventtype, '') <> 'AwsServiceEvent'
      AND useridentity.type IN ('IAMUser', 'AssumedRole', 'FederatedUser', 'Root')
)
SELECT account_id, principal_arn, identity_type, access_key_id,
       count(*) AS calls,
       count(errorcode) AS failed_calls,
       min(eventtime) AS first_seen,
       max(eventtime) AS last_seen,
       count(DISTINCT sourceipaddress) AS source_ips
FROM activity
WHERE principal_arn IS NOT NULL
GROUP BY account_id, principal_arn, identity_type, access_key_id
ORDER BY account_id, principal_arn, access_key_id
