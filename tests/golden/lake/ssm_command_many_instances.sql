WITH events AS (
    SELECT * FROM (SELECT eventversion,CAST(ROW(json_extract_scalar(u,'$.type'),json_extract_scalar(u,'$.principalId'),json_extract_scalar(u,'$.arn'),json_extract_scalar(u,'$.accountId'),json_extract_scalar(u,'$.invokedBy'),json_extract_scalar(u,'$.accessKeyId'),json_extract_scalar(u,'$.userName'),IF(json_extract(u,'$.onBehalfOf') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.onBehalfOf.userId'),json_extract_scalar(u,'$.onBehalfOf.identityStoreArn')) AS ROW(userid VARCHAR,identitystorearn VARCHAR))),IF(json_extract(u,'$.sessionContext') IS NULL,NULL,CAST(ROW(IF(json_extract(u,'$.sessionContext.attributes') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.attributes.mfaAuthenticated'),json_extract_scalar(u,'$.sessionContext.attributes.creationDate')) AS ROW(mfaauthenticated VARCHAR,creationdate VARCHAR))),IF(json_extract(u,'$.sessionContext.sessionIssuer') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.sessionIssuer.type'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.principalId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.arn'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.accountId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.userName')) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR))),json_extract_scalar(u,'$.sessionContext.ec2RoleDelivery'),IF(json_extract(u,'$.sessionContext.webIdFederationData') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.webIdFederationData.federatedProvider'),TRY_CAST(json_extract(u,'$.sessionContext.webIdFederationData.attributes') AS MAP(VARCHAR,VARCHAR))) AS ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR)))))) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,invokedby VARCHAR,accesskeyid VARCHAR,username VARCHAR,onbehalfof ROW(userid VARCHAR,identitystorearn VARCHAR),sessioncontext ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS useridentity,date_format(eventtime,'%Y-%m-%dT%H:%i:%sZ') AS eventtime,eventsource,eventname,awsregion,sourceipaddress,useragent,errorcode,errormessage,NULLIF(json_format(json_extract(j,'$.requestParameters')),'null') AS requestparameters,NULLIF(json_format(json_extract(j,'$.responseElements')),'null') AS responseelements,NULLIF(json_format(json_extract(j,'$.additionalEventData')),'null') AS additionaleventdata,requestid,eventid,CAST(readonly AS VARCHAR) AS readonly,transform(CAST(json_extract(j,'$.resources') AS ARRAY(JSON)),r->CAST(ROW(json_extract_scalar(r,'$.ARN'),json_extract_scalar(r,'$.accountId'),json_extract_scalar(r,'$.type')) AS ROW(arn VARCHAR,accountid VARCHAR,type VARCHAR))) AS resources,eventtype,apiversion,recipientaccountid,NULLIF(json_format(json_extract(j,'$.serviceEventDetails')),'null') AS serviceeventdetails,sharedeventid,vpcendpointid,json_extract_scalar(j,'$.vpcEndpointAccountId') AS vpcendpointaccountid,eventcategory,IF(json_extract(j,'$.addendum') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.addendum.reason'),json_extract_scalar(j,'$.addendum.updatedFields'),json_extract_scalar(j,'$.addendum.originalRequestID'),json_extract_scalar(j,'$.addendum.originalEventID')) AS ROW(reason VARCHAR,updatedfields VARCHAR,originalrequestid VARCHAR,originaleventid VARCHAR))) AS addendum,CAST(sessioncredentialfromconsole AS VARCHAR) AS sessioncredentialfromconsole,NULLIF(json_format(json_extract(j,'$.edgeDeviceDetails')),'null') AS edgedevicedetails,IF(json_extract(j,'$.tlsDetails') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.tlsDetails.tlsVersion'),json_extract_scalar(j,'$.tlsDetails.cipherSuite'),json_extract_scalar(j,'$.tlsDetails.clientProvidedHostHeader')) AS ROW(tlsversion VARCHAR,ciphersuite VARCHAR,clientprovidedhostheader VARCHAR))) AS tlsdetails,recipientaccountid AS account_partition,awsregion AS region_partition,date_format(eventtime,'%Y/%m/%d') AS date_partition FROM (SELECT *,eventjson AS j,json_extract(eventjson,'$.userIdentity') AS u FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE WHERE eventtime >= TIMESTAMP '2026-10-21 23:00:00' AND eventtime < TIMESTAMP '2026-10-29 00:00:00')) WHERE eventtime >= '2026-10-21T23:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
