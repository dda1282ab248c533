"""SQL fragments the engines share, owned by none of them: the time window, the scope, the actor,
and the Lake reshape (a subquery that gives a Lake-shaped table the Athena CloudTrail table's columns,
used by the lake engine and by Athena over a federated Lake table).

Every value goes through `params` (the one escaping path).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from .. import params as P
from .. import schema

# Who acted, as an ARN, defined once for every query and engine (the catalog's {{ actor_arn }}):
# the identity's ARN; for a session without one, the role it came from; root as the account's
# root ARN; for an AWS service acting on its own, the service. A principalId is not an ARN.
ACTOR_ARN = (
    "coalesce(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, "
    "CASE WHEN useridentity.type = 'Root' THEN 'arn:aws:iam::' || recipientaccountid || ':root' END, "
    "useridentity.invokedby)"
)

# The first-seen family (the catalog's {{ key_first_seen }}, used by every key_new_* detection), defined
# once: a long-term key, or an IAM user / root principal, does something in the window it never did
# in its trailing baseline. The query defines `seen` (its events with a `seen_value` column: what is
# new, a region, an address, a user agent...) just before this; the family gives `activity` (the
# judged calls, split by `in_window`), the subjects with enough baseline to be judged, the baseline's
# (subject, seen_value) pairs, and `novel`: the window's calls whose seen_value the baseline lacks.
# Calls AWS services make on a principal's behalf are not the principal's own, so they are left out.
KEY_FIRST_SEEN = """activity AS (
    SELECT
        eventtime, eventid, eventname, eventsource, recipientaccountid, awsregion, sourceipaddress, useragent,
        useridentity.arn AS principal_arn,
        useridentity.accesskeyid AS access_key_id,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN useridentity.accesskeyid
             ELSE {{ actor_arn }} END AS subject,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN 'key' ELSE 'principal' END AS subject_type,
        seen_value,
        from_iso8601_timestamp(eventtime) >= {{ start }} AS in_window
    FROM seen
    WHERE (useridentity.accesskeyid LIKE 'AKIA%' OR useridentity.type IN ('IAMUser', 'Root'))
      AND useridentity.invokedby IS NULL
      AND sourceipaddress IS NOT NULL
      AND sourceipaddress NOT LIKE '%amazonaws.com'
      AND sourceipaddress <> 'AWS Internal'
),
known_subjects AS (
    SELECT subject FROM activity WHERE NOT in_window GROUP BY subject HAVING count(*) >= {{ min_baseline_events }}
),
baseline AS (
    SELECT DISTINCT subject, seen_value FROM activity WHERE NOT in_window AND seen_value IS NOT NULL
),
novel AS (
    SELECT a.*
    FROM activity a
    JOIN known_subjects k ON k.subject = a.subject
    LEFT JOIN baseline b ON b.subject = a.subject AND b.seen_value = a.seen_value
    WHERE a.in_window AND a.seen_value IS NOT NULL AND b.subject IS NULL
)"""


# CloudTrail names and folders a log file by its delivery time, and "a log file delivered at a specific
# time can contain records written at any point before that time" (CloudTrail User Guide). So a table
# partitioned by the S3 folder (the Athena table) reads this many days past the window's last day;
# the exact eventtime bounds keep the window exact. Delivery normally lags by minutes.
LATE_DELIVERY_DAYS = 1


def window_days(start: dt.datetime, end: dt.datetime, late_days: int = 0) -> tuple[str, str]:
    """The first and last 'yyyy/MM/dd' date partitions that overlap [start, end), the last one
    `late_days` later for files delivered after the window's end."""
    last = end - dt.timedelta(microseconds=1)
    # The latest date Python holds stays the last partition (an "all time" window ends there).
    last = last + dt.timedelta(days=min(late_days, (dt.datetime.max.replace(tzinfo=last.tzinfo) - last).days))
    return start.strftime("%Y/%m/%d"), last.strftime("%Y/%m/%d")


def eventtime_filter(start: dt.datetime, end: dt.datetime) -> str:
    """The exact window on eventtime, CloudTrail's ISO-8601 text (which orders as time when compared as text)."""
    return f"eventtime >= {P.sql_string(P.iso(start))} AND eventtime < {P.sql_string(P.iso(end))}"


def partition_time_filter(start: dt.datetime, end: dt.datetime, late_days: int = LATE_DELIVERY_DAYS) -> str:
    """The time filter for tables partitioned like the Athena CloudTrail table.

    The partition predicate prunes files and reaches `late_days` past the window's end, because the
    Athena table's date_partition is the delivery day; the eventtime bounds make the window exact.
    Every engine renders the same text (the local store partitions by eventTime and picks its files
    by eventTime before the query, so the extra day costs it nothing).
    """
    first, last = window_days(start, end, late_days)
    return f"date_partition BETWEEN {P.sql_string(first)} AND {P.sql_string(last)} AND {eventtime_filter(start, end)}"


def scope_filter(accounts: Sequence[str] = (), regions: Sequence[str] = ()) -> str:
    """Extra partition predicates for an account/region scope ('' when unscoped)."""
    parts = []
    if accounts:
        parts.append("account_partition IN (" + ", ".join(P.sql_string(a) for a in accounts) + ")")
    if regions:
        parts.append("region_partition IN (" + ", ".join(P.sql_string(r) for r in regions) + ")")
    return "".join(f" AND {p}" for p in parts)


# --- the Lake reshape ---------------------------------------------------------------------------
#
# - `eventtime` is a Lake timestamp; the reshaped column is CloudTrail's ISO text, and the window is
#   applied to the native timestamp inside the subquery, so Lake scans only the window;
# - `requestParameters`, `responseElements`, `additionalEventData` are maps on Lake (nested objects
#   flattened to text); the reshaped columns are the original JSON, taken from `eventJson`;
# - a map column (webIdFederationData.attributes) is TRY_CAST, so one odd value cannot fail a query;
# - struct columns are rebuilt from `eventJson` leaf by leaf, generated from `schema.COLUMNS`;
# - partition columns are synthesised from recipientAccountId, awsRegion and eventTime.

