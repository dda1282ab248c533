-- name: key_new_source_network
-- title: Access key or principal used from a /24 network never seen in its baseline
-- kind: detection
-- description: >
--   First-seen against a trailing baseline: a long-term key or IAM user / root principal calls AWS
--   from a source network (the IPv4 /24, or the IPv6 /48) it never used in the baseline. A /48 is
--   named by its first three hextets however the address is written (2001:db8::1 and
--   2001:db8:0:1::5 are both in 2001:db8:0::/48). A new /24 is a stronger signal than a new address:
--   DHCP churn stays inside a /24, an attacker's host does not. The subject is the long-term key
--   (AKIA...) when the call was signed with one, otherwise the IAM user or root principal ARN. Only
--   subjects with at least min_baseline_events events between baseline_start and start are judged,
--   so brand-new keys do not flood the hunt. Calls made by AWS services on the principal's behalf
--   are ignored.
-- severity: medium
-- mitre: [T1078.004]
-- engines: [local, athena, lake]
-- tags: [keys, key_hunt]
-- parameters:
--   baseline_start: {type: timestamp, default: start - 14d, description: Start of the trailing baseline (UTC); the baseline ends at start}
--   start: {type: timestamp, description: Detection window start in UTC (inclusive)}
--   end: {type: timestamp, description: Detection window end in UTC (exclusive)}
--   min_baseline_events: {type: int, default: 5, min: 1, description: Events a subject needs in the baseline to be judged}
-- window: [baseline_start, end]
-- references:
--   - https://github.com/elastic/detection-rules (new_terms on access key and source)
-- remediation:
--   text: >
--     Ask the owner of the key or user whether the new network is theirs (a new office, VPN provider
--     or CI runner). If not, deactivate the access key or reset the user's password, and review every
--     call made from that network.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
-- One /48 must have one name whatever the address's spelling (RFC 4291 2.2): lower-case, a trailing
-- dotted IPv4 counted as the two hextets it stands for, and a 0 beside a '::' at either end so that
-- every ':' then separates two hextets.
ipv6_source AS (
    SELECT
        *,
        CASE WHEN strpos(sourceipaddress, ':') > 0
            THEN regexp_replace(regexp_replace(regexp_replace(lower(sourceipaddress),
                     '\d{1,3}(\.\d{1,3}){3}$', '0:0'), '^::', '0::'), '::$', '::0')
        END AS ipv6_text
    FROM events
),
-- The '::' written out as the zero hextets it replaces: eight hextets less those present.
ipv6_expanded AS (
    SELECT
        *,
        CASE WHEN strpos(ipv6_text, '::') > 0
            THEN replace(ipv6_text, '::', ':' || substr('0:0:0:0:0:0:0:0:', 1,
                     2 * greatest(0, 8 - (length(ipv6_text) - length(replace(ipv6_text, ':', ''))))))
            ELSE ipv6_text
        END AS ipv6_hextets
    FROM ipv6_source
),
seen AS (
    SELECT
        *,
        CASE
            WHEN regexp_like(sourceipaddress, '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$')
                THEN regexp_extract(sourceipaddress, '^([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})\.', 1) || '.0/24'
            -- The /48 is named by its first three hextets without leading zeros: 2001:db8:0::/48.
            WHEN regexp_like(ipv6_hextets, '^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){7}$')
                THEN regexp_replace(regexp_extract(ipv6_hextets, '^([0-9a-f]+:[0-9a-f]+:[0-9a-f]+):', 1),
                                    '(^|:)0+([0-9a-f])', '$1$2') || '::/48'
        END AS seen_value
    FROM ipv6_expanded
),
{{ key_first_seen }}
SELECT
    {{ detection }} AS detection,
    {{ severity }} AS severity,
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
    subject_type,
    subject,
    seen_value AS network
FROM novel
GROUP BY recipientaccountid, subject_type, subject, seen_value
ORDER BY first_seen
