WITH events AS (
    SELECT * FROM (SELECT eventversion,CAST(ROW(json_extract_scalar(u,'$.type'),json_extract_scalar(u,'$.principalId'),json_extract_scalar(u,'$.arn'),json_extract_scalar(u,'$.accountId'),json_extract_scalar(u,'$.invokedBy'),json_extract_scalar(u,'$.accessKeyId'),json_extract_scalar(u,'$.userName'),IF(json_extract(u,'$.onBehalfOf') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.onBehalfOf.userId'),json_extract_scalar(u,'$.onBehalfOf.identityStoreArn')) AS ROW(userid VARCHAR,identitystorearn VARCHAR))),IF(json_extract(u,'$.sessionContext') IS NULL,NULL,CAST(ROW(IF(json_extract(u,'$.sessionContext.attributes') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.attributes.mfaAuthenticated'),json_extract_scalar(u,'$.sessionContext.attributes.creationDate')) AS ROW(mfaauthenticated VARCHAR,creationdate VARCHAR))),IF(json_extract(u,'$.sessionContext.sessionIssuer') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.sessionIssuer.type'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.principalId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.arn'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.accountId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.userName')) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR))),json_extract_scalar(u,'$.sessionContext.ec2RoleDelivery'),IF(json_extract(u,'$.sessionContext.webIdFederationData') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.webIdFederationData.federatedProvider'),TRY_CAST(json_extract(u,'$.sessionContext.webIdFederationData.attributes') AS MAP(VARCHAR,VARCHAR))) AS ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR)))))) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,invokedby VARCHAR,accesskeyid VARCHAR,username VARCHAR,onbehalfof ROW(userid VARCHAR,identitystorearn VARCHAR),sessioncontext ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS useridentity,date_format(eventtime,'%Y-%m-%dT%H:%i:%sZ') AS eventtime,eventsource,eventname,awsregion,sourceipaddress,useragent,errorcode,errormessage,NULLIF(json_format(json_extract(j,'$.requestParameters')),'null') AS requestparameters,NULLIF(json_format(json_extract(j,'$.responseElements')),'null') AS responseelements,NULLIF(json_format(json_extract(j,'$.additionalEventData')),'null') AS additionaleventdata,requestid,eventid,CAST(readonly AS VARCHAR) AS readonly,transform(CAST(json_extract(j,'$.resources') AS ARRAY(JSON)),r->CAST(ROW(json_extract_scalar(r,'$.ARN'),json_extract_scalar(r,'$.accountId'),json_extract_scalar(r,'$.type')) AS ROW(arn VARCHAR,accountid VARCHAR,type VARCHAR))) AS resources,eventtype,apiversion,recipientaccountid,NULLIF(json_format(json_extract(j,'$.serviceEventDetails')),'null') AS serviceeventdetails,sharedeventid,vpcendpointid,json_extract_scalar(j,'$.vpcEndpointAccountId') AS vpcendpointaccountid,eventcategory,IF(json_extract(j,'$.addendum') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.addendum.reason'),json_extract_scalar(j,'$.addendum.updatedFields'),json_extract_scalar(j,'$.addendum.originalRequestID'),json_extract_scalar(j,'$.addendum.originalEventID')) AS ROW(reason VARCHAR,updatedfields VARCHAR,originalrequestid VARCHAR,originaleventid VARCHAR))) AS addendum,CAST(sessioncredentialfromconsole AS VARCHAR) AS sessioncredentialfromconsole,NULLIF(json_format(json_extract(j,'$.edgeDeviceDetails')),'null') AS edgedevicedetails,IF(json_extract(j,'$.tlsDetails') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.tlsDetails.tlsVersion'),json_extract_scalar(j,'$.tlsDetails.cipherSuite'),json_extract_scalar(j,'$.tlsDetails.clientProvidedHostHeader')) AS ROW(tlsversion VARCHAR,ciphersuite VARCHAR,clientprovidedhostheader VARCHAR))) AS tlsdetails,recipientaccountid AS account_partition,awsregion AS region_partition,date_format(eventtime,'%Y/%m/%d') AS date_partition FROM (SELECT *,eventjson AS j,json_extract(eventjson,'$.userIdentity') AS u FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE WHERE eventtime >= TIMESTAMP '2026-10-21 23:00:00' AND eventtime < TIMESTAMP '2026-10-29 00:00:00')) WHERE eventtime >= '2026-10-21T23:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
failures AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        to_unixtime(from_iso8601_timestamp(eventtime)) AS ts,
        useridentity.type = 'Root' AS is_root,
        CASE WHEN useridentity.type = 'Root' THEN 'root'
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.principalid)
        END AS user_name,
        -- AWS hides names that are not IAM users; each hidden attempt counts as its own name.
        CASE WHEN useridentity.username = 'HIDDEN_DUE_TO_SECURITY_REASONS' THEN eventid
             ELSE coalesce(useridentity.username, regexp_extract(useridentity.arn, '[^/]+$'), useridentity.type)
        END AS name_tried
    FROM events
    WHERE eventsource = 'signin.amazonaws.com'
      AND eventname = 'ConsoleLogin'
      AND (json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure' OR errormessage IS NOT NULL)
),
-- Each failure anchors a window [ts, ts + window]; it is a spray when enough names fail in it.
sprays AS (
    SELECT a.recipientaccountid, a.sourceipaddress, a.ts AS anchor_ts
    FROM failures AS a
    JOIN failures AS b
      ON b.recipientaccountid = a.recipientaccountid
     AND b.sourceipaddress = a.sourceipaddress
     AND b.ts >= a.ts
     AND b.ts <= a.ts + 60 * 60
    GROUP BY a.recipientaccountid, a.sourceipaddress, a.ts
    HAVING count(DISTINCT b.name_tried) >= 5
),
members AS (
    SELECT DISTINCT f.eventtime, f.eventid, f.eventname, f.recipientaccountid, f.awsregion,
           f.sourceipaddress, f.useragent, f.is_root, f.user_name, f.name_tried
    FROM failures AS f
    JOIN sprays AS s
      ON f.recipientaccountid = s.recipientaccountid
     AND f.sourceipaddress = s.sourceipaddress
     AND f.ts >= s.anchor_ts
     AND f.ts <= s.anchor_ts + 60 * 60
)
SELECT
    'console_password_spray' AS detection,
    CASE WHEN bool_or(is_root) THEN 'high' ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    CAST(NULL AS VARCHAR) AS principal_arn,
    CAST(NULL AS VARCHAR) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1110.003'] AS mitre,
    count(DISTINCT name_tried) AS user_count,
    slice(array_sort(array_agg(DISTINCT user_name)), 1, 50) AS user_names
FROM members
GROUP BY recipientaccountid, sourceipaddress
ORDER BY first_seen
