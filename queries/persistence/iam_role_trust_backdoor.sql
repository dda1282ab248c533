-- name: iam_role_trust_backdoor
-- title: Role trust policy opened to another account or to everyone
-- kind: detection
-- description: >
--   CreateRole or UpdateAssumeRolePolicy with a trust policy that lets a principal outside your
--   organization assume the role: another account (not seen in the window, not in
--   trusted_accounts), Principal "*", NotPrincipal, a foreign organization, or a web identity
--   provider without a condition. This is the classic cross-account backdoor (Stratus
--   iam-backdoor-role, iam-create-backdoor-role). The trust policy is read by the same parser as
--   resource_policy_external_access (stage resource_policy): exposure is public (critical),
--   external (high) or unverified (medium); grants holds each outside principal and the statement.
-- severity: high
-- mitre: [T1098.003, T1098]
-- engines: [local, athena, lake]
-- tags: [persistence, key_hunt, resource_exposure]
-- stage: resource_policy
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   trusted_accounts: {type: 'list[account_id]', default: [], description: Accounts of your organization beyond those seen in the window}
--   trusted_org_ids: {type: 'list[org_id]', default: [], description: Your AWS Organizations id(s); an org condition naming one is trusted}
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.iam-backdoor-role/
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html
-- remediation:
--   text: >
--     Confirm with the role's owner that the outside principal should be able to assume it. If not,
--     restore the trust policy to trusted principals only, revoke the role's active sessions, and
--     review the outside account's AssumeRole calls and what its sessions did.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-role-trust-policy.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
seen AS (
    SELECT array_agg(DISTINCT recipientaccountid) AS accounts FROM events
),
candidates AS (
    SELECT *, {{ actor_arn }} AS principal_arn
    FROM events
    WHERE errorcode IS NULL AND eventsource = 'iam.amazonaws.com' AND eventname IN ('CreateRole', 'UpdateAssumeRolePolicy')
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    c.eventtime AS first_seen,
    c.eventtime AS last_seen,
    c.recipientaccountid AS account_id,
    c.awsregion AS region,
    c.principal_arn,
    c.useridentity.accesskeyid AS access_key_id,
    c.sourceipaddress AS source_ip,
    c.useragent AS user_agent,
    ARRAY[c.eventname] AS event_names,
    1 AS event_count,
    ARRAY[c.eventid] AS event_ids,
    {{ mitre }} AS mitre,
    c.eventsource AS event_source,
    c.requestparameters AS request_parameters,
    array_distinct(concat(coalesce(s.accounts, CAST(ARRAY[] AS ARRAY(VARCHAR))), {{ trusted_accounts }})) AS trusted_accounts,
    {{ trusted_org_ids }} AS trusted_org_ids
FROM candidates c
CROSS JOIN seen s
ORDER BY first_seen, c.eventid
