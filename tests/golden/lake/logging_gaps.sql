WITH events AS (
    SELECT eventtime, recipientaccountid, awsregion FROM (SELECT eventversion,CAST(ROW(json_extract_scalar(u,'$.type'),json_extract_scalar(u,'$.principalId'),json_extract_scalar(u,'$.arn'),json_extract_scalar(u,'$.accountId'),json_extract_scalar(u,'$.invokedBy'),json_extract_scalar(u,'$.accessKeyId'),json_extract_scalar(u,'$.userName'),IF(json_extract(u,'$.onBehalfOf') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.onBehalfOf.userId'),json_extract_scalar(u,'$.onBehalfOf.identityStoreArn')) AS ROW(userid VARCHAR,identitystorearn VARCHAR))),IF(json_extract(u,'$.sessionContext') IS NULL,NULL,CAST(ROW(IF(json_extract(u,'$.sessionContext.attributes') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.attributes.mfaAuthenticated'),json_extract_scalar(u,'$.sessionContext.attributes.creationDate')) AS ROW(mfaauthenticated VARCHAR,creationdate VARCHAR))),IF(json_extract(u,'$.sessionContext.sessionIssuer') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.sessionIssuer.type'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.principalId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.arn'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.accountId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.userName')) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR))),json_extract_scalar(u,'$.sessionContext.ec2RoleDelivery'),IF(json_extract(u,'$.sessionContext.webIdFederationData') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.webIdFederationData.federatedProvider'),TRY_CAST(json_extract(u,'$.sessionContext.webIdFederationData.attributes') AS MAP(VARCHAR,VARCHAR))) AS ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR)))))) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,invokedby VARCHAR,accesskeyid VARCHAR,username VARCHAR,onbehalfof ROW(userid VARCHAR,identitystorearn VARCHAR),sessioncontext ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS useridentity,date_format(eventtime,'%Y-%m-%dT%H:%i:%sZ') AS eventtime,eventsource,eventname,awsregion,sourceipaddress,useragent,errorcode,errormessage,NULLIF(json_format(json_extract(j,'$.requestParameters')),'null') AS requestparameters,NULLIF(json_format(json_extract(j,'$.responseElements')),'null') AS responseelements,NULLIF(json_format(json_extract(j,'$.additionalEventData')),'null') AS additionaleventdata,requestid,eventid,CAST(readonly AS VARCHAR) AS readonly,transform(CAST(json_extract(j,'$.resources') AS ARRAY(JSON)),r->CAST(ROW(json_extract_scalar(r,'$.ARN'),json_extract_scalar(r,'$.accountId'),json_extract_scalar(r,'$.type')) AS ROW(arn VARCHAR,accountid VARCHAR,type VARCHAR))) AS resources,eventtype,apiversion,recipientaccountid,NULLIF(json_format(json_extract(j,'$.serviceEventDetails')),'null') AS serviceeventdetails,sharedeventid,vpcendpointid,json_extract_scalar(j,'$.vpcEndpointAccountId') AS vpcendpointaccountid,eventcategory,IF(json_extract(j,'$.addendum') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.addendum.reason'),json_extract_scalar(j,'$.addendum.updatedFields'),json_extract_scalar(j,'$.addendum.originalRequestID'),json_extract_scalar(j,'$.addendum.originalEventID')) AS ROW(reason VARCHAR,updatedfields VARCHAR,originalrequestid VARCHAR,originaleventid VARCHAR))) AS addendum,CAST(sessioncredentialfromconsole AS VARCHAR) AS sessioncredentialfromconsole,NULLIF(json_format(json_extract(j,'$.edgeDeviceDetails')),'null') AS edgedevicedetails,IF(json_extract(j,'$.tlsDetails') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.tlsDetails.tlsVersion'),json_extract_scalar(j,'$.tlsDetails.cipherSuite'),json_extract_scalar(j,'$.tlsDetails.clientProvidedHostHeader')) AS ROW(tlsversion VARCHAR,ciphersuite VARCHAR,clientprovidedhostheader VARCHAR))) AS tlsdetails,recipientaccountid AS account_partition,awsregion AS region_partition,date_format(eventtime,'%Y/%m/%d') AS date_partition FROM (SELECT *,eventjson AS j,json_extract(eventjson,'$.userIdentity') AS u FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE WHERE eventtime >= TIMESTAMP '2026-10-22 00:00:00' AND eventtime < TIMESTAMP '2026-10-29 00:00:00')) WHERE eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
bounds AS (
    SELECT
        CAST(floor(to_unixtime(TIMESTAMP '2026-10-22 00:00:00') / 3600) AS bigint) AS first_hour,
        CAST(ceil(to_unixtime(TIMESTAMP '2026-10-29 00:00:00') / 3600) AS bigint) AS end_hour
),
hours AS (
    SELECT
        recipientaccountid AS account_id,
        awsregion AS region,
        CAST(floor(to_unixtime(from_iso8601_timestamp(eventtime)) / 3600) AS bigint) AS hour,
        min(eventtime) AS first_event,
        max(eventtime) AS last_event
    FROM events
    GROUP BY 1, 2, 3
),
pairs AS (
    SELECT account_id, region, count(*) AS active_hours
    FROM hours
    GROUP BY account_id, region
),
-- Each pair's active hours, plus a mark just before the window and one at its end, so the
-- hours before the first event and after the last one count as gaps too.
marks AS (
    SELECT account_id, region, hour, first_event, last_event FROM hours
    UNION ALL
    SELECT p.account_id, p.region, b.first_hour - 1, NULL, NULL FROM pairs p CROSS JOIN bounds b
    UNION ALL
    SELECT p.account_id, p.region, b.end_hour, NULL, NULL FROM pairs p CROSS JOIN bounds b
),
runs AS (
    SELECT
        account_id, region, hour, last_event,
        lead(hour) OVER (PARTITION BY account_id, region ORDER BY hour) AS next_hour,
        lead(first_event) OVER (PARTITION BY account_id, region ORDER BY hour) AS next_event
    FROM marks
)
SELECT
    r.account_id,
    r.region,
    to_iso8601(from_unixtime((r.hour + 1) * 3600)) AS gap_start,
    to_iso8601(from_unixtime(r.next_hour * 3600)) AS gap_end,
    r.next_hour - r.hour - 1 AS gap_hours,
    r.last_event AS last_event_before,
    r.next_event AS first_event_after,
    p.active_hours,
    b.end_hour - b.first_hour AS window_hours
FROM runs r
JOIN pairs p ON p.account_id = r.account_id AND p.region = r.region
CROSS JOIN bounds b
WHERE r.next_hour - r.hour - 1 >= 1
  AND p.active_hours >= 0.8 * (b.end_hour - b.first_hour)
ORDER BY r.account_id, r.region, r.hour
