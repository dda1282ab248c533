"""CloudTrail Lake through boto3: StartQuery, DescribeQuery, GetQueryResults.

The catalog's Trino SQL runs unchanged: the engine's `source` fragment is a subquery over the
event data store that reshapes Lake's columns into the Athena CloudTrail table's shape, and
`time_filter` is the eventtime window and the account/region scope (no delivery-day partitions):

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
EventsScanned, EventsMatched, the run time and the query id are recorded for the evidence. A query
that ends without a result (FAILED, CANCELLED, TIMED_OUT, or cancelled here on timeout or over its
limit) raises an error carrying `bytes_scanned` (its last DescribeQuery statistics), for the budget.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from .. import aws
from .. import params as P
from . import settings as S
from .base import BudgetExceeded, Engine, EngineError, QueryStats
from .converter import output_columns, rows_to_frame
from .sql import eventtime_filter, lake_source, scope_filter

MAX_STATEMENT_CHARS = 10_000  # StartQuery QueryStatement (botocore model, max 10000)
LAKE_USD_PER_GB = 0.005
TERMINAL = ("FINISHED", "FAILED", "CANCELLED", "TIMED_OUT")
_EDS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,127}$")


def _charged(error: EngineError, scanned: int) -> EngineError:
    # The session adds `bytes_scanned` of a failed query's error to the run's byte budget.
    error.bytes_scanned = scanned  # type: ignore[attr-defined]
    return error


def event_data_store_id(value: str) -> str:
    """The id from an event data store id or ARN (arn:aws:cloudtrail:<region>:<acct>:eventdatastore/<id>)."""
    text = str(value or "").strip()
    if text.startswith("arn:"):
        text = text.rsplit("/", 1)[-1]
    if not _EDS_ID.match(text):
        raise EngineError(f"{value!r} is not a CloudTrail Lake event data store id or ARN")
    return text



# --- the engine --------------------------------------------------------------------------------

class LakeEngine(Engine):
    """CloudTrail Lake. Settings: see `engines.settings.SETTINGS['lake']` (kwargs, config file or env)."""

    name = "lake"

    def __init__(self, accounts: Sequence[str] = (), regions: Sequence[str] = (), *,
                 client: Any = None, session: Any = None, sleep: Callable[[float], None] = time.sleep,
                 **options: Any) -> None:
        self.settings = S.resolve("lake", options)
        if not self.settings["event_data_store"]:
            raise EngineError("the lake engine needs event_data_store (id or ARN): set it in the config "
                              "file's lake section, as a keyword, or in TRAILBOOK_LAKE_EVENT_DATA_STORE")
        self.event_data_store = event_data_store_id(self.settings["event_data_store"])
        if not 1 <= self.settings["max_results"] <= 1000:
            raise EngineError("max_results must be between 1 and 1000 (GetQueryResults MaxQueryResults)")
        self.accounts = tuple(P.coerce("list[account_id]", accounts, "accounts"))
        self.regions = tuple(P.coerce("list[region]", regions, "regions"))
        if client is None:
            session = session or aws.session("lake", region=self.settings["region"],
                                                  profile=self.settings["profile"])
            client = session.client("cloudtrail")
        self.client = client
        self._sleep = sleep
        self._retry = aws.RetryPolicy(max_attempts=max(self.settings["retry_attempts"], 1), base_delay_s=0.2,
                                      max_delay_s=20.0)
        owner = self.settings["owner_account_id"]
        self._owner = ({"EventDataStoreOwnerAccountId": P.coerce("account_id", owner, "owner_account_id")}
                       if owner else {})

    def fragments(self, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
        return {
            # The id bare, as every documented Lake query writes it (validated: letters, digits, hyphens).
            "source": lake_source(self.event_data_store, start, end),
            # Lake has no delivery-day folders: the window is on eventTime alone (date_partition is
            # synthesised from eventTime, so bounding it too would only lengthen the statement).
            "time_filter": eventtime_filter(start, end) + scope_filter(self.accounts, self.regions),
        }

    def _call(self, method: str, **kwargs: Any) -> dict:
        return self._retry.call(getattr(self.client, method), sleep=self._sleep, **kwargs)

    def _cancel(self, query_id: str) -> None:
        try:
            self._call("cancel_query", QueryId=query_id, **self._owner)
        except Exception:  # the query may have finished meanwhile; the caller's error matters more
            pass

    def _wait(self, query_id: str) -> dict:
        """DescribeQuery until the query ends, with backoff; timeout and over-budget scans cancel it."""
        began = time.monotonic()
        limit = self.settings["max_bytes_per_query"]
        for delay in aws.backoff_delays(self.settings["poll_interval"], self.settings["max_poll_interval"]):
            described = self._call("describe_query", QueryId=query_id, **self._owner)
            status = described.get("QueryStatus")
            scanned = (described.get("QueryStatistics") or {}).get("BytesScanned") or 0
            if status in TERMINAL:
                return described
            if limit and scanned > limit:
                self._cancel(query_id)
                raise _charged(BudgetExceeded(f"Lake query {query_id} scanned {scanned:,} bytes, over "
                                              f"max_bytes_per_query {limit:,}; it was cancelled"), scanned)
            if time.monotonic() - began > self.settings["timeout"]:
                self._cancel(query_id)
                message = (f"Lake query {query_id} did not finish within {self.settings['timeout']:.0f} s; "
                           "it was cancelled (CancelQuery)")
                raise _charged(EngineError(message), scanned)
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

    def _parseable(self, sql: str) -> str:
        """The SQL with the bare event data store id quoted: sqlglot reads a hyphenated name only quoted."""
        return sql.replace(f"FROM {self.event_data_store}", f'FROM "{self.event_data_store}"')

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
            scanned = (described.get("QueryStatistics") or {}).get("BytesScanned") or 0
            raise _charged(EngineError(f"Lake query {query_id} {status}: {reason}"), scanned)
        frame = rows_to_frame(self._results(query_id), columns, output_columns(self._parseable(sql)))
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
