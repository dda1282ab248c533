WITH events AS (
    SELECT * FROM (SELECT eventversion,CAST(ROW(json_extract_scalar(u,'$.type'),json_extract_scalar(u,'$.principalId'),json_extract_scalar(u,'$.arn'),json_extract_scalar(u,'$.accountId'),json_extract_scalar(u,'$.invokedBy'),json_extract_scalar(u,'$.accessKeyId'),json_extract_scalar(u,'$.userName'),IF(json_extract(u,'$.onBehalfOf') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.onBehalfOf.userId'),json_extract_scalar(u,'$.onBehalfOf.identityStoreArn')) AS ROW(userid VARCHAR,identitystorearn VARCHAR))),IF(json_extract(u,'$.sessionContext') IS NULL,NULL,CAST(ROW(IF(json_extract(u,'$.sessionContext.attributes') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.attributes.mfaAuthenticated'),json_extract_scalar(u,'$.sessionContext.attributes.creationDate')) AS ROW(mfaauthenticated VARCHAR,creationdate VARCHAR))),IF(json_extract(u,'$.sessionContext.sessionIssuer') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.sessionIssuer.type'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.principalId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.arn'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.accountId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.userName')) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR))),json_extract_scalar(u,'$.sessionContext.ec2RoleDelivery'),IF(json_extract(u,'$.sessionContext.webIdFederationData') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.webIdFederationData.federatedProvider'),TRY_CAST(json_extract(u,'$.sessionContext.webIdFederationData.attributes') AS MAP(VARCHAR,VARCHAR))) AS ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR)))))) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,invokedby VARCHAR,accesskeyid VARCHAR,username VARCHAR,onbehalfof ROW(userid VARCHAR,identitystorearn VARCHAR),sessioncontext ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS useridentity,date_format(eventtime,'%Y-%m-%dT%H:%i:%sZ') AS eventtime,eventsource,eventname,awsregion,sourceipaddress,useragent,errorcode,errormessage,NULLIF(json_format(json_extract(j,'$.requestParameters')),'null') AS requestparameters,NULLIF(json_format(json_extract(j,'$.responseElements')),'null') AS responseelements,NULLIF(json_format(json_extract(j,'$.additionalEventData')),'null') AS additionaleventdata,requestid,eventid,CAST(readonly AS VARCHAR) AS readonly,transform(CAST(json_extract(j,'$.resources') AS ARRAY(JSON)),r->CAST(ROW(json_extract_scalar(r,'$.ARN'),json_extract_scalar(r,'$.accountId'),json_extract_scalar(r,'$.type')) AS ROW(arn VARCHAR,accountid VARCHAR,type VARCHAR))) AS resources,eventtype,apiversion,recipientaccountid,NULLIF(json_format(json_extract(j,'$.serviceEventDetails')),'null') AS serviceeventdetails,sharedeventid,vpcendpointid,json_extract_scalar(j,'$.vpcEndpointAccountId') AS vpcendpointaccountid,eventcategory,IF(json_extract(j,'$.addendum') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.addendum.reason'),json_extract_scalar(j,'$.addendum.updatedFields'),json_extract_scalar(j,'$.addendum.originalRequestID'),json_extract_scalar(j,'$.addendum.originalEventID')) AS ROW(reason VARCHAR,updatedfields VARCHAR,originalrequestid VARCHAR,originaleventid VARCHAR))) AS addendum,CAST(sessioncredentialfromconsole AS VARCHAR) AS sessioncredentialfromconsole,NULLIF(json_format(json_extract(j,'$.edgeDeviceDetails')),'null') AS edgedevicedetails,IF(json_extract(j,'$.tlsDetails') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.tlsDetails.tlsVersion'),json_extract_scalar(j,'$.tlsDetails.cipherSuite'),json_extract_scalar(j,'$.tlsDetails.clientProvidedHostHeader')) AS ROW(tlsversion VARCHAR,ciphersuite VARCHAR,clientprovidedhostheader VARCHAR))) AS tlsdetails,recipientaccountid AS account_partition,awsregion AS region_partition,date_format(eventtime,'%Y/%m/%d') AS date_partition FROM (SELECT *,eventjson AS j,json_extract(eventjson,'$.userIdentity') AS u FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE WHERE eventtime >= TIMESTAMP '2026-10-21 00:00:00' AND eventtime < TIMESTAMP '2026-10-29 00:00:00')) WHERE eventtime >= '2026-10-21T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
calls AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.type AS identity_type,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        (useridentity.type = 'AssumedRole'
         AND (regexp_like(coalesce(useridentity.arn, ''), '/i-[0-9a-zA-Z]{8,17}$')
              OR useridentity.sessioncontext.ec2roledelivery IS NOT NULL)) AS instance_session,
        coalesce(contains('10.0.0.0/8', TRY_CAST(sourceipaddress AS IPADDRESS))
                 OR contains('172.16.0.0/12', TRY_CAST(sourceipaddress AS IPADDRESS))
                 OR contains('192.168.0.0/16', TRY_CAST(sourceipaddress AS IPADDRESS)), false) AS private_ip
    FROM events
    WHERE useridentity.invokedby IS NULL
      AND sourceipaddress IS NOT NULL
      AND sourceipaddress NOT LIKE '%amazonaws.com'
      AND sourceipaddress <> 'AWS Internal'
),
person_ips AS (
    SELECT DISTINCT sourceipaddress FROM calls WHERE identity_type IN ('IAMUser', 'Root')
),
instance_calls AS (
    SELECT c.*,
           regexp_like(lower(coalesce(c.useragent, '')), 'darwin/|macintosh|mac os x|os/macos|mozilla/|kali|parrot') AS desktop_agent,
           p.sourceipaddress IS NOT NULL AS person_ip
    FROM calls c
    LEFT JOIN person_ips p ON p.sourceipaddress = c.sourceipaddress
    WHERE c.instance_session AND eventsource NOT IN ('ssm.amazonaws.com', 'ec2messages.amazonaws.com', 'ssmmessages.amazonaws.com')
),
per_session AS (
    SELECT
        access_key_id,
        bool_or(desktop_agent) AS desktop_agent,
        bool_or(person_ip) AS person_ip,
        count(DISTINCT sourceipaddress) FILTER (WHERE NOT private_ip) AS public_ips
    FROM instance_calls
    GROUP BY access_key_id
),
flagged AS (
    SELECT i.*, s.public_ips,
           s.desktop_agent AS session_desktop_agent, s.person_ip AS session_person_ip
    FROM instance_calls i
    JOIN per_session s ON s.access_key_id = i.access_key_id
    WHERE s.desktop_agent OR s.person_ip OR s.public_ips >= 2
)
SELECT
    'instance_credentials_outside_aws' AS detection,
    'high' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    principal_arn,
    access_key_id,
    array_join(array_sort(array_agg(DISTINCT sourceipaddress)), ', ') AS source_ip,
    min(useragent) FILTER (WHERE desktop_agent OR person_ip) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1552.005', 'T1078.004'] AS mitre,
    array_join(ARRAY[
        CASE WHEN bool_or(session_desktop_agent) THEN 'workstation user agent' END,
        CASE WHEN bool_or(session_person_ip) THEN 'source IP also used by IAM users or root' END,
        CASE WHEN max(public_ips) >= 2 THEN 'several public source IPs' END
    ], '; ') AS reasons
FROM flagged
GROUP BY recipientaccountid, principal_arn, access_key_id
ORDER BY first_seen
