"""The embedded default: DuckDB over the local store (or straight over raw files).

The catalog's Trino SQL is translated once per text by `translate`, which also
installs the macros that close Trino/DuckDB semantic gaps.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from .. import params as P
from . import sql_cache
from .base import Engine, EngineError, QueryStats
from .sql import eventtime_filter, partition_time_filter, scope_filter

# A shared scan's copy is built and compressed this many rows at a time: its peak memory is about
# one chunk of uncompressed rows. Measured on the 1M benchmark set (benchmarks/README.md).
SHARED_CHUNK_ROWS = 250_000
# With shared_copy None, the copy is made when the window's Parquet files hold fewer rows than
# this on average: then opening the files, query after query, costs more than copying them once.
# Measured (benchmarks/README.md, "Detections share their work"): at ~1,500 rows a file (an
# organization's account x region x day partitions) the copy halves findings' time; at ~4,600
# (the 1M demo store) it costs 15% more CPU than it saves.
SHARED_MAX_ROWS_PER_FILE = 3_000


def _chunks(files: list[str], rows: dict[str, int], limit: int) -> list[list[str]]:
    """Consecutive groups of files of at most `limit` rows each (a bigger file is a group alone)."""
    out: list[list[str]] = []
    size = 0
    for path in files:
        count = rows.get(path, 0)
        if not out or size + count > limit:
            out.append([])
            size = 0
        out[-1].append(path)
        size += count
    return out


@lru_cache(maxsize=512)
def _translated(sql: str) -> str:
    return sql_cache.translated(sql, translate_now)


def translate_now(sql: str) -> str:
    """The catalog's Trino text as DuckDB runs it, translated now (no cache)."""
    from ..translate import to_duckdb

    return _materialize_reused(to_duckdb(sql))


