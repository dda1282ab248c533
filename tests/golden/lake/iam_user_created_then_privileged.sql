WITH events AS (
    SELECT * FROM (SELECT eventversion,CAST(ROW(json_extract_scalar(u,'$.type'),json_extract_scalar(u,'$.principalId'),json_extract_scalar(u,'$.arn'),json_extract_scalar(u,'$.accountId'),json_extract_scalar(u,'$.invokedBy'),json_extract_scalar(u,'$.accessKeyId'),json_extract_scalar(u,'$.userName'),IF(json_extract(u,'$.onBehalfOf') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.onBehalfOf.userId'),json_extract_scalar(u,'$.onBehalfOf.identityStoreArn')) AS ROW(userid VARCHAR,identitystorearn VARCHAR))),IF(json_extract(u,'$.sessionContext') IS NULL,NULL,CAST(ROW(IF(json_extract(u,'$.sessionContext.attributes') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.attributes.mfaAuthenticated'),json_extract_scalar(u,'$.sessionContext.attributes.creationDate')) AS ROW(mfaauthenticated VARCHAR,creationdate VARCHAR))),IF(json_extract(u,'$.sessionContext.sessionIssuer') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.sessionIssuer.type'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.principalId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.arn'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.accountId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.userName')) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR))),json_extract_scalar(u,'$.sessionContext.ec2RoleDelivery'),IF(json_extract(u,'$.sessionContext.webIdFederationData') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.webIdFederationData.federatedProvider'),TRY_CAST(json_extract(u,'$.sessionContext.webIdFederationData.attributes') AS MAP(VARCHAR,VARCHAR))) AS ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR)))))) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,invokedby VARCHAR,accesskeyid VARCHAR,username VARCHAR,onbehalfof ROW(userid VARCHAR,identitystorearn VARCHAR),sessioncontext ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS useridentity,date_format(eventtime,'%Y-%m-%dT%H:%i:%sZ') AS eventtime,eventsource,eventname,awsregion,sourceipaddress,useragent,errorcode,errormessage,NULLIF(json_format(json_extract(j,'$.requestParameters')),'null') AS requestparameters,NULLIF(json_format(json_extract(j,'$.responseElements')),'null') AS responseelements,NULLIF(json_format(json_extract(j,'$.additionalEventData')),'null') AS additionaleventdata,requestid,eventid,CAST(readonly AS VARCHAR) AS readonly,transform(CAST(json_extract(j,'$.resources') AS ARRAY(JSON)),r->CAST(ROW(json_extract_scalar(r,'$.ARN'),json_extract_scalar(r,'$.accountId'),json_extract_scalar(r,'$.type')) AS ROW(arn VARCHAR,accountid VARCHAR,type VARCHAR))) AS resources,eventtype,apiversion,recipientaccountid,NULLIF(json_format(json_extract(j,'$.serviceEventDetails')),'null') AS serviceeventdetails,sharedeventid,vpcendpointid,json_extract_scalar(j,'$.vpcEndpointAccountId') AS vpcendpointaccountid,eventcategory,IF(json_extract(j,'$.addendum') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.addendum.reason'),json_extract_scalar(j,'$.addendum.updatedFields'),json_extract_scalar(j,'$.addendum.originalRequestID'),json_extract_scalar(j,'$.addendum.originalEventID')) AS ROW(reason VARCHAR,updatedfields VARCHAR,originalrequestid VARCHAR,originaleventid VARCHAR))) AS addendum,CAST(sessioncredentialfromconsole AS VARCHAR) AS sessioncredentialfromconsole,NULLIF(json_format(json_extract(j,'$.edgeDeviceDetails')),'null') AS edgedevicedetails,IF(json_extract(j,'$.tlsDetails') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.tlsDetails.tlsVersion'),json_extract_scalar(j,'$.tlsDetails.cipherSuite'),json_extract_scalar(j,'$.tlsDetails.clientProvidedHostHeader')) AS ROW(tlsversion VARCHAR,ciphersuite VARCHAR,clientprovidedhostheader VARCHAR))) AS tlsdetails,recipientaccountid AS account_partition,awsregion AS region_partition,date_format(eventtime,'%Y/%m/%d') AS date_partition FROM (SELECT *,eventjson AS j,json_extract(eventjson,'$.userIdentity') AS u FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE WHERE eventtime >= TIMESTAMP '2026-10-21 00:00:00' AND eventtime < TIMESTAMP '2026-10-29 00:00:00')) WHERE eventtime >= '2026-10-21T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
iam AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        json_extract_scalar(requestparameters, '$.userName') AS target_user,
        from_iso8601_timestamp(eventtime) AS at
    FROM events
    WHERE eventsource = 'iam.amazonaws.com'
      AND eventname IN ('CreateUser', 'AttachUserPolicy', 'PutUserPolicy', 'AddUserToGroup', 'CreateAccessKey', 'CreateLoginProfile')
      AND errorcode IS NULL
      AND json_extract_scalar(requestparameters, '$.userName') IS NOT NULL
),
creations AS (
    SELECT recipientaccountid, principal_arn, target_user, at AS created_at, eventid AS create_id
    FROM iam WHERE eventname = 'CreateUser'
),
story AS (
    SELECT i.*, c.create_id
    FROM iam i
    JOIN creations c
      ON c.recipientaccountid = i.recipientaccountid AND c.target_user = i.target_user
     AND coalesce(c.principal_arn, '') = coalesce(i.principal_arn, '')
     AND i.at >= c.created_at AND i.at <= c.created_at + 24 * INTERVAL '1' HOUR
)
SELECT
    'iam_user_created_then_privileged' AS detection,
    CASE WHEN count_if(eventname IN ('AttachUserPolicy', 'PutUserPolicy', 'AddUserToGroup')) > 0 THEN 'high' ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1136.003', 'T1098'] AS mitre,
    target_user AS created_user
FROM story
GROUP BY recipientaccountid, principal_arn, target_user, create_id
HAVING count_if(eventname <> 'CreateUser') > 0
ORDER BY first_seen
