WITH events AS (
    SELECT * FROM "awsdatacatalog"."default"."cloudtrail" WHERE date_partition BETWEEN '2026/10/08' AND '2026/10/29' AND eventtime >= '2026-10-08T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
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
