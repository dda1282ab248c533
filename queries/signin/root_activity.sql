-- name: root_activity
-- title: Root user activity
-- kind: detection
-- description: >
--   Any use of the account's root user: console sign-ins (success and failure) and API calls.
--   Root should almost never be used; CIS AWS Foundations 1.7 asks that it is not. AWS service
--   events and calls made on root's behalf by an AWS service (invokedBy) are excluded.
--   Successful root console sign-ins without MFA are raised to critical.
-- severity: high
-- mitre: [T1078.004]
-- engines: [local, athena, lake]
-- tags: [signin, console_logins]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html
--   - https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
-- remediation:
--   text: >
--     Ask the account owners who used root and why. Unexplained use means root's password or keys are
--     compromised: change the password, check root's MFA and delete any root access keys; day-to-day
--     work belongs in IAM roles.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
root AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        eventname = 'ConsoleLogin'
            AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success'
            AND upper(coalesce(json_extract_scalar(additionaleventdata, '$.MFAUsed'), 'No')) <> 'YES' AS login_without_mfa
    FROM events
    WHERE useridentity.type = 'Root'
      AND coalesce(eventtype, '') <> 'AwsServiceEvent'
      AND useridentity.invokedby IS NULL
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(login_without_mfa) THEN 'critical' ELSE {{ severity }} END AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre
FROM root
GROUP BY recipientaccountid, principal_arn, sourceipaddress
ORDER BY first_seen
