-- name: organization_leave_attempt
-- title: Attempt to leave the AWS Organization
-- kind: detection
-- description: >
--   organizations:LeaveOrganization: an account that leaves its organization escapes the SCPs, the
--   organization trail and central security tooling. Denied attempts (the normal outcome when an SCP
--   forbids it) are reported too, as high (Stratus organizations-leave).
-- severity: critical
-- mitre: [T1562.001, T1666]
-- engines: [local, athena, lake]
-- tags: [guardrails, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/organizations/latest/APIReference/API_LeaveOrganization.html
-- remediation:
--   text: >
--     Ask the organization's administrators whether the account was meant to leave; if not, treat the
--     caller as compromised and revoke its credentials. Attach a service control policy that denies
--     organizations:LeaveOrganization to every member account so the attempt fails.
--   docs: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name
    FROM events
    WHERE eventsource = 'organizations.amazonaws.com' AND eventname = 'LeaveOrganization'
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(errorcode IS NULL) = 0 THEN 'high' ELSE {{ severity }} END AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count_if(errorcode IS NULL) AS succeeded
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
