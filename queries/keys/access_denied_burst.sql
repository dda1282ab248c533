-- name: access_denied_burst
-- title: Spike of AccessDenied / UnauthorizedOperation across many different API calls
-- kind: detection
-- description: >
--   Within one bucket_minutes bucket a principal is denied (AccessDenied*, UnauthorizedOperation,
--   Client.UnauthorizedOperation, Forbidden) on at least min_denied_actions distinct event names.
--   A misconfigured job fails the same call over and over; someone probing what a stolen key may do
--   fails many different calls. Panther's anomalous_access_denied query uses more than 10 distinct
--   event names a day and AWS.IAM.User.ReconAccessDenied 15 in 10 minutes (anchors.md 3.13); the
--   default here is 5 distinct names in 60 minutes. A bucket with at least three times
--   min_denied_actions distinct denied names is high.
-- severity: medium
-- mitre: [T1580, T1087.004, T1069.003]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- lookback: bucket_minutes
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   bucket_minutes: {type: int, default: 60, min: 1, max: 1440, description: Length of the counting bucket in minutes}
--   min_denied_actions: {type: int, default: 5, min: 1, description: Distinct denied event names in one bucket}
-- references:
--   - https://github.com/panther-labs/panther-analysis (queries/aws_queries/anomalous_access_denied_query.yml, aws_iam_user_recon_denied)
-- remediation:
--   text: >
--     Identify the key or session and ask its owner what it was running. If the owner cannot explain
--     the denied calls, deactivate the access key or revoke the role's sessions, then review the calls
--     that were allowed in the same period: those are what the caller got.
--   docs: https://docs.aws.amazon.com/guardduty/latest/ug/compromised-creds.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
denied AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / ({{ bucket_minutes }} * 60)) AS bucket
    FROM events
    WHERE (errorcode LIKE '%AccessDenied%' OR errorcode LIKE '%UnauthorizedOperation%' OR errorcode = 'Forbidden')
      AND useridentity.invokedby IS NULL
      AND coalesce(useridentity.type, '') NOT IN ('AWSService', 'AWSAccount')
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count(DISTINCT eventname) >= 3 * {{ min_denied_actions }} THEN 'high' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count(DISTINCT eventname) AS distinct_denied_actions,
    count(DISTINCT eventsource) AS distinct_services
FROM denied
GROUP BY recipientaccountid, principal_arn, bucket
HAVING count(DISTINCT eventname) >= {{ min_denied_actions }}
ORDER BY first_seen
