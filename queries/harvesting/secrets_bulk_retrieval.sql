-- name: secrets_bulk_retrieval
-- title: Many Secrets Manager secrets read by one principal
-- kind: detection
-- description: >
--   Secrets harvesting: within one bucket_minutes bucket a principal reads at least min_secrets
--   distinct secrets with GetSecretValue, or makes at least min_batch_calls BatchGetSecretValue
--   calls (which read many secrets at once, often by filter). Buckets lie on two grids, the second
--   shifted by half a bucket, so a burst cut by one grid's edge (midnight included) is whole on the
--   other; each event is reported once, with the biggest firing bucket that holds it (so a burst
--   cut by one grid is one finding, whole, in the report whose window it reaches). Panther
--   AWS.SecretsManager.RetrieveSecrets uses 20 a day; 10 an hour is the default here (anchors.md
--   3.14). Stratus secretsmanager-retrieve-secrets, secretsmanager-batch-retrieve-secrets. Reads
--   are counted per account and principal.
-- severity: high
-- mitre: [T1555.006, T1552]
-- engines: [local, athena, lake]
-- tags: [harvesting, key_hunt]
-- lookback: bucket_minutes
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   bucket_minutes: {type: int, default: 60, min: 1, max: 1440, description: Length of the counting bucket in minutes}
--   min_secrets: {type: int, default: 10, min: 1, description: Distinct secrets read with GetSecretValue in one bucket}
--   min_batch_calls: {type: int, default: 1, min: 1, description: BatchGetSecretValue calls in one bucket}
-- references:
--   - https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html
-- remediation:
--   text: >
--     Ask the owner of the principal whether the reads were expected (a deployment, a migration). If
--     not, rotate every secret that was read, revoke the caller's credentials, and narrow
--     GetSecretValue and BatchGetSecretValue to the secrets each role needs.
--   docs: https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets.html
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
        json_extract_scalar(requestparameters, '$.secretId') AS secret_id,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / ({{ bucket_minutes }} * 60)) AS bucket,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / ({{ bucket_minutes }} * 60) + 0.5) AS shifted
    FROM events
    WHERE eventsource = 'secretsmanager.amazonaws.com'
      AND eventname IN ('GetSecretValue', 'BatchGetSecretValue')
),
cells AS (
    SELECT eventid, recipientaccountid, principal_arn, eventname, secret_id, 0 AS grid, bucket AS cell FROM hits
    UNION ALL
    SELECT eventid, recipientaccountid, principal_arn, eventname, secret_id, 1 AS grid, shifted AS cell FROM hits
),
firing AS (
    SELECT recipientaccountid, principal_arn, grid, cell, count(*) AS size
    FROM cells
    GROUP BY recipientaccountid, principal_arn, grid, cell
    HAVING count(DISTINCT secret_id) FILTER (WHERE eventname = 'GetSecretValue') >= {{ min_secrets }} OR count_if(eventname = 'BatchGetSecretValue') >= {{ min_batch_calls }}
),
chosen AS (
    SELECT eventid, burst
    FROM (
        SELECT c.eventid, 2 * c.cell + c.grid AS burst,
               row_number() OVER (PARTITION BY c.eventid ORDER BY f.size DESC, 2 * c.cell + c.grid) AS pick
        FROM cells c
        JOIN firing f ON f.recipientaccountid = c.recipientaccountid AND f.principal_arn = c.principal_arn
            AND f.grid = c.grid AND f.cell = c.cell
    ) ranked
    WHERE pick = 1
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn AS principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(h.eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count_if(errorcode IS NULL) AS succeeded,
    count(DISTINCT secret_id) FILTER (WHERE eventname = 'GetSecretValue') AS distinct_secrets,
    count_if(eventname = 'BatchGetSecretValue') AS batch_calls,
    count(DISTINCT awsregion) AS regions
FROM hits h
JOIN chosen k ON k.eventid = h.eventid
GROUP BY recipientaccountid, principal_arn, k.burst
ORDER BY first_seen
