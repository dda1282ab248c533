-- name: long_term_key_session_token
-- title: Temporary credentials minted from a long-term access key (GetSessionToken / GetFederationToken)
-- kind: detection
-- description: >
--   A long-term IAM user key (AKIA...) called sts:GetFederationToken or sts:GetSessionToken.
--   Attackers mint temporary credentials from a stolen key so they survive the key's deactivation
--   (GetFederationToken sessions outlive it and can call most services; Stratus sts-federation-
--   token). GetSessionToken with an MFA device (serialNumber present) is the normal MFA-for-CLI flow
--   and is left out unless include_mfa_session_tokens is true. GetFederationToken with an inline
--   policy granting "*" is raised to high. The minted credentials' own calls in the window are
--   cited with the mint (they are what the attacker did with it). Sigma aws_sts_getsessiontoken_misuse,
--   Elastic defense_evasion_sts_get_federation_token (anchors.md 3.18). One finding per account,
--   region, principal and source IP of the mints.
-- severity: medium
-- mitre: [T1550.001, T1078.004]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- lookback: 36h
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   include_mfa_session_tokens: {type: bool, default: false, description: Also report GetSessionToken calls made with an MFA device}
-- references:
--   - https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.sts-federation-token/
-- remediation:
--   text: >
--     Deactivating the source key does not end the sessions it minted: after confirming with the
--     user's owner that they did not mint them, also attach a deny-all policy to the IAM user so the
--     minted credentials stop working. Then review the calls made with the minted credentials.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_disable-perms.html
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
),
cited AS (
    SELECT recipientaccountid, awsregion, principal_arn, sourceipaddress, eventid, eventtime, eventname, TRUE AS mint
    FROM hits
    UNION ALL
    SELECT h.recipientaccountid, h.awsregion, h.principal_arn, h.sourceipaddress, e.eventid, e.eventtime, e.eventname,
           FALSE AS mint
    FROM hits h
    JOIN events e ON e.useridentity.accesskeyid = h.minted_key
),
used AS (
    SELECT recipientaccountid, awsregion, principal_arn, sourceipaddress,
           min(eventtime) AS first_seen, max(eventtime) AS last_seen,
           array_sort(array_agg(DISTINCT eventname)) AS event_names,
           count(*) AS event_count,
           slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids
    FROM (SELECT DISTINCT * FROM cited) AS c
    GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
),
mints AS (
    SELECT
        recipientaccountid, awsregion, principal_arn, sourceipaddress,
        bool_or(grants_all) AS grants_all,
        min(access_key_id) AS access_key_id,
        min(useragent) AS user_agent,
        count_if(errorcode IS NULL) AS succeeded,
        array_sort(array_agg(DISTINCT minted_key) FILTER (WHERE minted_key IS NOT NULL)) AS minted_keys
    FROM hits
    GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN m.grants_all THEN 'high' ELSE {{ severity }} END AS severity,
    u.first_seen,
    u.last_seen,
    m.recipientaccountid AS account_id,
    m.awsregion AS region,
    m.principal_arn AS principal_arn,
    m.access_key_id,
    m.sourceipaddress AS source_ip,
    m.user_agent,
    u.event_names,
    u.event_count,
    u.event_ids,
    {{ mitre }} AS mitre,
    m.succeeded,
    m.minted_keys
FROM mints m
JOIN used u ON u.recipientaccountid IS NOT DISTINCT FROM m.recipientaccountid
    AND u.awsregion IS NOT DISTINCT FROM m.awsregion AND u.principal_arn IS NOT DISTINCT FROM m.principal_arn
    AND u.sourceipaddress IS NOT DISTINCT FROM m.sourceipaddress
ORDER BY first_seen
