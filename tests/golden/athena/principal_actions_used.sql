WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
calls AS (
    SELECT
        recipientaccountid AS account_id,
        CASE WHEN useridentity.type IN ('AssumedRole', 'FederatedUser')
                  THEN coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn)
             WHEN useridentity.type = 'Root'
                  THEN coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby)
             ELSE useridentity.arn
        END AS principal_arn,
        useridentity.type AS identity_type,
        eventsource, eventname, eventtime, resources
    FROM events
    WHERE errorcode IS NULL
      AND coalesce(eventtype, '') <> 'AwsServiceEvent'
      AND useridentity.type IN ('IAMUser', 'AssumedRole', 'FederatedUser', 'Root')
),
per_action AS (
    SELECT account_id, principal_arn, identity_type, eventsource, eventname,
           count(*) AS calls, min(eventtime) AS first_seen, max(eventtime) AS last_seen
    FROM calls
    WHERE principal_arn IS NOT NULL
    GROUP BY account_id, principal_arn, identity_type, eventsource, eventname
),
named AS (
    SELECT c.account_id, c.principal_arn, c.eventsource, c.eventname,
           slice(array_sort(array_agg(DISTINCT r.arn)), 1, 20) AS resource_arns
    FROM calls c
    CROSS JOIN UNNEST(c.resources) AS r(arn, accountid, type)
    WHERE c.principal_arn IS NOT NULL AND r.arn IS NOT NULL
    GROUP BY c.account_id, c.principal_arn, c.eventsource, c.eventname
)
SELECT p.account_id, p.principal_arn, p.identity_type, p.eventsource, p.eventname, p.calls,
       p.first_seen, p.last_seen, coalesce(n.resource_arns, ARRAY[]) AS resource_arns
FROM per_action p
LEFT JOIN named n
  ON n.account_id = p.account_id AND n.principal_arn = p.principal_arn
 AND n.eventsource = p.eventsource AND n.eventname = p.eventname
ORDER BY p.account_id, p.principal_arn, p.eventsource, p.eventname
