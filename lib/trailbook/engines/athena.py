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

Federated Lake data: with `layout: lake`, `database: "aws:cloudtrail"` and `table: <event data
store id>`, the source is the Lake reshaping subquery (`engines.sql.lake_source`) over the federated
table, so the same catalog runs in Athena over a CloudTrail Lake event data store.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import pandas as pd

from .. import aws
from .. import params as P
from ..errors import UsageError
from . import settings as S
from .base import BudgetExceeded, Engine, EngineError, QueryStats, scan_cost_usd
from .converter import parse_text_array
from .sql import lake_source, partition_time_filter, scope_filter

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


@lru_cache(maxsize=1)
def _cursor_class() -> type:
    from pyathena.pandas.cursor import PandasCursor

    class BackoffPandasCursor(PandasCursor):
        """PandasCursor whose wait between status checks grows (pyathena's documented override point)."""

        def _wait_poll_interval(self) -> None:
            delay = getattr(self, "_trailbook_delay", None) or self._poll_interval
            time.sleep(delay)
            self._trailbook_delay = min(max(delay * 1.5, 0.01), getattr(self, "_trailbook_ceiling", delay))

    return BackoffPandasCursor


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
        if connection is None:
            connection = self._connect(session)
        self.connection = connection

    def _connect(self, session: Any) -> Any:
        from pyathena import connect
        from pyathena.util import RetryConfig

        session = session or aws.session("athena", region=self.settings["region"], profile=self.settings["profile"])
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
        source = self.table_sql if self.settings["layout"] == "trail" else lake_source(self.table_sql, start, end)
        return {"source": source,
                "time_filter": partition_time_filter(start, end) + scope_filter(self.accounts, self.regions)}

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
                    "names: set the accounts parameter (e.g. -p accounts='[\"111122223333\"]'), or recreate the "
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
        from pyathena.error import Error as PyAthenaError

        state: dict[str, Any] = {"id": None, "execution": None, "began": time.monotonic()}
        cursor = self.connection.cursor(_cursor_class(), on_poll=self._watch(state))
        cursor._trailbook_ceiling = self.settings["max_poll_interval"]
        reuse = {"result_reuse_enable": True, "result_reuse_minutes": self.settings["result_reuse_minutes"]} \
            if self.settings["result_reuse_minutes"] > 0 else {}
        try:
            cursor.execute(sql, on_start_query_execution=lambda qid: state.update(id=qid), **reuse)
            frame = self._arrays(cursor.as_pandas(), cursor.description or [])
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
                "accounts": list(self.accounts), "regions": list(self.regions)}

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:
            pass
