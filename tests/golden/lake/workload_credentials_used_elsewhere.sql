WITH events AS (
    SELECT * FROM (SELECT eventversion,CAST(ROW(json_extract_scalar(u,'$.type'),json_extract_scalar(u,'$.principalId'),json_extract_scalar(u,'$.arn'),json_extract_scalar(u,'$.accountId'),json_extract_scalar(u,'$.invokedBy'),json_extract_scalar(u,'$.accessKeyId'),json_extract_scalar(u,'$.userName'),IF(json_extract(u,'$.onBehalfOf') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.onBehalfOf.userId'),json_extract_scalar(u,'$.onBehalfOf.identityStoreArn')) AS ROW(userid VARCHAR,identitystorearn VARCHAR))),IF(json_extract(u,'$.sessionContext') IS NULL,NULL,CAST(ROW(IF(json_extract(u,'$.sessionContext.attributes') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.attributes.mfaAuthenticated'),json_extract_scalar(u,'$.sessionContext.attributes.creationDate')) AS ROW(mfaauthenticated VARCHAR,creationdate VARCHAR))),IF(json_extract(u,'$.sessionContext.sessionIssuer') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.sessionIssuer.type'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.principalId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.arn'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.accountId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.userName')) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR))),json_extract_scalar(u,'$.sessionContext.ec2RoleDelivery'),IF(json_extract(u,'$.sessionContext.webIdFederationData') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.webIdFederationData.federatedProvider'),TRY_CAST(json_extract(u,'$.sessionContext.webIdFederationData.attributes') AS MAP(VARCHAR,VARCHAR))) AS ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR)))))) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,invokedby VARCHAR,accesskeyid VARCHAR,username VARCHAR,onbehalfof ROW(userid VARCHAR,identitystorearn VARCHAR),sessioncontext ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS useridentity,date_format(eventtime,'%Y-%m-%dT%H:%i:%sZ') AS eventtime,eventsource,eventname,awsregion,sourceipaddress,useragent,errorcode,errormessage,NULLIF(json_format(json_extract(j,'$.requestParameters')),'null') AS requestparameters,NULLIF(json_format(json_extract(j,'$.responseElements')),'null') AS responseelements,NULLIF(json_format(json_extract(j,'$.additionalEventData')),'null') AS additionaleventdata,requestid,eventid,CAST(readonly AS VARCHAR) AS readonly,transform(CAST(json_extract(j,'$.resources') AS ARRAY(JSON)),r->CAST(ROW(json_extract_scalar(r,'$.ARN'),json_extract_scalar(r,'$.accountId'),json_extract_scalar(r,'$.type')) AS ROW(arn VARCHAR,accountid VARCHAR,type VARCHAR))) AS resources,eventtype,apiversion,recipientaccountid,NULLIF(json_format(json_extract(j,'$.serviceEventDetails')),'null') AS serviceeventdetails,sharedeventid,vpcendpointid,json_extract_scalar(j,'$.vpcEndpointAccountId') AS vpcendpointaccountid,eventcategory,IF(json_extract(j,'$.addendum') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.addendum.reason'),json_extract_scalar(j,'$.addendum.updatedFields'),json_extract_scalar(j,'$.addendum.originalRequestID'),json_extract_scalar(j,'$.addendum.originalEventID')) AS ROW(reason VARCHAR,updatedfields VARCHAR,originalrequestid VARCHAR,originaleventid VARCHAR))) AS addendum,CAST(sessioncredentialfromconsole AS VARCHAR) AS sessioncredentialfromconsole,NULLIF(json_format(json_extract(j,'$.edgeDeviceDetails')),'null') AS edgedevicedetails,IF(json_extract(j,'$.tlsDetails') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.tlsDetails.tlsVersion'),json_extract_scalar(j,'$.tlsDetails.cipherSuite'),json_extract_scalar(j,'$.tlsDetails.clientProvidedHostHeader')) AS ROW(tlsversion VARCHAR,ciphersuite VARCHAR,clientprovidedhostheader VARCHAR))) AS tlsdetails,recipientaccountid AS account_partition,awsregion AS region_partition,date_format(eventtime,'%Y/%m/%d') AS date_partition FROM (SELECT *,eventjson AS j,json_extract(eventjson,'$.userIdentity') AS u FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE WHERE eventtime >= TIMESTAMP '2026-10-22 00:00:00' AND eventtime < TIMESTAMP '2026-10-29 00:00:00')) WHERE eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
