-- name: principal_last_activity
-- title: Last CloudTrail activity per principal and long-term access key
-- kind: context
-- description: >
--   When each principal (user, role by its role ARN, root) was first and last seen in the window,
--   per long-term access key (AKIA) where one was used, with the number of calls and how many
--   failed. Any authenticated call counts as activity, denied ones included, as in Access
--   Advisor. Principals and keys absent here had no activity in the window; the unused-permissions
--   and hygiene analyses compare this with the IAM snapshot to name inactive principals and keys.
-- severity: info
-- engines: [local, athena, lake]
-- tags: [permissions]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- columns:
--   account_id: string
--   principal_arn: string
--   identity_type: string
--   access_key_id: string
--   calls: int
--   failed_calls: int
--   first_seen: string
--   last_seen: string
--   source_ips: int
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#remove-credentials
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
activity AS (
    SELECT
        recipientaccountid AS account_id,
        CASE WHEN useridentity.type IN ('AssumedRole', 'FederatedUser')
                  THEN coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn)
             WHEN useridentity.type = 'Root'
                  THEN {{ actor_arn }}
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
