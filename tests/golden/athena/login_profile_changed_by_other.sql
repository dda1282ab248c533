WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
changes AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        json_extract_scalar(requestparameters, '$.userName') AS target_user,
        useridentity.type AS actor_type,
        -- The ARN's last name: the user, the session, or `root` for the root user.
        coalesce(regexp_extract(useridentity.arn, '[^/:]+$'), useridentity.username) AS actor_name,
        lower(coalesce(json_extract_scalar(requestparameters, '$.passwordResetRequired'), 'false')) = 'true' AS reset_required
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname IN ('CreateLoginProfile', 'UpdateLoginProfile')
)
SELECT
    'login_profile_changed_by_other' AS detection,
    CASE WHEN bool_and(reset_required OR errorcode IS NOT NULL) THEN 'low' ELSE 'medium' END AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1098', 'T1078.004'] AS mitre,
    target_user,
    bool_and(reset_required) AS password_reset_required,
    count_if(errorcode IS NOT NULL) AS failed_calls
FROM changes
WHERE target_user IS NOT NULL
  -- Root by identity, not name: root is no IAM user, so its call is never on its own login
  -- profile, even for an IAM user named root (IAM's user-name pattern admits it).
  AND (actor_type = 'Root' OR coalesce(actor_name, '') <> target_user)
GROUP BY recipientaccountid, principal_arn, sourceipaddress, target_user
ORDER BY first_seen