def _materialize_reused(sql: str) -> str:
    """Mark the CTEs that several parts of a query read as MATERIALIZED.

    DuckDB inlines a CTE into each reader, so the first-seen family's `activity` (read by the
    baseline, the judged subjects and the window) was computed three times: materialized, the
    slowest detections take a quarter to a half of the CPU (benchmarks/README.md). The result
    is the same rows; only how often DuckDB computes them changes."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE) if not cte.args.get("materialized")}
    reads = Counter(t.name.lower() for t in tree.find_all(exp.Table) if not t.db and t.name.lower() in ctes)
    for name in sorted(n for n, count in reads.items() if count > 1):
        sql = re.sub(rf"(\bWITH\s+|,\s*){re.escape(name)}\s+AS\s+\(", rf"\g<1>{name} AS MATERIALIZED (",
                     sql, count=1, flags=re.IGNORECASE)
    return sql


class LocalEngine(Engine):
    """DuckDB over a local store (`sources.prepare` builds one), or over an open connection."""

    name = "local"
    # Whether shared_scan makes its copy: True, False, or None to decide by the window's files.
    shared_copy: bool | None = None

    def __init__(
        self,
        store: str | Path | None = None,
        *,
        accounts: Sequence[str] = (),
        regions: Sequence[str] = (),
        connection: Any = None,
    ) -> None:
        from .. import store as store_mod
        from ..translate import install_macros

        self.accounts = tuple(P.coerce("list[account_id]", accounts, "accounts"))
        self.regions = tuple(P.coerce("list[region]", regions, "regions"))
        self._views: set[str] = set()
        self._shared: tuple[dt.datetime, dt.datetime, str] | None = None  # (start, end, table) while open
        self.store: Path | None
        if connection is not None:
            self.store = None
            self.con = connection
        else:
            if store is None:
                raise EngineError("the local engine needs a store folder (`sources.prepare` makes one)")
            self.store = Path(store)
            if not store_mod.db_path(self.store).exists():
                raise EngineError(f"no local store at {self.store}: "
                                  f"run `trailbook ingest SOURCE --store {self.store}` first")
            self.con = store_mod.connect(self.store, read_only=True)
        install_macros(self.con)

    @classmethod
    def from_options(cls, *, accounts: Sequence[str] = (), regions: Sequence[str] = (), store: Any = None,
                     **options: Any) -> LocalEngine:
        options.pop("config_file", None)  # the local engine has no settings section
        if options:
            raise EngineError(f"the local engine takes no settings {sorted(options)}")
        return cls(store=store, accounts=accounts, regions=regions)

    @classmethod
    def over_raw_files(cls, glob: str, **kwargs: Any) -> LocalEngine:
        """Query Records .json.gz files in place, with no store (slower; for comparison and one-offs)."""
        import duckdb

        from .. import store as store_mod

        con = duckdb.connect()
        con.execute("SET TimeZone='UTC'")
        con.execute(f"CREATE VIEW cloudtrail AS {store_mod.raw_view_sql(glob)}")
        return cls(connection=con, **kwargs)

    def fragments(self, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
        return {
            "source": self._source_for(start, end),
            "time_filter": partition_time_filter(start, end) + scope_filter(self.accounts, self.regions),
        }

    @contextlib.contextmanager
    def shared_scan(self, start: dt.datetime, end: dt.datetime,
                    columns: Sequence[str] | None = None) -> Iterator[None]:
        """Read the window's Parquet files once into a compressed in-memory DuckDB table of
        `columns` (and the partitions), which every query whose window lies inside [start, end)
        reads instead of the files: decoding Parquet was much of each detection's time, and the
        compressed copy is a small fraction of the rows' size (benchmarks/README.md). The copy is
        built SHARED_CHUNK_ROWS at a time, each chunk compressed (checkpointed) before the next is
        read, so memory stays bounded at any size. Nested calls, and an engine with no store,
        keep the per-query path; so does a window of big files unless `shared_copy` says otherwise."""
        if self.shared_copy is False or self.store is None or self._shared is not None:
            yield
            return
        from .. import schema
        from .. import store as store_mod

        files, _ = store_mod.files_for(self.con, P.iso(start), P.iso(end), self.accounts, self.regions)
        rows = dict(self.con.execute(f"SELECT path, rows FROM {store_mod.PARTS_TABLE}").fetchall())
        if self.shared_copy is None and sum(rows.get(f, 0) for f in files) >= SHARED_MAX_ROWS_PER_FILE * len(files):
            yield  # few, big files: each query's own Parquet read is cheaper than the copy
            return
        wanted = None if columns is None else {c.lower() for c in columns} | {"eventtime"}
        names = [n for n in schema.COLUMN_NAMES if wanted is None or n in wanted] + schema.PARTITION_NAMES
        select = ", ".join(f'"{n}"' for n in names)
        where = eventtime_filter(start, end) + scope_filter(self.accounts, self.regions)
        # One name: the engine's connection is its own and shared scans do not nest, and the
        # queries' text, which the translation cache keys on, stays the same from run to run.
        database = "shared_window"
        table = f"{database}.cloudtrail"
        self.con.execute(f"ATTACH ':memory:' AS {database} (COMPRESS)")
        try:
            for number, chunk in enumerate(_chunks(files, rows, SHARED_CHUNK_ROWS) or [[]]):
                into = f"CREATE TABLE {table} AS" if number == 0 else f"INSERT INTO {table}"
                self.con.execute(f"{into} SELECT {select} FROM ({store_mod.view_sql(chunk)}) WHERE {where}")
                self.con.execute(f"CHECKPOINT {database}")  # compresses this chunk's rows
            self._shared = (start, end, table)
            yield
        finally:
            self._shared = None
            self.con.execute(f"DETACH {database}")

    def _source_for(self, start: dt.datetime, end: dt.datetime) -> str:
        """Partition pruning before the query: a view over only the store's Parquet files that
        can hold the window (and the account/region scope). The whole store is `cloudtrail`."""
        from .. import store as store_mod

        if self.store is None:
            return "cloudtrail"
        shared = self._shared
        if shared is not None and shared[0] <= start and end <= shared[1]:
            return shared[2]
        files, total = store_mod.files_for(self.con, P.iso(start), P.iso(end), self.accounts, self.regions)
        if len(files) == total:
            return "cloudtrail"
        name = "cloudtrail_" + hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]
        if name not in self._views:
            self.con.execute(f"CREATE TEMP VIEW {name} AS {store_mod.view_sql(files)}")
            self._views.add(name)
        return name

    def translate(self, sql: str) -> str:
        return _translated(sql)

    def execute(self, sql: str, *, columns: dict[str, str] | None = None) -> tuple[pd.DataFrame, QueryStats]:
        local_sql = self.translate(sql)
        began = time.perf_counter()
        try:
            frame = self.con.execute(local_sql).df()
        except Exception as exc:  # duckdb raises many error types; keep its message
            raise EngineError(f"local query failed: {exc}") from exc
        elapsed = int((time.perf_counter() - began) * 1000)
        return frame, QueryStats(execution_id=f"local-{uuid.uuid4()}", engine_ms=elapsed,
                                 extra={"local_sql": local_sql})

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "store": str(self.store) if self.store else "in-memory",
                "accounts": list(self.accounts), "regions": list(self.regions)}

    def close(self) -> None:
        try:
            self.con.close()
        except Exception:
            pass

