-- name: guardduty_disabled
-- title: GuardDuty detector deleted, disabled or blinded
-- kind: detection
-- description: >
--   GuardDuty switched off or blinded: DeleteDetector; UpdateDetector with enable=false;
--   CreateFilter / UpdateFilter with action ARCHIVE (auto-archives findings); Create/UpdateIPSet and
--   Create/UpdateThreatIntelSet (trusted-IP lists suppress findings); DeletePublishingDestination;
--   and membership changes that detach the account from its administrator
--   (DisassociateFromAdministratorAccount, DisassociateFromMasterAccount, DeleteMembers,
--   DisassociateMembers, StopMonitoringMembers). Sigma
--   aws_cloudtrail_guardduty_detector_deleted_or_updated, Elastic GuardDuty rules (anchors.md 3.5).
--   Deleting or disabling the detector (DeleteDetector, UpdateDetector) is critical, any other
--   change high. Failed attempts are reported too: a finding whose calls all failed is medium.
-- severity: high
-- mitre: [T1562.001]
-- engines: [local, athena, lake]
-- tags: [guardrails, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/guardduty/latest/APIReference/API_DeleteDetector.html
-- remediation:
--   text: >
--     Re-enable or recreate the detector in the affected Region, delete archive filters and trusted IP
--     or threat lists your security team did not create, and associate the account with its GuardDuty
--     administrator again. Confirm with the security team first, and review the findings that were
--     archived or suppressed in the meantime.
--   docs: https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_suspend-disable.html
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
        json_extract_scalar(requestparameters, '$.detectorId') AS detector_id
    FROM events
    WHERE eventsource = 'guardduty.amazonaws.com' AND (
          eventname IN ('DeleteDetector', 'DeletePublishingDestination', 'DisassociateFromAdministratorAccount',
                        'DisassociateFromMasterAccount', 'DeleteMembers', 'DisassociateMembers', 'StopMonitoringMembers',
                        'CreateIPSet', 'UpdateIPSet', 'CreateThreatIntelSet', 'UpdateThreatIntelSet')
          OR (eventname = 'UpdateDetector' AND lower(coalesce(json_extract_scalar(requestparameters, '$.enable'), 'true')) = 'false')
          OR (eventname IN ('CreateFilter', 'UpdateFilter') AND upper(coalesce(json_extract_scalar(requestparameters, '$.action'), '')) = 'ARCHIVE'))
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(errorcode IS NULL) = 0 THEN 'medium' WHEN count_if(eventname IN ('DeleteDetector', 'UpdateDetector')) > 0 THEN 'critical' ELSE {{ severity }} END AS severity,
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
    array_sort(array_agg(DISTINCT detector_id) FILTER (WHERE detector_id IS NOT NULL)) AS detectors
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
