-- name: key_new_user_agent_family
-- title: Access key or principal used with a new kind of client (user-agent family)
-- kind: detection
-- description: >
--   First-seen against a trailing baseline: a long-term key or IAM user / root principal calls AWS
--   with a client family it never used in the baseline: aws-cli, boto3, an AWS SDK (go, java, js,
--   dotnet), the console, terraform, pulumi, a browser or another named tool. user_agent_family is,
--   in this order: none (no user agent), terraform, pulumi, aws-cli, boto3 (Boto3 or a leading
--   Botocore), sdk-go, sdk-java, sdk-js (aws-sdk-js, aws-sdk-nodejs), sdk-dotnet (with AWS Tools for
--   PowerShell), sdk-other (any other aws-sdk-*), console (the console, signin, AWS Internal),
--   browser (Mozilla/...), or else the agent's first word, lower-cased. A CI key that always
--   ran terraform and suddenly speaks aws-cli or boto3 is the classic leaked-key pattern. The
--   subject is the long-term key (AKIA...) when the call was signed with one, otherwise the IAM user
--   or root principal ARN. Only subjects with at least min_baseline_events events between
--   baseline_start and start are judged, so brand-new keys do not flood the hunt. Calls made by AWS
--   services on the principal's behalf are ignored.
-- severity: medium
-- mitre: [T1078.004]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- parameters:
--   baseline_start: {type: timestamp, default: start - 14d, description: Start of the trailing baseline (UTC); the baseline ends at start}
--   start: {type: timestamp, description: Detection window start in UTC (inclusive)}
--   end: {type: timestamp, description: Detection window end in UTC (exclusive)}
--   min_baseline_events: {type: int, default: 5, min: 1, description: Events a subject needs in the baseline to be judged}
-- window: [baseline_start, end]
-- references:
--   - https://github.com/elastic/detection-rules (initial_access_iam_session_token_used_from_multiple_addresses)
-- remediation:
--   text: >
--     Ask the owner of the key (for a CI key, the pipeline's owner) whether they started using that
--     client. If not, rotate the key: create a replacement for the pipeline, deactivate the old key,
--     review the calls made with the new client, then delete it.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id-credentials-access-keys-update.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
seen AS (
    SELECT
        *,
        CASE
            WHEN useragent IS NULL OR useragent = '' THEN 'none'
            WHEN lower(useragent) LIKE '%terraform%' THEN 'terraform'
            WHEN lower(useragent) LIKE '%pulumi%' THEN 'pulumi'
            WHEN lower(useragent) LIKE '%aws-cli%' THEN 'aws-cli'
            WHEN lower(useragent) LIKE '%boto3%' OR lower(useragent) LIKE 'botocore%' THEN 'boto3'
            WHEN lower(useragent) LIKE '%aws-sdk-go%' THEN 'sdk-go'
            WHEN lower(useragent) LIKE '%aws-sdk-java%' THEN 'sdk-java'
            WHEN lower(useragent) LIKE '%aws-sdk-js%' OR lower(useragent) LIKE '%aws-sdk-nodejs%' THEN 'sdk-js'
            WHEN lower(useragent) LIKE '%aws-sdk-dotnet%' OR lower(useragent) LIKE '%aws-powershell%' THEN 'sdk-dotnet'
            WHEN lower(useragent) LIKE '%aws-sdk-%' THEN 'sdk-other'
            WHEN lower(useragent) LIKE '%console%amazonaws.com%' OR lower(useragent) LIKE '%signin.amazonaws.com%'
                 OR lower(useragent) LIKE 'aws internal%' OR lower(useragent) LIKE '%aws-internal%' THEN 'console'
            WHEN lower(useragent) LIKE 'mozilla/%' THEN 'browser'
            ELSE coalesce(nullif(regexp_extract(lower(useragent), '^\[?([a-z][a-z0-9.-]*)', 1), ''), 'other')
        END AS seen_value
    FROM events
),
{{ key_first_seen }}
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    subject_type,
    subject,
    seen_value AS user_agent_family,
    array_sort(array_agg(DISTINCT useragent)) AS user_agents
FROM novel
GROUP BY recipientaccountid, subject_type, subject, seen_value
ORDER BY first_seen