issued AS (
    SELECT json_extract_scalar(responseelements, '$.credentials.accessKeyId') AS access_key_id,
           min(regexp_extract(useridentity.invokedby, '^([a-z0-9-]+)\.amazonaws\.com$', 1)) AS service
    FROM events
    WHERE eventname = 'AssumeRole' AND eventsource = 'sts.amazonaws.com' AND errorcode IS NULL
      AND useridentity.type = 'AWSService'
    GROUP BY 1
),
person_ips AS (
    SELECT DISTINCT sourceipaddress FROM events
    WHERE useridentity.type IN ('IAMUser', 'Root') AND useridentity.invokedby IS NULL
),
calls AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent,
        coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, useridentity.invokedby) AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        regexp_extract(useragent, 'exec-env/(AWS_[A-Za-z0-9_.-]+)', 1) AS marker,
        regexp_like(lower(coalesce(useragent, '')), 'darwin/|macintosh|mac os x|os/macos|mozilla/|kali|parrot') AS desktop,
        (regexp_like(useridentity.arn, '/i-[0-9a-zA-Z]{8,17}$')
         OR useridentity.sessioncontext.ec2roledelivery IS NOT NULL) AS instance_session,
        regexp_extract(sourceipaddress, '^(\d{1,3}\.\d{1,3})\.\d{1,3}\.\d{1,3}$', 1) AS network,
        regexp_like(sourceipaddress, '^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|[fF][cdCD])') AS private_ip
    FROM events
    WHERE useridentity.type = 'AssumedRole' AND useridentity.accesskeyid LIKE 'ASIA%'
      AND useridentity.invokedby IS NULL
      AND regexp_like(sourceipaddress, '^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F.]*:[0-9a-fA-F:.]*)$')
),
marked AS (
    SELECT c.*, p.sourceipaddress IS NOT NULL AS person_ip,
           IF(c.desktop, NULL, c.marker) AS exec_env,
           ((c.marker IS NULL OR c.desktop) AND NOT c.private_ip) AS unmarked
    FROM calls c
    LEFT JOIN person_ips p ON p.sourceipaddress = c.sourceipaddress
),
sessions AS (
    SELECT m.recipientaccountid, m.access_key_id,
        coalesce(
            CASE WHEN bool_or(m.instance_session) THEN 'ec2' END,
            CASE WHEN bool_or(m.marker LIKE 'AWS_Lambda%') THEN 'lambda' END,
            CASE WHEN bool_or(m.marker LIKE 'AWS_ECS%') THEN 'ecs' END,
            max(replace(i.service, 'ecs-tasks', 'ecs'))) AS runtime,
        array_agg(DISTINCT m.network) FILTER (WHERE m.exec_env IS NOT NULL AND NOT m.private_ip) AS agent_nets,
        min_by(m.network, m.eventtime) FILTER (WHERE m.unmarked AND NOT m.desktop AND NOT m.person_ip) AS first_net
    FROM marked m
    LEFT JOIN issued i ON i.access_key_id = m.access_key_id
    GROUP BY m.recipientaccountid, m.access_key_id
),
workload AS (
    SELECT recipientaccountid, access_key_id, runtime,
           filter(coalesce(agent_nets, ARRAY[first_net]), x -> x IS NOT NULL) AS runtime_networks
    FROM sessions
    WHERE runtime IS NOT NULL
),
judged AS (
    SELECT m.*, w.runtime, w.runtime_networks,
           (m.unmarked AND m.desktop) AS r_desktop,
           (m.unmarked AND m.person_ip) AS r_person,
           (m.unmarked AND cardinality(w.runtime_networks) > 0 AND NOT contains(w.runtime_networks, m.network)) AS r_network,
           (m.unmarked AND w.runtime IN ('lambda', 'ecs') AND regexp_like(lower(m.useragent), '^\[?aws-cli/')) AS r_cli
    FROM marked m
    JOIN workload w ON w.recipientaccountid = m.recipientaccountid AND w.access_key_id = m.access_key_id
),
flagged AS (
    SELECT *, coalesce(r_desktop OR r_person OR r_network OR r_cli, false) AS outside FROM judged
)
SELECT
    'workload_credentials_used_elsewhere' AS detection,
    'high' AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) FILTER (WHERE outside) AS region,
    min(principal_arn) AS principal_arn,
    access_key_id,
    array_join(array_sort(array_agg(DISTINCT sourceipaddress) FILTER (WHERE outside)), ', ') AS source_ip,
    min(useragent) FILTER (WHERE outside) AS user_agent,
    array_sort(array_agg(DISTINCT eventname) FILTER (WHERE outside)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY outside DESC, eventtime, eventid), 1, 1000) AS event_ids,
    ARRAY['T1552.005', 'T1078.004', 'T1550.001'] AS mitre,
    min(runtime) AS runtime,
    array_sort(min(runtime_networks)) AS runtime_networks,
    array_sort(array_agg(DISTINCT exec_env) FILTER (WHERE exec_env IS NOT NULL)) AS runtime_agents,
    count(*) FILTER (WHERE outside) AS outside_count,
    array_agg(eventid ORDER BY eventtime, eventid) FILTER (WHERE outside) AS outside_event_ids,
    array_join(ARRAY[
        CASE WHEN bool_or(r_desktop) THEN 'workstation user agent' END,
        CASE WHEN bool_or(r_person) THEN 'IP also used by IAM users or root' END,
        CASE WHEN bool_or(r_network) THEN 'network the runtime does not use' END,
        CASE WHEN bool_or(r_cli) THEN 'AWS CLI without exec-env' END
    ], '; ') AS reasons
FROM flagged
GROUP BY recipientaccountid, access_key_id
HAVING bool_or(outside)
ORDER BY first_seen
