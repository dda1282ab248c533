-- name: offensive_tool_user_agent
-- title: Calls made with an offensive-security tool's user agent
-- kind: detection
-- description: >
--   API calls whose user agent names an offensive tool or attack distribution: TruffleHog (which
--   verifies leaked keys with GetCallerIdentity), Kali and Parrot Linux builds of the CLI and SDKs,
--   Pacu, S3 Browser (seen in real key-theft incidents), BlackArch, Pentoo and CloudFox. The pattern
--   is a parameter (a case-insensitive regular expression over the lower-cased user agent). User
--   agents can be forged, so absence proves nothing; presence is a strong signal. Sources: Sigma
--   aws_cloudtrail_pua_trufflehog, aws_iam_s3browser_*, Elastic suspicious user agent rule
--   (anchors.md 3.10).
-- severity: high
-- mitre: [T1078.004, T1588.002]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   ua_pattern: {type: string, default: 'trufflehog|distrib#kali|\+kali|kali[0-9]*-(amd64|arm64)|\.kali|parrot|pacu|s3 browser|blackarch|pentoo|cloudfox', description: Regular expression matched against the lower-cased user agent}
-- references:
--   - https://github.com/SigmaHQ/sigma (aws_cloudtrail_pua_trufflehog, aws_iam_s3browser_user_or_accesskey_creation)
--   - https://github.com/elastic/detection-rules (initial_access_suspicious_user_agent_detected_in_cloudtrail)
-- remediation:
--   text: >
--     Ask the principal's owner whether an authorized penetration test or red team was running. If
--     not, deactivate the key or revoke the sessions at once and review everything the principal did
--     in the window; the user agent is chosen by the client, so its absence elsewhere proves nothing.
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
        useridentity.username AS actor_name
    FROM events
    WHERE useragent IS NOT NULL AND regexp_like(lower(useragent), {{ ua_pattern }})
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
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress, useragent
ORDER BY first_seen
