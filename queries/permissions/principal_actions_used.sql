-- name: principal_actions_used
-- title: Actions each principal really called (successful calls)
-- kind: context
-- description: >
--   The distinct event source and event name of every successful call per principal, with the
--   number of calls, first and last time, and the resource ARNs CloudTrail named for them. Roles
--   are keyed by the role ARN (the session issuer), not by each session, because the policy that
--   granted the call is the role's. Calls that failed (any errorCode) are left out: they prove no
--   permission was used. Read-side of the unused-permissions analysis (compared with what the
--   principal's policies grant after mapping event names to IAM actions).
-- severity: info
-- engines: [local, athena, lake]
-- tags: [permissions]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   max_resources: {type: int, default: 20, min: 1, max: 200, description: At most this many distinct resource ARNs per principal and action}
-- columns:
--   account_id: string
--   principal_arn: string
--   identity_type: string
--   eventsource: string
--   eventname: string
--   calls: int
--   first_seen: string
--   last_seen: string
--   resource_arns: list[string]
-- references:
--   - https://github.com/duo-labs/cloudtracker
--   - https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
calls AS (
    SELECT
        recipientaccountid AS account_id,
        CASE WHEN useridentity.type IN ('AssumedRole', 'FederatedUser')
                  THEN coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn)
             WHEN useridentity.type = 'Root'
                  THEN {{ actor_arn }}
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
           slice(array_sort(array_agg(DISTINCT r.arn)), 1, {{ max_resources }}) AS resource_arns
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
