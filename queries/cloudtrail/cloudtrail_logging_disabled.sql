-- name: cloudtrail_logging_disabled
-- title: CloudTrail logging stopped or trail deleted
-- kind: detection
-- description: >
--   A trail was stopped (StopLogging) or deleted (DeleteTrail). Attackers switch CloudTrail
--   off to blind the defenders right after they gain access; this is the "CloudTrail was off"
--   incident. Successful and failed attempts are both reported: a failed attempt still shows intent.
-- severity: high
-- mitre: [T1562.008]
-- engines: [local, athena, lake]
-- tags: [cloudtrail, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html
--   - https://attack.mitre.org/techniques/T1562/008/
-- remediation:
--   text: >
--     Start logging on the trail again (StartLogging, from the trail's home Region), or recreate a
--     deleted trail from its known-good configuration. Confirm with the account owner whether the
--     change was planned; if not, treat the caller as compromised and review what it did while logging
--     was off from a source it could not switch off (the organization trail, CloudTrail event
--     history).
--   docs: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-turning-off-logging.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(errorcode IS NULL) > 0 THEN {{ severity }} ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    awsregion AS region,
    useridentity.arn AS principal_arn,
    min(useridentity.accesskeyid) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    array_sort(array_agg(DISTINCT json_extract_scalar(requestparameters, '$.name'))) AS trails
FROM events
WHERE eventsource = 'cloudtrail.amazonaws.com'
  AND eventname IN ('StopLogging', 'DeleteTrail')
GROUP BY recipientaccountid, awsregion, useridentity.arn, sourceipaddress
ORDER BY first_seen
