"""Amazon Athena through pyathena: the catalog's SQL as is, on the CloudTrail table in S3.

The Athena CloudTrail table (see `ddl.py`) has exactly the local store's columns, so the SQL
sent to Athena is the local engine's Trino text with the table name as the only difference:
`source` is `"<catalog>"."<database>"."<table>"` (validated identifiers) and `time_filter` is
the shared partition predicate plus the account/region scope (`engines.sql`). Partition
projection turns the `date_partition` bounds into the only S3 prefixes read; they reach one day
past the window's end, because CloudTrail folders files by delivery day (`sql.LATE_DELIVERY_DAYS`).

Values are rendered into the SQL by `params` (the catalog's one validated rendering path),
not sent as Athena `ExecutionParameters`: the text Athena receives is then byte for byte the
golden text a reviewer read (`tests/golden/athena/`), on every engine alike.

Execution: pyathena's PandasCursor (results read from the CSV Athena writes to S3).
- polling backs off from `poll_interval` to `max_poll_interval`;
- throttled API calls are retried (`retry_attempts`, exponential backoff with jitter);
- `timeout` seconds without an end calls StopQueryExecution and raises EngineError;
- Ctrl-C (KeyboardInterrupt) calls StopQueryExecution, waits for it, then re-raises;
- FAILED and CANCELLED raise EngineError with Athena's StateChangeReason; two reasons become a
  line saying what to set: no result location (neither `s3_staging_dir` nor the workgroup's
  output location), and an injected account partition queried without an account scope;
- a query that ends without a result (FAILED, CANCELLED, stopped on timeout or over its limit)
  still cost what it scanned: the error carries `bytes_scanned`, read from GetQueryExecution's
  statistics, for the run's byte budget;
- without `work_group` the query runs in `primary`, Athena's default workgroup, so a workgroup
  output location is enough and `s3_staging_dir` is optional;
- `result_reuse_minutes` > 0 turns on Athena result reuse up to that age;
- `max_bytes_per_query` > 0 stops a query whose running scan passes it (BudgetExceeded). The
  per-run `byte_budget` is the Session's: it refuses the next query once the bytes recorded
  here are spent. For a hard limit enforced by AWS, set the workgroup's BytesScannedCutoffPerQuery.

Statistics recorded: QueryExecutionId, DataScannedInBytes, EngineExecutionTimeInMillis,
QueryQueueTimeInMillis, TotalExecutionTimeInMillis, whether a previous result was reused,
and the cost at $5 per TB (`base.scan_cost_usd`); a reused result scanned nothing and costs nothing.

One-scan mode (`one_scan: true`, opt-in; see `engines.one_scan`): while `shared_scan(start, end,
columns)` is open, one CTAS has written the window as Parquet under a temporary table, and every
query whose window lies inside reads it (`fragments`); on leaving, normally, on an error or on
Ctrl-C, the table is dropped and the objects the CTAS wrote are deleted. Its session has its own
guard role (`aws.operations.ONE_SCAN_ROLE`); with `one_scan` off `shared_scan` does nothing and the
engine makes no call that writes. The CTAS's and DROP's statistics are in `scans` (and `describe()`);
`max_bytes_per_query` applies to the CTAS, while a Session's byte budget sees only its own queries.

Federated Lake data: with `layout: lake`, `database: "aws:cloudtrail"` and `table: <event data
store id>`, the source is the Lake reshaping subquery (`engines.sql.lake_source`) over the federated
table, so the same catalog runs in Athena over a CloudTrail Lake event data store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sys
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import pandas as pd

from .. import aws
from .. import params as P
from ..aws.operations import ONE_SCAN_ROLE
from ..errors import UsageError
from . import one_scan as O
from . import settings as S
from .base import BudgetExceeded, Engine, EngineError, QueryStats, scan_cost_usd
from .converter import parse_text_array
from .sql import LATE_DELIVERY_DAYS, lake_source, partition_time_filter, scope_filter, window_days

LAYOUTS = ("trail", "lake")
PRIMARY_WORK_GROUP = "primary"  # the workgroup Athena uses when a request names none
# Athena's reasons that trailbook turns into what to set (StartQueryExecution and FAILED states).
_NO_OUTPUT = re.compile(r"no output location|output location is required", re.IGNORECASE)
_INJECTED = re.compile(r"CONSTRAINT_VIOLATION.*injected", re.IGNORECASE | re.DOTALL)


class _Stop(Exception):
    """Raised inside pyathena's polling loop to stop waiting (timeout, or a scan over its limit)."""

    def __init__(self, message: str, over_budget: bool) -> None:
        super().__init__(message)
        self.over_budget = over_budget


