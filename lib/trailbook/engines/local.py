"""The embedded default: DuckDB over the local store (or straight over raw files).

The catalog's Trino SQL is translated once per text by `translate`, which also
installs the macros that close Trino/DuckDB semantic gaps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from .. import params as P
from .base import Engine, EngineError, QueryStats
from .sql import partition_time_filter, scope_filter


@lru_cache(maxsize=512)
def _translated(sql: str) -> str:
    from ..translate import to_duckdb

    return to_duckdb(sql)


class LocalEngine(Engine):
    """DuckDB over a local store (`sources.prepare` builds one), or over an open connection."""

    name = "local"

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

    def _source_for(self, start: dt.datetime, end: dt.datetime) -> str:
        """Partition pruning before the query: a view over only the store's Parquet files that
        can hold the window (and the account/region scope). The whole store is `cloudtrail`."""
        from .. import store as store_mod

        if self.store is None:
            return "cloudtrail"
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
