-- name: dns_query_logging_deleted
-- title: Route 53 Resolver query logging deleted or detached
-- kind: detection
-- description: >
--   DeleteResolverQueryLogConfig or DisassociateResolverQueryLogConfig: DNS query logs stop, hiding
--   exfiltration and command-and-control lookups (Stratus dns-delete-logs; Elastic
--   defense_evasion_route53_dns_query_resolver_config_deletion). Failed attempts are reported too:
--   a finding whose calls all failed is medium.
-- severity: high
-- mitre: [T1562.008]
-- engines: [local, athena, lake]
-- tags: [guardrails, key_hunt]
-- parameters:
--   start: {type: timestamp, description: Window start in UTC (inclusive)}
--   end: {type: timestamp, description: Window end in UTC (exclusive)}
-- references:
--   - https://stratus-red-team.cloud/attack-techniques/AWS/aws.defense-evasion.dns-delete-logs/
-- remediation:
--   text: >
--     Recreate the Resolver query logging configuration and associate it with the affected VPCs again,
--     after asking the network owner whether the removal was planned. Lookups made while logging was
--     off are lost; check VPC flow logs and GuardDuty findings for that period.
--   docs: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-query-logs.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
hits AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        errorcode, requestparameters, responseelements,
        {{ actor_arn }} AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        useridentity.username AS actor_name
    FROM events
    WHERE eventsource = 'route53resolver.amazonaws.com'
      AND eventname IN ('DeleteResolverQueryLogConfig', 'DisassociateResolverQueryLogConfig')
)
SELECT
    {{ detection }} AS detection,
    CASE WHEN count_if(errorcode IS NULL) = 0 THEN 'medium' ELSE {{ severity }} END AS severity,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    recipientaccountid AS account_id,
    awsregion AS region,
    principal_arn AS principal_arn,
    min(access_key_id) AS access_key_id,
    sourceipaddress AS source_ip,
    min(useragent) AS user_agent,
    array_sort(array_agg(DISTINCT eventname)) AS event_names,
    count(*) AS event_count,
    slice(array_agg(eventid ORDER BY eventtime), 1, {{ max_event_ids }}) AS event_ids,
    {{ mitre }} AS mitre,
    count_if(errorcode IS NULL) AS succeeded
FROM hits
GROUP BY recipientaccountid, awsregion, principal_arn, sourceipaddress
ORDER BY first_seen
