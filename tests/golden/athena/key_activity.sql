WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
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
WHERE contains(CAST(ARRAY[] AS ARRAY(VARCHAR)), useridentity.accesskeyid)
   OR contains(CAST(ARRAY[] AS ARRAY(VARCHAR)), useridentity.arn)
   OR contains(CAST(ARRAY[] AS ARRAY(VARCHAR)), useridentity.sessioncontext.sessionissuer.arn)
ORDER BY eventtime, eventid
LIMIT 50000
