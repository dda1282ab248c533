-- name: mfa_device_changed
-- title: MFA device removed or added
-- kind: detection
-- description: >
--   MFA devices deactivated or deleted (DeactivateMFADevice, DeleteVirtualMFADevice) or created and
--   enabled (CreateVirtualMFADevice, EnableMFADevice). Removing MFA opens the account to a stolen
--   password; adding a device lets whoever holds it pass MFA from now on. Removal is medium, addition
--   low; any change to root's MFA is high. Failed calls are listed with their error count.
--   target_user is the request's userName, or root when root changes its own MFA without naming a
--   user.
-- severity: medium
-- mitre: [T1556.006, T1098.005]
-- engines: [local, athena, lake]
-- tags: [iam, console_logins]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeactivateMFADevice.html
--   - https://attack.mitre.org/techniques/T1556/006/
-- remediation:
--   text: >
--     Confirm with the user, out of band, that they removed or added the device. If not, deactivate
--     the unknown device, assign one the user holds, reset the password and review the user's recent
--     sessions; for root, recover the account through its registered email and phone.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_cliapi.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
changes AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        useridentity.type = 'Root' AS is_root,
        eventname IN ('DeactivateMFADevice', 'DeleteVirtualMFADevice') AS is_removal,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        coalesce(json_extract_scalar(requestparameters, '$.userName'),
                 CASE WHEN useridentity.type = 'Root' THEN 'root' END) AS target_user
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname IN ('DeactivateMFADevice', 'DeleteVirtualMFADevice', 'CreateVirtualMFADevice', 'EnableMFADevice')
)
SELECT
    {{ detection }} AS detection,
    CASE
        WHEN bool_or(is_root OR target_user = 'root') THEN 'high'
        WHEN bool_or(is_removal) THEN {{ severity }}
        ELSE 'low'
    END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    target_user,
    bool_or(is_removal) AS removed,
    count_if(errorcode IS NOT NULL) AS failed_calls
FROM changes
GROUP BY recipientaccountid, principal_arn, sourceipaddress, target_user
ORDER BY first_seen