commands AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        json_extract_scalar(requestparameters, '$.documentName') AS document,
        regexp_extract_all(coalesce(json_format(json_extract(requestparameters, '$.instanceIds')),
                                    json_extract_scalar(requestparameters, '$.target'), ''), 'i-[0-9a-zA-Z]+') AS instances,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / (60 * 60)) AS bucket,
        floor(to_unixtime(from_iso8601_timestamp(eventtime)) / (60 * 60) + 0.5) AS shifted
    FROM events
    WHERE eventsource = 'ssm.amazonaws.com'
      AND eventname IN ('SendCommand', 'StartSession')
      AND useridentity.invokedby IS NULL
),
cells AS (
    SELECT eventid, recipientaccountid, principal_arn, instances, 0 AS grid, bucket AS cell FROM commands
    UNION ALL
    SELECT eventid, recipientaccountid, principal_arn, instances, 1 AS grid, shifted AS cell FROM commands
),
reached AS (
    SELECT c.eventid, c.recipientaccountid, c.principal_arn, c.grid, c.cell, instance_id
    FROM cells c
    CROSS JOIN UNNEST(c.instances) AS t(instance_id)
),
spread AS (
    SELECT recipientaccountid, principal_arn, grid, cell, count(DISTINCT instance_id) AS instances_reached,
           array_sort(array_agg(DISTINCT instance_id)) AS instance_ids
    FROM reached
    GROUP BY recipientaccountid, principal_arn, grid, cell
    HAVING count(DISTINCT instance_id) >= 3
),
chosen AS (
    SELECT eventid, burst
    FROM (
        SELECT c.eventid, 2 * c.cell + c.grid AS burst,
               row_number() OVER (PARTITION BY c.eventid
                                  ORDER BY s.instances_reached DESC, 2 * c.cell + c.grid) AS pick
        FROM cells c
        JOIN spread s ON s.recipientaccountid = c.recipientaccountid AND s.principal_arn = c.principal_arn
            AND s.grid = c.grid AND s.cell = c.cell
    ) ranked
    WHERE pick = 1
)
SELECT
    'ssm_command_many_instances' AS detection,
    CASE WHEN count_if(eventname = 'SendCommand' AND document IN ('AWS-RunShellScript', 'AWS-RunPowerShellScript')) > 0
         THEN 'high' ELSE 'medium' END AS severity,
    min(c.eventtime) AS first_seen,
    max(c.eventtime) AS last_seen,
    c.recipientaccountid AS account_id,
    min(c.awsregion) AS region,
    c.principal_arn,
    min(c.access_key_id) AS access_key_id,
    min(c.sourceipaddress) AS source_ip,
    min(c.useragent) AS user_agent,
    array_sort(array_agg(DISTINCT c.eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(c.eventid ORDER BY c.eventtime), 1, 1000) AS event_ids,
    ARRAY['T1651', 'T1021.007'] AS mitre,
    min(s.instances_reached) AS instances_reached,
    min(s.instance_ids) AS instance_ids
FROM commands c
JOIN chosen k ON k.eventid = c.eventid
JOIN spread s ON s.recipientaccountid = c.recipientaccountid AND s.principal_arn = c.principal_arn
    AND 2 * s.cell + s.grid = k.burst
GROUP BY c.recipientaccountid, c.principal_arn, k.burst
ORDER BY first_seen
