WITH events AS (
    SELECT * FROM cloudtrail WHERE date_partition BETWEEN '2026/10/21' AND '2026/10/29' AND eventtime >= '2026-10-21T23:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'
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
