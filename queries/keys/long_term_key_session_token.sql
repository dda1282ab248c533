-- name: long_term_key_session_token
-- title: Temporary credentials minted from a long-term access key (GetSessionToken / GetFederationToken)
-- kind: detection
-- description: >
--   A long-term IAM user key (AKIA...) called sts:GetFederationToken or sts:GetSessionToken.
--   Attackers mint temporary credentials from a stolen key so they survive the key's deactivation
--   (GetFederationToken sessions outlive it and can call most services; Stratus sts-federation-
--   token). GetSessionToken with an MFA device (serialNumber present) is the normal MFA-for-CLI flow
--   and is left out unless include_mfa_session_tokens is true. GetFederationToken with an inline
--   policy granting "*" is raised to high. Sigma aws_sts_getsessiontoken_misuse, Elastic
--   defense_evasion_sts_get_federation_token (anchors.md 3.18).
-- severity: medium
-- mitre: [T1550.001, T1078.004]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   include_mfa_session_tokens: {type: bool, default: false, description: Also report GetSessionToken calls made with an MFA device}
-- references:
--   - https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.sts-federation-token/
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name,
        json_extract_scalar(responseelements, '$.credentials.accessKeyId') AS minted_key,
        regexp_like(coalesce(json_extract_scalar(requestparameters, '$.policy'), ''), '"Action"\s*:\s*(\[\s*)?"\*"') AS grants_all
    FROM events
    WHERE eventsource = 'sts.amazonaws.com'
      AND eventname IN ('GetSessionToken', 'GetFederationToken')
      AND useridentity.accesskeyid LIKE 'AKIA%'
      AND (eventname = 'GetFederationToken' OR {{ include_mfa_session_tokens }}
           OR json_extract_scalar(requestparameters, '$.serialNumber') IS NULL)
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN bool_or(grants_all) THEN 'high' ELSE {{ severity }} END AS severity,
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
    array_sort(array_agg(DISTINCT minted_key) FILTER (WHERE minted_key IS NOT NULL)) AS minted_keys
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
