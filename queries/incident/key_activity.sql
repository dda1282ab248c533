-- name: key_activity
-- title: Every call made with given access keys or by given principals
-- kind: context
-- description: >
--   Incident scoping, "what did this key do?": every CloudTrail event signed with one of
--   access_key_ids, or made by one of principal_arns (an exact ARN, or a role ARN matching all of its
--   sessions), in time order, with the request and response kept for change analysis. At most
--   max_rows rows (the earliest). AWS incident-response playbook credential-compromise query #1 and
--   the CloudTrail Lake iam-access-key-activity sample (anchors.md 3.1).
-- severity: info
-- engines: [local, athena, lake]
-- tags: [incident]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   access_key_ids: {type: 'list[access_key_id]', default: [], description: Access key ids to follow (AKIA or ASIA)}
--   principal_arns: {type: 'list[arn]', default: [], description: 'Principal ARNs to follow (users, roles, sessions)'}
--   max_rows: {type: int, default: 50000, min: 1, max: 1000000, description: Most rows returned (earliest first)}
-- columns:
--   eventtime: string
--   eventid: string
--   eventsource: string
--   eventname: string
--   awsregion: string
--   sourceipaddress: string
--   useragent: string
--   errorcode: string
--   errormessage: string
--   readonly: string
--   identity_type: string
--   principal_arn: string
--   role_arn: string
--   user_name: string
--   access_key_id: string
--   account_id: string
--   requestparameters: string
--   responseelements: string
-- references:
--   - https://github.com/aws-samples/aws-incident-response-playbooks (athena-queries-credential-compromise.sql)
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
)
SELECT
    eventtime, eventid, eventsource, eventname, awsregion, sourceipaddress, useragent, errorcode, errormessage, readonly,
    useridentity.type AS identity_type,
    useridentity.arn AS principal_arn,
    useridentity.sessioncontext.sessionissuer.arn AS role_arn,
    coalesce(useridentity.username, useridentity.sessioncontext.sessionissuer.username) AS user_name,
    useridentity.accesskeyid AS access_key_id,
    recipientaccountid AS account_id,
    CAST(requestparameters AS VARCHAR) AS requestparameters,
    CAST(responseelements AS VARCHAR) AS responseelements
FROM events
WHERE contains({{ access_key_ids }}, useridentity.accesskeyid)
   OR contains({{ principal_arns }}, useridentity.arn)
   OR contains({{ principal_arns }}, useridentity.sessioncontext.sessionissuer.arn)
ORDER BY eventtime, eventid
LIMIT {{ max_rows }}
