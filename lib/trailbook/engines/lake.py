"""CloudTrail Lake through boto3: StartQuery, DescribeQuery, GetQueryResults.

The catalog's Trino SQL runs unchanged: the engine's `source` fragment is a subquery over the
event data store that reshapes Lake's columns into the Athena CloudTrail table's shape, and
`time_filter` is the same partition/eventtime predicate as on the other engines:

- `eventtime` is a Lake timestamp; the reshaped column is CloudTrail's ISO text
  (`date_format(eventtime, '%Y-%m-%dT%H:%i:%sZ')`), and the window is applied to the native
  timestamp inside the subquery, so Lake scans only the window;
- `requestParameters`, `responseElements`, `additionalEventData` are `map<string,string>` on
  Lake (nested objects flattened to text); the reshaped columns are the original JSON, taken
  from `eventJson`, so `json_extract_scalar(requestparameters, '$.a.b')` keeps working;
- struct columns (`useridentity`, `resources`, `addendum`, `tlsdetails`) are rebuilt from
  `eventJson` leaf by leaf, generated from `schema.COLUMNS`, so their field names and types
  are exactly the Athena table's;
- partition columns are synthesised: `account_partition` = recipientAccountId,
  `region_partition` = awsRegion, `date_partition` = 'yyyy/MM/dd' of eventTime.

Lake has no bind parameters: every value in the SQL went through `params` (the catalog's one
validated rendering path). A statement is at most 10,000 characters; longer ones are refused
before anything is sent. Lake returns every value as text: columns are typed from the query's
declared `columns`, and the finding columns of detections are known (event_count an integer,
event_names/event_ids/mitre arrays, whose Trino text form `[a, b]` is parsed).

Cost: CloudTrail Lake bills queries by bytes scanned ($0.005 per GB); BytesScanned,
EventsScanned, EventsMatched, the run time and the query id are recorded for the evidence.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from .. import params as P
from .. import schema
from ..contract import FINDING_COLUMNS
from . import config as C
from .base import BudgetExceeded, Engine, EngineError, QueryStats
from .sql import partition_time_filter, scope_filter

MAX_STATEMENT_CHARS = 10_000  # StartQuery QueryStatement (botocore model, max 10000)
LAKE_USD_PER_GB = 0.005
TERMINAL = ("FINISHED", "FAILED", "CANCELLED", "TIMED_OUT")
_EDS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,127}$")

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


# --- the source fragment ---------------------------------------------------------------------

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
        return f"CAST(json_extract({base},'${path}') AS {trino_type(typ)})"
    if kind == "array" and isinstance(typ[1], tuple) and typ[1][0] == "struct":
        element = _from_json("r", "", typ[1], parent)
        return f"transform(CAST(json_extract({base},'${path}') AS ARRAY(JSON)),r->CAST({element} AS {trino_type(typ[1])}))"
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


def event_data_store_id(value: str) -> str:
    """The id from an event data store id or ARN (arn:aws:cloudtrail:<region>:<acct>:eventdatastore/<id>)."""
    text = str(value or "").strip()
    if text.startswith("arn:"):
        text = text.rsplit("/", 1)[-1]
    if not _EDS_ID.match(text):
        raise EngineError(f"{value!r} is not a CloudTrail Lake event data store id or ARN")
    return text


# --- typing Lake's text ----------------------------------------------------------------------

FINDING_TYPES = {"event_count": "int", "event_names": "list[string]", "event_ids": "list[string]",
                 "mitre": "list[string]"}
_ARRAY_TYPE = re.compile(r"^(?:list\[(.+)\]|array\s*[(<](.+)[)>])$")


def parse_text_array(text: Any) -> list | None:
    """A list from an array's text form: JSON (`["a","b"]`) or Trino's (`[a, b]`). Trino's form cannot
    carry elements that contain ', ' unambiguously; such values are split there (documented gap)."""
    if text is None:
        return None
    if isinstance(text, (list, tuple)):
        return list(text)
    if hasattr(text, "tolist") and not isinstance(text, str):  # a numpy array (already typed)
        return list(text.tolist())
    value = str(text).strip()
    if not (value.startswith("[") and value.endswith("]")):
        raise EngineError(f"expected an array, got {value[:80]!r}")
    try:
        parsed = json.loads(value)
        if isinstance(parsed, list):
            return parsed
    except ValueError:
        pass
    inner = value[1:-1].strip()
    return [] if not inner else [part.strip() for part in inner.split(", ")]


def _scalar_converter(type_name: str) -> Callable[[Any], Any]:
    t = type_name.strip().lower()
    if t in ("string", "varchar", "text", "json", "char"):
        return lambda v: v
    if t in ("int", "integer", "bigint", "smallint", "tinyint", "long"):
        return lambda v: None if v is None or v == "" else int(v)
    if t in ("float", "double", "real", "decimal", "number"):
        return lambda v: None if v is None or v == "" else float(v)
    if t in ("bool", "boolean"):
        def to_bool(v: Any) -> Any:
            if v is None or v == "":
                return None
            if str(v).lower() in ("true", "false"):
                return str(v).lower() == "true"
            raise EngineError(f"expected true or false, got {v!r}")
        return to_bool
    if t in ("timestamp", "date", "datetime"):
        def to_time(v: Any) -> Any:
            if v is None or v == "":
                return None
            stamp = pd.Timestamp(v)
            return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return to_time
    raise EngineError(f"unknown declared column type {type_name!r}")


def converter(type_name: str) -> Callable[[Any], Any]:
    match = _ARRAY_TYPE.match(type_name.strip().lower())
    if match or type_name.strip().lower() in ("array", "list"):
        inner = _scalar_converter((match.group(1) or match.group(2)) if match else "string")
        return lambda v: None if v is None else [inner(x if not isinstance(x, (int, float)) else str(x))
                                                 if x is not None else None for x in parse_text_array(v)]
    return _scalar_converter(type_name)


def type_frame(frame: pd.DataFrame, columns: Mapping[str, str] | None) -> pd.DataFrame:
    """Convert text columns to their declared types (detections' finding columns are known)."""
    types = dict(columns or {})
    if set(FINDING_COLUMNS) <= set(frame.columns):
        types = {**FINDING_TYPES, **types}
    out = frame.copy()
    for name, type_name in types.items():
        if name not in out.columns:
            continue
        convert = converter(type_name)
        try:
            values = [convert(v) for v in out[name]]
        except (ValueError, TypeError) as exc:
            raise EngineError(f"column {name!r} is declared {type_name} but holds {exc}") from exc
        if type_name.strip().lower() in ("int", "integer", "bigint", "smallint", "tinyint", "long"):
            out[name] = pd.array(values, dtype="Int64")
        else:
            out[name] = pd.Series(values, index=out.index, dtype="object")
    return out


def output_columns(sql: str) -> list[str]:
    """The statement's output column names, in order ([] when they cannot be known, e.g. `SELECT *`).

    Taken from the SQL, not the rows, so a column that is NULL in every row still exists.
    """
    import sqlglot

    try:
        names = sqlglot.parse_one(sql, read="trino").named_selects
    except Exception:  # Lake will report the syntax error itself
        return []
    return [] if "*" in names else list(names)


def rows_to_frame(rows: Sequence[Sequence[Mapping[str, str]]], columns: Mapping[str, str] | None,
                  names: Sequence[str] = ()) -> pd.DataFrame:
    """Lake's QueryResultRows (each row a list of one-entry {column: text} maps) as a typed DataFrame.

    `names` are the expected output columns; a column absent from a row is NULL there.
    """
    names = list(names)
    records: list[dict[str, Any]] = []
    for row in rows:
        record: dict[str, Any] = {}
        for cell in row:
            for key, value in cell.items():
                record[key] = value
                if key not in names:
                    names.append(key)
        records.append(record)
    if not names and columns:
        names = list(columns)
    frame = pd.DataFrame([[r.get(n) for n in names] for r in records], columns=names, dtype="object")
    return type_frame(frame, columns)


# --- the engine --------------------------------------------------------------------------------

class LakeEngine(Engine):
    """CloudTrail Lake. Settings: see `engines.config.SETTINGS['lake']` (kwargs, config file or env)."""

    name = "lake"

    def __init__(self, accounts: Sequence[str] = (), regions: Sequence[str] = (), *,
                 client: Any = None, session: Any = None, sleep: Callable[[float], None] = time.sleep,
                 **options: Any) -> None:
        self.settings = C.resolve("lake", options)
        if not self.settings["event_data_store"]:
            raise EngineError("the lake engine needs event_data_store (id or ARN): set it in the config "
                              "file's lake section, as a keyword, or in TRAILBOOK_LAKE_EVENT_DATA_STORE")
        self.event_data_store = event_data_store_id(self.settings["event_data_store"])
        if not 1 <= self.settings["max_results"] <= 1000:
            raise EngineError("max_results must be between 1 and 1000 (GetQueryResults MaxQueryResults)")
        self.accounts = tuple(P.coerce("list[account_id]", accounts, "accounts"))
        self.regions = tuple(P.coerce("list[region]", regions, "regions"))
        if client is None:
            session = session or C.boto3_session("lake", region=self.settings["region"],
                                                  profile=self.settings["profile"])
            client = session.client("cloudtrail")
        self.client = client
        self._sleep = sleep
        owner = self.settings["owner_account_id"]
        self._owner = {"EventDataStoreOwnerAccountId": P.coerce("account_id", owner, "owner_account_id")} if owner else {}

    def fragments(self, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
        return {
            "source": lake_source(C.quoted(self.event_data_store), start, end),
            "time_filter": partition_time_filter(start, end) + scope_filter(self.accounts, self.regions),
        }

    def _call(self, method: str, **kwargs: Any) -> dict:
        return C.call_with_retry(getattr(self.client, method), self.settings["retry_attempts"],
                                 sleep=self._sleep, **kwargs)

    def _cancel(self, query_id: str) -> None:
        try:
            self._call("cancel_query", QueryId=query_id, **self._owner)
        except Exception:  # the query may have finished meanwhile; the caller's error matters more
            pass

    def _wait(self, query_id: str) -> dict:
        """DescribeQuery until the query ends, with backoff; timeout and over-budget scans cancel it."""
        began = time.monotonic()
        limit = self.settings["max_bytes_per_query"]
        for delay in C.backoff_delays(self.settings["poll_interval"], self.settings["max_poll_interval"]):
            described = self._call("describe_query", QueryId=query_id, **self._owner)
            status = described.get("QueryStatus")
            scanned = (described.get("QueryStatistics") or {}).get("BytesScanned") or 0
            if status in TERMINAL:
                return described
            if limit and scanned > limit:
                self._cancel(query_id)
                raise BudgetExceeded(f"Lake query {query_id} scanned {scanned:,} bytes, over max_bytes_per_query "
                                     f"{limit:,}; it was cancelled")
            if time.monotonic() - began > self.settings["timeout"]:
                self._cancel(query_id)
                raise EngineError(f"Lake query {query_id} did not finish within {self.settings['timeout']:.0f} s; "
                                  "it was cancelled (CancelQuery)")
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _results(self, query_id: str) -> list:
        rows: list = []
        token: str | None = None
        while True:
            page = self._call("get_query_results", QueryId=query_id, MaxQueryResults=self.settings["max_results"],
                              **({"NextToken": token} if token else {}), **self._owner)
            rows.extend(page.get("QueryResultRows") or [])
            token = page.get("NextToken")
            if not token:
                return rows

    def execute(self, sql: str, *, columns: dict[str, str] | None = None) -> tuple[pd.DataFrame, QueryStats]:
        if len(sql) > MAX_STATEMENT_CHARS:
            raise EngineError(
                f"this query is {len(sql):,} characters as rendered for CloudTrail Lake; Lake accepts at most "
                f"{MAX_STATEMENT_CHARS:,}. Each read of the table adds the Lake reshaping subquery; "
                "run it on athena or local, or mark the query `notes: {lake: ...}`"
            )
        started = self._call("start_query", QueryStatement=sql, **self._owner)
        query_id = started["QueryId"]
        try:
            described = self._wait(query_id)
        except KeyboardInterrupt:
            self._cancel(query_id)  # Ctrl-C stops the query on Lake too, then the interrupt goes on
            raise
        status = described.get("QueryStatus")
        if status != "FINISHED":
            reason = described.get("ErrorMessage") or "no reason given"
            raise EngineError(f"Lake query {query_id} {status}: {reason}")
        frame = rows_to_frame(self._results(query_id), columns, output_columns(sql))
        stats = described.get("QueryStatistics") or {}
        scanned = stats.get("BytesScanned")
        return frame, QueryStats(
            execution_id=query_id,
            bytes_scanned=scanned,
            events_scanned=stats.get("EventsScanned"),
            engine_ms=stats.get("ExecutionTimeInMillis"),
            cost_usd=None if scanned is None else round(scanned / 1024**3 * LAKE_USD_PER_GB, 6),
            extra={"events_matched": stats.get("EventsMatched"), "event_data_store": self.event_data_store,
                   "statement_chars": len(sql)},
        )

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "event_data_store": self.event_data_store,
                "region": self.settings["region"] or getattr(self.client.meta, "region_name", None),
                "accounts": list(self.accounts), "regions": list(self.regions)}

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass
