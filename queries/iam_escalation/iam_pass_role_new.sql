-- name: iam_pass_role_new
-- title: A principal passes a role to a service for the first time (iam:PassRole)
-- kind: detection
-- description: >
--   iam:PassRole is not logged as an event of its own; it shows in the calls that hand a role to a
--   service: RunInstances / AssociateIamInstanceProfile (instance profile), Lambda CreateFunction /
--   UpdateFunctionConfiguration (role), CloudFormation CreateStack / UpdateStack (roleARN), Glue,
--   SageMaker (notebook instances, training and processing jobs, pipelines: RoleArn), ECS, CodeBuild,
--   and Elastic Transcoder CreatePipeline / UpdatePipeline (Role). A call made by a principal itself
--   (not invoked by an AWS service) counts as passing a role when it is one of these calls and its
--   request names a role or instance profile, or when it was denied for iam:PassRole (the role read
--   from the error message). Data Pipeline is not read: its CreatePipeline takes no role, and its
--   roles are fields of PutPipelineDefinition's pipeline objects. Passing a powerful role to new
--   compute is the most common IAM privilege escalation. Reported when the (principal, role) pair
--   was not seen between baseline_start and start, and always when a call was denied for
--   iam:PassRole. A finding with a call denied for iam:PassRole is high; a new pair alone, medium.
-- severity: medium
-- mitre: [T1098, T1548]
-- engines: [local, athena, lake]
-- tags: [iam_escalation, key_hunt]
-- parameters:
--   baseline_start: {type: timestamp, default: start - 14d, description: Start of the trailing baseline (UTC); the baseline ends at start}
--   start: {type: timestamp, description: Detection window start in UTC (inclusive)}
--   end: {type: timestamp, description: Detection window end in UTC (exclusive)}
-- window: [baseline_start, end]
-- references:
--   - https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
--   - https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/
-- remediation:
--   text: >
--     Check which role was passed to which resource and whether the caller should use it. If not,
--     snapshot and then stop or delete the new compute, revoke the role's sessions, and scope
--     iam:PassRole to specific role ARNs with the iam:PassedToService condition.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
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
        from_iso8601_timestamp(eventtime) >= {{ start }} AS in_window
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
    {{ detection }} AS detection,
    CASE WHEN bool_or(denied_pass) THEN 'high' ELSE {{ severity }} END AS severity,
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
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    passed_role,
    bool_or(denied_pass) AS denied_pass
FROM novel
GROUP BY recipientaccountid, actor, passed_role
ORDER BY first_seen
