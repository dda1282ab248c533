WITH events AS (
    SELECT * FROM (SELECT eventversion,CAST(ROW(json_extract_scalar(u,'$.type'),json_extract_scalar(u,'$.principalId'),json_extract_scalar(u,'$.arn'),json_extract_scalar(u,'$.accountId'),json_extract_scalar(u,'$.invokedBy'),json_extract_scalar(u,'$.accessKeyId'),json_extract_scalar(u,'$.userName'),IF(json_extract(u,'$.onBehalfOf') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.onBehalfOf.userId'),json_extract_scalar(u,'$.onBehalfOf.identityStoreArn')) AS ROW(userid VARCHAR,identitystorearn VARCHAR))),IF(json_extract(u,'$.sessionContext') IS NULL,NULL,CAST(ROW(IF(json_extract(u,'$.sessionContext.attributes') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.attributes.mfaAuthenticated'),json_extract_scalar(u,'$.sessionContext.attributes.creationDate')) AS ROW(mfaauthenticated VARCHAR,creationdate VARCHAR))),IF(json_extract(u,'$.sessionContext.sessionIssuer') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.sessionIssuer.type'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.principalId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.arn'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.accountId'),json_extract_scalar(u,'$.sessionContext.sessionIssuer.userName')) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR))),json_extract_scalar(u,'$.sessionContext.ec2RoleDelivery'),IF(json_extract(u,'$.sessionContext.webIdFederationData') IS NULL,NULL,CAST(ROW(json_extract_scalar(u,'$.sessionContext.webIdFederationData.federatedProvider'),TRY_CAST(json_extract(u,'$.sessionContext.webIdFederationData.attributes') AS MAP(VARCHAR,VARCHAR))) AS ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR)))))) AS ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,invokedby VARCHAR,accesskeyid VARCHAR,username VARCHAR,onbehalfof ROW(userid VARCHAR,identitystorearn VARCHAR),sessioncontext ROW(attributes ROW(mfaauthenticated VARCHAR,creationdate VARCHAR),sessionissuer ROW(type VARCHAR,principalid VARCHAR,arn VARCHAR,accountid VARCHAR,username VARCHAR),ec2roledelivery VARCHAR,webidfederationdata ROW(federatedprovider VARCHAR,attributes MAP(VARCHAR,VARCHAR))))) AS useridentity,date_format(eventtime,'%Y-%m-%dT%H:%i:%sZ') AS eventtime,eventsource,eventname,awsregion,sourceipaddress,useragent,errorcode,errormessage,NULLIF(json_format(json_extract(j,'$.requestParameters')),'null') AS requestparameters,NULLIF(json_format(json_extract(j,'$.responseElements')),'null') AS responseelements,NULLIF(json_format(json_extract(j,'$.additionalEventData')),'null') AS additionaleventdata,requestid,eventid,CAST(readonly AS VARCHAR) AS readonly,transform(CAST(json_extract(j,'$.resources') AS ARRAY(JSON)),r->CAST(ROW(json_extract_scalar(r,'$.ARN'),json_extract_scalar(r,'$.accountId'),json_extract_scalar(r,'$.type')) AS ROW(arn VARCHAR,accountid VARCHAR,type VARCHAR))) AS resources,eventtype,apiversion,recipientaccountid,NULLIF(json_format(json_extract(j,'$.serviceEventDetails')),'null') AS serviceeventdetails,sharedeventid,vpcendpointid,json_extract_scalar(j,'$.vpcEndpointAccountId') AS vpcendpointaccountid,eventcategory,IF(json_extract(j,'$.addendum') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.addendum.reason'),json_extract_scalar(j,'$.addendum.updatedFields'),json_extract_scalar(j,'$.addendum.originalRequestID'),json_extract_scalar(j,'$.addendum.originalEventID')) AS ROW(reason VARCHAR,updatedfields VARCHAR,originalrequestid VARCHAR,originaleventid VARCHAR))) AS addendum,CAST(sessioncredentialfromconsole AS VARCHAR) AS sessioncredentialfromconsole,NULLIF(json_format(json_extract(j,'$.edgeDeviceDetails')),'null') AS edgedevicedetails,IF(json_extract(j,'$.tlsDetails') IS NULL,NULL,CAST(ROW(json_extract_scalar(j,'$.tlsDetails.tlsVersion'),json_extract_scalar(j,'$.tlsDetails.cipherSuite'),json_extract_scalar(j,'$.tlsDetails.clientProvidedHostHeader')) AS ROW(tlsversion VARCHAR,ciphersuite VARCHAR,clientprovidedhostheader VARCHAR))) AS tlsdetails,recipientaccountid AS account_partition,awsregion AS region_partition,date_format(eventtime,'%Y/%m/%d') AS date_partition FROM (SELECT *,eventjson AS j,json_extract(eventjson,'$.userIdentity') AS u FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE WHERE eventtime >= TIMESTAMP '2026-10-08 00:00:00' AND eventtime < TIMESTAMP '2026-10-29 00:00:00')) WHERE eventtime >= '2026-10-08T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
),
passes AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent, errorcode,
        coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn) AS actor,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        coalesce(
            json_extract_scalar(requestparameters, '$.role'),
            json_extract_scalar(requestparameters, '$.roleArn'),
            json_extract_scalar(requestparameters, '$.roleARN'),
            json_extract_scalar(requestparameters, '$.RoleArn'),
            json_extract_scalar(requestparameters, '$.serviceRole'),
            json_extract_scalar(requestparameters, '$.executionRoleArn'),
            json_extract_scalar(requestparameters, '$.taskRoleArn'),
            json_extract_scalar(requestparameters, '$.iamInstanceProfile.arn'),
            json_extract_scalar(requestparameters, '$.iamInstanceProfile.name'),
            json_extract_scalar(requestparameters, '$.IamInstanceProfile.Arn'),
            json_extract_scalar(requestparameters, '$.IamInstanceProfile.Name'),
            regexp_extract(coalesce(errormessage, ''), 'iam:PassRole on resource: ([^ ]+)', 1)
        ) AS passed_role,
        coalesce(errormessage, '') LIKE '%iam:PassRole%' AS denied_pass,
        from_iso8601_timestamp(eventtime) >= TIMESTAMP '2026-10-22 00:00:00' AS in_window
    FROM events
    WHERE useridentity.invokedby IS NULL
      AND (
        (eventsource = 'ec2.amazonaws.com' AND eventname IN ('RunInstances', 'AssociateIamInstanceProfile', 'ReplaceIamInstanceProfileAssociation'))
        OR (eventsource = 'lambda.amazonaws.com' AND (eventname LIKE 'CreateFunction%' OR eventname LIKE 'UpdateFunctionConfiguration%'))
        OR (eventsource = 'cloudformation.amazonaws.com' AND eventname IN ('CreateStack', 'UpdateStack', 'CreateStackSet'))
        OR (eventsource = 'glue.amazonaws.com' AND eventname IN ('CreateDevEndpoint', 'CreateJob', 'UpdateJob', 'UpdateDevEndpoint'))
        OR (eventsource = 'sagemaker.amazonaws.com' AND eventname IN ('CreateNotebookInstance', 'CreateTrainingJob', 'CreateProcessingJob', 'CreatePipeline'))
        OR (eventsource = 'ecs.amazonaws.com' AND eventname = 'RegisterTaskDefinition')
        OR (eventsource = 'codebuild.amazonaws.com' AND eventname IN ('CreateProject', 'UpdateProject'))
        -- The API's Role field, read as `role` (CloudTrail's camelCase of request fields).
        OR (eventsource = 'elastictranscoder.amazonaws.com' AND eventname IN ('CreatePipeline', 'UpdatePipeline'))
        OR coalesce(errormessage, '') LIKE '%iam:PassRole%'
      )
),
with_role AS (
    SELECT * FROM passes WHERE passed_role IS NOT NULL AND passed_role <> ''
),
-- A window function instead of a self-join against the baseline: with the join, DuckDB 2.0 pushed
-- the role extraction below the cheap event filter and ran it on every row (10x slower).
marked AS (
    SELECT *,
        bool_or(NOT in_window AND errorcode IS NULL AND actor IS NOT NULL)
            OVER (PARTITION BY actor, passed_role) AS seen_in_baseline
    FROM with_role
),
novel AS (
    SELECT * FROM marked WHERE in_window AND (NOT seen_in_baseline OR denied_pass)
)
SELECT
    'iam_pass_role_new' AS detection,
    CASE WHEN bool_or(denied_pass) THEN 'high' ELSE 'medium' END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    min(awsregion) AS region,
    min(principal_arn) AS principal_arn,
    min(access_key_id) AS access_key_id,
    max_by(sourceipaddress, eventtime) AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, 1000) AS event_ids,
    ARRAY['T1098', 'T1548'] AS mitre,
    passed_role,
    bool_or(denied_pass) AS denied_pass
FROM novel
GROUP BY recipientaccountid, actor, passed_role
ORDER BY first_seen