# Lake's own string columns with the Athena table's names (Lake column names are case-insensitive).
NATIVE_COLUMNS = frozenset({
    "eventversion", "eventsource", "eventname", "awsregion", "sourceipaddress", "useragent", "errorcode",
    "errormessage", "requestid", "eventid", "eventtype", "apiversion", "recipientaccountid", "sharedeventid",
    "vpcendpointid", "eventcategory",
})
# Lake columns that may be boolean there but are 'true'/'false' text in the Athena table.
NATIVE_AS_TEXT = frozenset({"readonly", "sessioncredentialfromconsole"})
# CloudTrail's camelCase JSON keys for the schema's lower-case nested field names.
JSON_KEYS = {
    "principalid": "principalId", "accountid": "accountId", "invokedby": "invokedBy", "accesskeyid": "accessKeyId",
    "username": "userName", "onbehalfof": "onBehalfOf", "userid": "userId", "identitystorearn": "identityStoreArn",
    "sessioncontext": "sessionContext", "mfaauthenticated": "mfaAuthenticated", "creationdate": "creationDate",
    "sessionissuer": "sessionIssuer", "ec2roledelivery": "ec2RoleDelivery",
    "webidfederationdata": "webIdFederationData", "federatedprovider": "federatedProvider",
    "updatedfields": "updatedFields", "originalrequestid": "originalRequestID", "originaleventid": "originalEventID",
    "tlsversion": "tlsVersion", "ciphersuite": "cipherSuite", "clientprovidedhostheader": "clientProvidedHostHeader",
}
# Where a key differs by parent: resources[].ARN is upper case in CloudTrail records.
JSON_KEY_OVERRIDES = {("resources", "arn"): "ARN"}



def trino_type(typ: Any) -> str:
    if typ in (schema.STRING, schema.JSON):
        return "VARCHAR"
    kind = typ[0]
    if kind == "struct":
        return "ROW(" + ",".join(f"{name} {trino_type(t)}" for name, t in typ[1]) + ")"
    if kind == "array":
        return f"ARRAY({trino_type(typ[1])})"
    if kind == "map":
        return f"MAP({trino_type(typ[1])},{trino_type(typ[2])})"
    raise ValueError(f"unknown schema type {typ!r}")


def _key(parent: str, name: str) -> str:
    return JSON_KEY_OVERRIDES.get((parent, name), JSON_KEYS.get(name, name))


def _from_json(base: str, path: str, typ: Any, parent: str) -> str:
    """A Trino expression for the value at JSON `path` (no leading '$') of text `base`.

    A struct is a ROW cast to its named type; an absent object is NULL (not a row of NULLs),
    as in the S3 table.
    """
    if typ == schema.STRING:
        return f"json_extract_scalar({base},'${path}')"
    if typ == schema.JSON:
        return f"NULLIF(json_format(json_extract({base},'${path}')),'null')"
    kind = typ[0]
    if kind == "struct":
        row = "ROW(" + ",".join(_from_json(base, f"{path}.{_key(parent, n)}", t, n) for n, t in typ[1]) + ")"
        return row if not path else f"IF(json_extract({base},'${path}') IS NULL,NULL,CAST({row} AS {trino_type(typ)}))"
    if kind == "map":
        # TRY_CAST: a value that is not text (an object or array) makes this row's map NULL, where a
        # CAST would fail the whole query.
        return f"TRY_CAST(json_extract({base},'${path}') AS {trino_type(typ)})"
    if kind == "array" and isinstance(typ[1], tuple) and typ[1][0] == "struct":
        element = _from_json("r", "", typ[1], parent)
        array = f"CAST(json_extract({base},'${path}') AS ARRAY(JSON))"
        return f"transform({array},r->CAST({element} AS {trino_type(typ[1])}))"
    raise ValueError(f"no Lake reshaping for type {typ!r}")


def _column(name: str, typ: Any) -> str:
    if name in NATIVE_COLUMNS:
        return name
    if name in NATIVE_AS_TEXT:
        return f"CAST({name} AS VARCHAR) AS {name}"
    if name == "eventtime":
        return "date_format(eventtime,'%Y-%m-%dT%H:%i:%sZ') AS eventtime"
    if name == "useridentity":  # always present; `u` is its JSON, extracted once
        return f"CAST({_from_json('u', '', typ, name)} AS {trino_type(typ)}) AS useridentity"
    return f"{_from_json('j', '.' + schema.CAMEL[name], typ, name)} AS {name}"


def reshaped_columns() -> list[str]:
    """The select list that turns a Lake row into an Athena CloudTrail table row (with partitions)."""
    cols = [_column(name, typ) for name, typ in schema.COLUMNS]
    cols += ["recipientaccountid AS account_partition", "awsregion AS region_partition",
             "date_format(eventtime,'%Y/%m/%d') AS date_partition"]
    return cols


def lake_source(from_sql: str, start: dt.datetime, end: dt.datetime) -> str:
    """A subquery over a Lake-shaped table (`from_sql`, already quoted) with the Athena table's columns.

    The window bounds the native eventTime inside, so Lake scans only the window.
    """
    inner = (f"SELECT *,eventjson AS j,json_extract(eventjson,'$.userIdentity') AS u FROM {from_sql} "
             f"WHERE eventtime >= {P.timestamp_literal(start)} AND eventtime < {P.timestamp_literal(end)}")
    return f"(SELECT {','.join(reshaped_columns())} FROM ({inner}))"
