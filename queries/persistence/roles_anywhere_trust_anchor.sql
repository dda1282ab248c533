-- name: roles_anywhere_trust_anchor
-- title: IAM Roles Anywhere trust anchor or profile created or changed
-- kind: detection
-- description: >
--   CreateTrustAnchor, UpdateTrustAnchor, EnableTrustAnchor, CreateProfile or UpdateProfile in IAM
--   Roles Anywhere: a trust anchor for an attacker's certificate authority gives long-lived access
--   to roles from outside AWS that survives key rotation (Stratus rolesanywhere-create-trust-
--   anchor).
-- severity: high
-- mitre: [T1098.001, T1556]
-- engines: [local, athena, lake]
-- tags: [persistence, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/rolesanywhere/latest/userguide/introduction.html
-- remediation:
--   text: >
--     Confirm with the owner that the certificate authority and profile are yours. If not, disable and
--     delete the trust anchor and profile, revoke the sessions of the roles the profile can assume,
--     and limit Roles Anywhere changes to your identity administrators.
--   docs: https://docs.aws.amazon.com/rolesanywhere/latest/userguide/introduction.html
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
    WHERE eventsource = 'rolesanywhere.amazonaws.com'
      AND eventname IN ('CreateTrustAnchor', 'UpdateTrustAnchor', 'EnableTrustAnchor', 'CreateProfile', 'UpdateProfile')
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
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
