-- name: aws_quarantine_policy_attached
-- title: AWS attached its compromised-key quarantine policy to a user
-- kind: detection
-- description: >
--   AWS found one of this account's access keys exposed in public (GitHub, paste sites) and attached
--   AWSCompromisedKeyQuarantine(V2/V3) or AWSExposedCredentialPolicy_DO_NOT_REMOVE to the key's
--   user. This is the highest-confidence leaked-key signal there is: rotate the key now (see the
--   leaked-key runbook in key_anomalies). principal_arn is the quarantined user; actor_arn who
--   attached it. Names from Panther aws_key_compromised and Elastic's quarantine rule (anchors.md
--   3.16, 4.6).
-- severity: critical
-- mitre: [T1552.001, T1078.004]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCompromisedKeyQuarantineV3.html
--   - https://github.com/panther-labs/panther-analysis (aws_key_compromised)
-- remediation:
--   text: >
--     Treat the key as leaked: deactivate it, give its legitimate users a replacement, and delete it
--     once nothing depends on it. Leave the quarantine policy attached until then, remove the key from
--     where it was published, and review everything it did since it was exposed.
--   docs: https://docs.aws.amazon.com/guardduty/latest/ug/compromised-creds.html
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
        json_extract_scalar(requestparameters, '$.userName') AS target_user,
        coalesce(json_extract_scalar(requestparameters, '$.policyName'), json_extract_scalar(requestparameters, '$.policyArn')) AS policy
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname IN ('PutUserPolicy', 'AttachUserPolicy', 'PutRolePolicy', 'AttachRolePolicy', 'PutGroupPolicy', 'AttachGroupPolicy')
      AND (coalesce(json_extract_scalar(requestparameters, '$.policyName'), '') LIKE 'AWSCompromisedKeyQuarantine%'
           OR coalesce(json_extract_scalar(requestparameters, '$.policyArn'), '') LIKE '%/AWSCompromisedKeyQuarantine%'
           OR coalesce(json_extract_scalar(requestparameters, '$.policyName'), '') = 'AWSExposedCredentialPolicy_DO_NOT_REMOVE'
           OR coalesce(json_extract_scalar(requestparameters, '$.policyArn'), '') LIKE '%/AWSExposedCredentialPolicy_DO_NOT_REMOVE')
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    awsregion AS region,
    coalesce('arn:aws:iam::' || recipientaccountid || ':user/' || target_user, min(principal_arn)) AS principal_arn,
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    min(principal_arn) AS actor_arn,
    array_sort(array_agg(DISTINCT policy)) AS policies
FROM hits
GROUP BY recipientaccountid, awsregion, target_user, sourceipaddress
ORDER BY first_seen
