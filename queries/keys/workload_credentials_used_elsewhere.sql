-- name: workload_credentials_used_elsewhere
-- title: Workload credentials (Lambda, ECS task, EC2 instance, service role) used outside their runtime
-- kind: detection
-- description: >
--   The temporary credentials of a workload - a Lambda function, an ECS task, an EC2 instance, CodeBuild
--   or any role session an AWS service created - taken from the runtime (environment variables, the
--   metadata or container-credentials endpoint, an error page) and used from the attacker's machine.
--   Decided from the window alone, with no baseline, because an incident folder often holds one
--   afternoon. A session key (ASIA...) is a workload's when its AssumedRole session is named after an
--   instance (i-...) or carries ec2RoleDelivery; when any of its calls carries the runtime's user-agent
--   marker exec-env/AWS_... (the SDKs append AWS_EXECUTION_ENV, which Lambda sets to AWS_Lambda_<runtime>
--   and ECS to AWS_ECS_FARGATE or AWS_ECS_EC2; a workstation's user agent with the marker is a thief who
--   exported the runtime's whole environment, not the runtime); or when an AWS service's own AssumeRole in the window
--   (userIdentity AWSService, e.g. lambda, ecs-tasks, ec2, codebuild) returned that key. The runtime's
--   networks are the IPv4 /16s of the session's calls that carry its exec-env marker or, without any,
--   the /16 of the session's first public call that is not itself suspect. A call without the marker,
--   from a public address (private addresses are VPC endpoints, inside the runtime), is outside the
--   runtime when it has a workstation user agent (desktop_user_agents); comes from an address IAM users
--   or root also used in the window; comes from an IPv4 /16 the runtime did not use; or, for Lambda and
--   ECS (whose SDKs and CLI carry exec-env), is the AWS CLI (cli_user_agents). One finding per session
--   key; event_ids lead with the outside calls, then the runtime's own calls as context. Generalises
--   instance_credentials_outside_aws (EC2 only), which is kept. A Lambda's calls from several AWS
--   address pools carry its marker and stay inside; a workload that makes unmarked calls from a second
--   /16 (no exec-env, several NAT exits) would be reported. runtime is ec2 (an instance session),
--   lambda or ecs (the exec-env marker), else the AWS service whose AssumeRole issued the key (e.g.
--   codebuild). reasons names why, in this order, joined by '; ': workstation user agent, IP also
--   used by IAM users or root, network the runtime does not use, AWS CLI without exec-env.
-- severity: high
-- mitre: [T1552.005, T1078.004, T1550.001]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
--   desktop_user_agents: {type: string, default: 'darwin/|macintosh|mac os x|os/macos|mozilla/|kali|parrot', description: Regular expression over the lower-cased user agent that marks a workstation}
--   cli_user_agents: {type: string, default: '^\[?aws-cli/', description: Regular expression over the lower-cased user agent of the AWS CLI; Lambda and ECS runtimes carry exec-env when they run it}
-- columns:
--   runtime: string
--   runtime_networks: list[string]
--   runtime_agents: list[string]
--   outside_count: int
--   outside_event_ids: list[string]
--   reasons: string
-- references:
--   - https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
--   - https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html (AWS_EXECUTION_ENV, AWS_Lambda_ prefix)
--   - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-environment-variables.html (AWS_ECS_FARGATE, AWS_ECS_EC2)
--   - https://github.com/aws/aws-sdk-go/blob/v1.53.6/aws/corehandlers/user_agent.go (exec-env/ from AWS_EXECUTION_ENV)
--   - https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html
--   - https://github.com/panther-labs/panther-analysis (aws_imds_credential_exfiltration)
-- remediation:
--   text: >
--     Revoke the workload role's active sessions (the runtime fetches new credentials by itself) and
--     find how they leaked: SSRF to the metadata or container-credentials endpoint, environment
--     variables in logs or error pages, a compromised dependency. Tell the workload's owner before
--     stopping it, and review the calls made from outside the runtime.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
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
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        regexp_extract(useragent, 'exec-env/(AWS_[A-Za-z0-9_.-]+)', 1) AS marker,
        regexp_like(lower(coalesce(useragent, '')), {{ desktop_user_agents }}) AS desktop,
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
           (m.unmarked AND w.runtime IN ('lambda', 'ecs') AND regexp_like(lower(m.useragent), {{ cli_user_agents }})) AS r_cli
    FROM marked m
    JOIN workload w ON w.recipientaccountid = m.recipientaccountid AND w.access_key_id = m.access_key_id
),
flagged AS (
    SELECT *, coalesce(r_desktop OR r_person OR r_network OR r_cli, false) AS outside FROM judged
)
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
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
    slice(array_agg(eventid ORDER BY outside DESC, eventtime, eventid), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
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