def _backoff_poll(self: Any) -> None:
    """The wait between status checks grows (pyathena's documented override point)."""
    delay = getattr(self, "_trailbook_delay", None) or self._poll_interval
    time.sleep(delay)
    self._trailbook_delay = min(max(delay * 1.5, 0.01), getattr(self, "_trailbook_ceiling", delay))


@lru_cache(maxsize=2)
def _cursor_class(statement: bool = False) -> type:
    """PandasCursor for queries; for statements (one-scan's CTAS and DROP TABLE), pyathena's plain
    Cursor that reads no result: their statistics are all that matters."""
    if not statement:
        from pyathena.pandas.cursor import PandasCursor

        return type("BackoffPandasCursor", (PandasCursor,), {"_wait_poll_interval": _backoff_poll})
    from pyathena.cursor import Cursor

    def __init__(self: Any, **kwargs: Any) -> None:
        Cursor.__init__(self, **kwargs)
        self._result_set_kwargs = {"_pre_fetch": False}

    return type("BackoffStatementCursor", (Cursor,), {"_wait_poll_interval": _backoff_poll, "__init__": __init__})


class AthenaEngine(Engine):
    """Athena. Settings: see `engines.settings.SETTINGS['athena']` (kwargs, config file or env)."""

    name = "athena"

    def __init__(self, accounts: Sequence[str] = (), regions: Sequence[str] = (), *,
                 connection: Any = None, session: Any = None, **options: Any) -> None:
        self.settings = S.resolve("athena", options)
        if self.settings["layout"] not in LAYOUTS:
            raise UsageError(f"layout must be one of {LAYOUTS}, not {self.settings['layout']!r}")
        self.table_sql = P.quoted_identifier(P.identifier(self.settings["catalog"], "catalog"),
                                             P.identifier(self.settings["database"], "database"),
                                             P.identifier(self.settings["table"], "table"))
        self.accounts = tuple(P.coerce("list[account_id]", accounts, "accounts"))
        self.regions = tuple(P.coerce("list[region]", regions, "regions"))
        staging = self.settings["s3_staging_dir"]
        if staging and not staging.startswith("s3://"):
            raise UsageError(f"s3_staging_dir must be an s3:// location, not {staging!r}")
        self.work_group = self.settings["work_group"] or PRIMARY_WORK_GROUP
        self.one_scan = bool(self.settings["one_scan"])
        if self.one_scan:
            if self.settings["layout"] != "trail":
                raise UsageError("one_scan works on the trail layout only (the S3 CloudTrail table), not layout "
                                 f"{self.settings['layout']!r}")
            O.bare_identifier(self.settings["database"], "database")
        self._scan: dict[str, Any] | None = None  # the open shared scan: window and temporary table
        self.scans: list[dict[str, Any]] = []  # every shared scan's CTAS, DROP and clean-up, for the record
        self._session = session
        self._clients: dict[str, Any] = {}
        if connection is None:
            connection = self._connect(session)
        self.connection = connection

    def _connect(self, session: Any) -> Any:
        from pyathena import connect
        from pyathena.util import RetryConfig

        role = ONE_SCAN_ROLE if self.one_scan else "athena"
        session = session or aws.session(role, region=self.settings["region"], profile=self.settings["profile"])
        self._session = session
        kwargs: dict[str, Any] = {
            "session": session,
            "region_name": session.region_name,
            "catalog_name": self.settings["catalog"],
            "schema_name": self.settings["database"],
            "poll_interval": self.settings["poll_interval"],
            "kill_on_interrupt": True,
            "retry_config": RetryConfig(exceptions=tuple(aws.THROTTLING_CODES),
                                        attempt=max(self.settings["retry_attempts"], 1), multiplier=0.2, max_delay=20),  # type: ignore[arg-type]  # pyathena annotates int, uses float
        }
        if self.settings["s3_staging_dir"]:
            kwargs["s3_staging_dir"] = self.settings["s3_staging_dir"]
        if self.settings["work_group"] or not self.settings["s3_staging_dir"]:
            # With neither setting, primary is named because pyathena refuses a connection without
            # one; whether the workgroup has an output location is Athena's to answer (`_explain`).
            kwargs["work_group"] = self.work_group
        if self.settings["result_reuse_minutes"] > 0:
            kwargs.update(result_reuse_enable=True, result_reuse_minutes=self.settings["result_reuse_minutes"])
        return connect(**kwargs)

    def fragments(self, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
        scan = self._scan
        if scan is not None and scan["start"] <= start and end <= scan["end"]:
            # The copy holds the window, partitioned by the table's own date_partition: the table's filter
            # text prunes the copy's days the same way.
            return {"source": scan["source"],
                    "time_filter": partition_time_filter(start, end) + scope_filter(self.accounts, self.regions)}
        return self._table_fragments(start, end)

    def _table_fragments(self, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
        source = self.table_sql if self.settings["layout"] == "trail" else lake_source(self.table_sql, start, end)
        return {"source": source,
                "time_filter": partition_time_filter(start, end) + scope_filter(self.accounts, self.regions)}

    # --- one-scan mode ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def shared_scan(self, start: dt.datetime, end: dt.datetime,
                    columns: Sequence[str] | None = None) -> Iterator[None]:
        """One-scan mode: materialize [start, end) once for the queries run inside (see the module
        docstring). Without `one_scan`, or inside another shared scan, nothing happens."""
        if not self.one_scan or self._scan is not None:
            yield
            return
        first, last = window_days(start, end, LATE_DELIVERY_DAYS)
        days = (dt.date(*map(int, last.split("/"))) - dt.date(*map(int, first.split("/")))).days + 1
        shape = O.layout(days)
        if shape is None:
            self.scans.append({"table": None, "start": P.iso(start), "end": P.iso(end),
                               "skipped": f"{days} date partitions: more than a CTAS writes ({O.MAX_WRITERS})"})
            print(f"trailbook: one-scan skipped: the window spans {days} days, more than the {O.MAX_WRITERS} "
                  "partitions one CTAS writes; its queries read the table", file=sys.stderr)
            yield
            return
        table = O.temp_table_name()
        database = self.settings["database"]
        base = self._table_fragments(start, end)
        ctas = O.ctas_sql(database, table, O.columns_for(columns), base["source"], base["time_filter"], shape[1])
        record: dict[str, Any] = {"table": f"{database}.{table}", "start": P.iso(start), "end": P.iso(end),
                                  "ctas": None, "drop": None, "deleted_objects": 0, "problems": []}
        self.scans.append(record)
        state: dict[str, Any] = {"id": None, "execution": None}
        try:
            _, stats = self._execute(ctas, None, state, statement=True)
            record["ctas"] = stats.to_dict()
            self.shared_bytes_scanned += stats.bytes_scanned or 0  # billed like any query: the run's budget counts it
            self._scan = {"start": start, "end": end,
                          "source": P.quoted_identifier(self.settings["catalog"], database, table)}
            yield
        finally:
            self._scan = None
            record["ctas"] = record["ctas"] or {"execution_id": state["id"], "status": "failed"}
            self._clean_up(database, table, state["id"], record)

    def _client(self, service: str) -> Any:
        """A client of the engine's (guarded) session, made once."""
        if service not in self._clients:
            session = self._session or getattr(self.connection, "session", None)
            if session is None:
                raise EngineError(f"one-scan mode needs an AWS session for {service}; none was given")
            self._clients[service] = session.client(service, region_name=session.region_name)
        return self._clients[service]

    def _clean_up(self, database: str, table: str, ctas_id: str | None, record: dict[str, Any]) -> None:
        """Drop the temporary table, then delete what its CTAS wrote. Each step runs even if one before
        failed; a failure is recorded and printed (with what to remove by hand), never raised over the
        run's own outcome."""
        problems = record["problems"]
        interrupted: BaseException | None = None
        location = None
        try:
            found = self._client("glue").get_table(DatabaseName=database, Name=table)
            location = found["Table"].get("StorageDescriptor", {}).get("Location")
        except Exception as exc:  # EntityNotFoundException: the CTAS made no table (it failed or was stopped)
            if "EntityNotFound" not in type(exc).__name__ + str(exc):
                problems.append(f"glue GetTable {database}.{table}: {exc}")
        try:
            _, stats = self._execute(O.drop_sql(database, table), None, {"id": None, "execution": None},
                                     statement=True)
            record["drop"] = stats.to_dict()
        except BaseException as exc:  # even Ctrl-C here must not skip the deletion below; it is re-raised after
            problems.append(f"DROP TABLE {database}.{table}: {str(exc) or type(exc).__name__}")
            interrupted = exc if not isinstance(exc, Exception) else None
        prefixes: list[tuple[str, str]] = []
        manifest: tuple[str, str] | None = None
        if ctas_id:
            owned = O.owned_prefix(location, ctas_id) if location else None
            if location and owned is None:
                problems.append(f"table location {location} is not the CTAS's own folder (.../{ctas_id}/): left alone")
            try:
                execution = self._client("athena").get_query_execution(QueryExecutionId=ctas_id)["QueryExecution"]
                output = execution.get("ResultConfiguration", {}).get("OutputLocation")
                derived = O.data_prefix(output, ctas_id) if output else None
                manifest_url = execution.get("Statistics", {}).get("DataManifestLocation")
                manifest = O.split_s3(manifest_url) if manifest_url and ctas_id in manifest_url else None
            except Exception as exc:
                derived = None
                problems.append(f"GetQueryExecution {ctas_id}: {exc}")
            prefixes = sorted({p for p in (owned, derived) if p is not None})
        for bucket, prefix in prefixes:
            try:
                record["deleted_objects"] += self._delete_prefix(bucket, prefix)
            except Exception as exc:
                problems.append(f"deleting s3://{bucket}/{prefix}: {exc}")
        if manifest is not None:
            try:
                self._client("s3").delete_objects(Bucket=manifest[0], Delete={"Objects": [{"Key": manifest[1]}],
                                                                               "Quiet": True})
                record["deleted_objects"] += 1
            except Exception as exc:
                problems.append(f"deleting s3://{manifest[0]}/{manifest[1]}: {exc}")
        if problems:
            where = ", ".join(f"s3://{b}/{p}" for b, p in prefixes) or "the CTAS's tables/<query id>/ folder"
            print(f"trailbook: one-scan clean-up incomplete ({'; '.join(problems)}); remove table {database}.{table} "
                  f"and {where} yourself", file=sys.stderr)
        if interrupted is not None:
            raise interrupted

    def _delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every object under `prefix` (ListObjectsV2, then DeleteObjects in batches of 1,000)."""
        s3 = self._client("s3")
        deleted = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents") or []]
            for i in range(0, len(keys), 1000):
                answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[i:i + 1000], "Quiet": True})
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise EngineError(f"{len(answer['Errors'])} object(s) not deleted, e.g. {first.get('Key')}: "
                                      f"{first.get('Code')} {first.get('Message')}")
                deleted += len(keys[i:i + 1000])
        return deleted

    def _watch(self, state: dict[str, Any]):
        """pyathena's on_poll: remember the execution, and stop on timeout or an over-limit scan."""
        limit = self.settings["max_bytes_per_query"]

        def on_poll(execution: Any) -> None:
            state["execution"] = execution
            if execution.state in ("SUCCEEDED", "FAILED", "CANCELLED"):
                return
            scanned = execution.data_scanned_in_bytes or 0
            if limit and scanned > limit:
                raise _Stop(f"scanned {scanned:,} bytes, over max_bytes_per_query {limit:,}", over_budget=True)
            if time.monotonic() - state["began"] > self.settings["timeout"]:
                raise _Stop(f"did not finish within {self.settings['timeout']:.0f} s", over_budget=False)

        return on_poll

    def _stop(self, cursor: Any, query_id: str | None) -> None:
        if query_id is None:
            return
        try:
            cursor.connection.client.stop_query_execution(QueryExecutionId=query_id)
        except Exception:  # the query may have ended meanwhile; the caller's error matters more
            pass

    def _explain(self, reason: str) -> str | None:
        """What to set, for the Athena failures a first run meets; None for any other reason."""
        if _NO_OUTPUT.search(reason):
            return (f"Athena has no query result location in workgroup {self.work_group!r}: set s3_staging_dir "
                    "(s3://bucket/prefix/) in the config file's athena section or TRAILBOOK_ATHENA_S3_STAGING_DIR, "
                    "or set work_group to a workgroup that has an output location")
        if _INJECTED.search(reason):
            return ("the table projects account_partition as injected, so Athena reads only the accounts a query "
                    "names: set the accounts parameter (e.g. -p accounts=111122223333), or recreate the "
                    "table with `trailbook athena ddl --accounts ...`")
        return None

    @staticmethod
    def _scanned_before_the_end(cursor: Any, state: dict[str, Any]) -> int:
        """The bytes a query that ended without a result was billed for: its last statistics, read
        again after StopQueryExecution (GetQueryExecution) when it was stopped while running."""
        execution = state["execution"]
        scanned = getattr(execution, "data_scanned_in_bytes", None) or 0
        if state["id"] and getattr(execution, "state", None) not in ("FAILED", "CANCELLED"):
            try:
                final = cursor.connection.client.get_query_execution(QueryExecutionId=state["id"])
                scanned = max(scanned, final["QueryExecution"].get("Statistics", {}).get("DataScannedInBytes") or 0)
            except Exception:  # the statistics are for the budget; the query's own error matters more
                pass
        return scanned

    @staticmethod
    def _charged(error: EngineError, scanned: int) -> EngineError:
        # The session adds `bytes_scanned` of a failed query's error to the run's byte budget.
        error.bytes_scanned = scanned  # type: ignore[attr-defined]
        return error

    def execute(self, sql: str, *, columns: dict[str, str] | None = None) -> tuple[pd.DataFrame, QueryStats]:
        return self._execute(sql, columns, {"id": None, "execution": None})

    def _execute(self, sql: str, columns: dict[str, str] | None, state: dict[str, Any],
                 statement: bool = False) -> tuple[pd.DataFrame, QueryStats]:
        """`execute`, with the caller's `state`, which holds the query's id even when it fails. A
        `statement` (CTAS, DROP TABLE) returns no rows."""
        from pyathena.error import Error as PyAthenaError

        state["began"] = time.monotonic()
        cursor = self.connection.cursor(_cursor_class(statement), on_poll=self._watch(state))
        cursor._trailbook_ceiling = self.settings["max_poll_interval"]
        reuse: dict[str, Any] = {}
        if self.settings["result_reuse_minutes"] > 0:  # never for a statement: a reused CTAS creates no table
            reuse = {"result_reuse_enable": False} if statement else {
                "result_reuse_enable": True, "result_reuse_minutes": self.settings["result_reuse_minutes"]}
        try:
            cursor.execute(sql, on_start_query_execution=lambda qid: state.update(id=qid), **reuse)
            frame = pd.DataFrame() if statement else self._arrays(cursor.as_pandas(), cursor.description or [])
        except _Stop as stop:
            self._stop(cursor, state["id"])
            error = BudgetExceeded if stop.over_budget else EngineError
            raise self._charged(error(f"Athena query {state['id']} {stop}; it was stopped (StopQueryExecution)"),
                                self._scanned_before_the_end(cursor, state)) from None
        except PyAthenaError as exc:
            execution = state["execution"]
            status = getattr(execution, "state", None) or "FAILED"
            reason = getattr(execution, "state_change_reason", None) or str(exc) or "no reason given"
            explained = self._explain(reason)
            message = f"Athena query {state['id'] or '(not started)'} {status}: {reason}"
            raise self._charged(EngineError(explained or message),
                                self._scanned_before_the_end(cursor, state)) from (None if explained else exc)
        return frame, self._stats(cursor)

    def _stats(self, cursor: Any) -> QueryStats:
        reused = bool(cursor.reused_previous_result)
        scanned = 0 if reused else cursor.data_scanned_in_bytes  # a reused result is not billed
        stats = QueryStats(
            execution_id=cursor.query_id,
            bytes_scanned=scanned,
            engine_ms=cursor.engine_execution_time_in_millis,
            queue_ms=cursor.query_queue_time_in_millis,
            cost_usd=0.0 if reused else scan_cost_usd(scanned),
            extra={"total_ms": cursor.total_execution_time_in_millis, "reused_previous_result": reused,
                   "work_group": self.work_group, "table": self.table_sql},
        )
        cursor.close()
        return stats

    @staticmethod
    def _arrays(frame: pd.DataFrame, description: Sequence[Sequence[Any]]) -> pd.DataFrame:
        """Athena's CSV gives arrays as Trino text ('[a, b]'); turn them into lists."""
        out = frame
        for column in description:
            name, type_code = column[0], str(column[1]).lower()
            if type_code.startswith("array") and name in out.columns:
                if out is frame:
                    out = frame.copy()
                out[name] = pd.Series([parse_text_array(v) if isinstance(v, str) else v for v in out[name]],
                                      index=out.index, dtype="object")
        return out

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "table": self.table_sql, "layout": self.settings["layout"],
                "region": getattr(self.connection, "region_name", self.settings["region"]),
                "work_group": self.work_group, "s3_staging_dir": self.settings["s3_staging_dir"],
                "accounts": list(self.accounts), "regions": list(self.regions),
                **({"one_scan": True, "shared_scans": list(self.scans)} if self.one_scan else {})}

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:
            pass
