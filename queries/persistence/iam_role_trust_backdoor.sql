-- name: iam_role_trust_backdoor
-- title: Role trust policy opened to another account or to everyone
-- kind: detection
-- description: >
--   CreateRole or UpdateAssumeRolePolicy with a trust policy that lets a principal outside this
--   account assume the role: an "AWS" principal in another account (not in trusted_accounts), or
--   Principal "*". This is the classic cross-account backdoor (Stratus iam-backdoor-role, iam-
--   create-backdoor-role). external_accounts lists the foreign account ids found; public is true for
--   "*".
-- severity: high
-- mitre: [T1098.003, T1098]
-- engines: [local, athena, lake]
-- tags: [persistence, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   trusted_accounts: {type: 'list[account_id]', default: [], description: Accounts allowed in trust policies (your organization)}
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.iam-backdoor-role/
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
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
    WHERE account <> recipientaccountid AND NOT contains({{ trusted_accounts }}, account)
    GROUP BY eventid
),
flagged AS (
    SELECT h.*, f.external_accounts,
           regexp_like(h.trust_policy, '"AWS"\s*:\s*(\[[^\]]*)?"\*"|"Principal"\s*:\s*"\*"') AS public
    FROM hits h
    LEFT JOIN foreign_trust f ON f.eventid = h.eventid
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(public) THEN 'critical' ELSE {{ severity }} END AS severity,
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
    count_if(errorcode IS NULL) AS succeeded,
    role_name,
    bool_or(public) AS public,
    array_sort(array_distinct(flatten(array_agg(coalesce(external_accounts, CAST(ARRAY[] AS ARRAY(VARCHAR))))))) AS external_accounts
FROM flagged
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress, role_name
HAVING bool_or(public) OR count_if(external_accounts IS NOT NULL) > 0
ORDER BY first_seen
