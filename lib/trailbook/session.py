"""A session: one engine, one time window, the catalog, and the evidence of every query run.

Notebooks open one session in their first library call and pass it to every
analysis. Each query it runs is recorded (SQL as run, parameters, engine
statistics, rows, times), which is the evidence appendix of a report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from . import catalog as C
from . import findings as F
from . import params as P
from .engines.base import BudgetExceeded, Engine, EngineError, QueryStats


@dataclass
class QueryRun:
    """The evidence of one query execution."""

    query: str
    engine: str
    sql: str
    parameters: dict[str, Any]
    started_at: str
    ended_at: str
    status: str  # ok | failed
    rows: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Session:
    def __init__(
        self,
        engine: Engine,
        *,
        start: Any,
        end: Any,
        catalog: Mapping[str, C.Query] | None = None,
        byte_budget: int | None = None,
    ) -> None:
        self.engine = engine
        self.start = P.parse_timestamp(start, "start")
        self.end = P.parse_timestamp(end, "end")
        if not self.start < self.end:
            raise P.ParameterError(f"start {P.iso(self.start)} is not before end {P.iso(self.end)}")
        self.catalog = dict(catalog) if catalog is not None else C.load_catalog()
        self.byte_budget = byte_budget
        self.bytes_scanned = 0
        self.evidence: list[QueryRun] = []

    # --- queries ---------------------------------------------------------------------

    def query(self, name: str) -> C.Query:
        try:
            return self.catalog[name]
        except KeyError:
            raise C.CatalogError(f"no query named {name!r} in the catalog") from None

    def defaults_for(self, query: C.Query) -> dict[str, Any]:
        """The session window fills a query's start/end unless the caller gives them."""
        out: dict[str, Any] = {}
        if "start" in query.params:
            out["start"] = self.start
        if "end" in query.params:
            out["end"] = self.end
        return out

    def run(self, name: str, **values: Any) -> pd.DataFrame:
        """Run one catalog query; record its evidence; return its rows."""
        query = self.query(name)
        if self.engine.name not in query.engines:
            raise EngineError(
                f"{name} does not run on {self.engine.name}: {query.notes.get(self.engine.name, 'not supported')}"
            )
        if self.byte_budget is not None and self.bytes_scanned >= self.byte_budget:
            raise BudgetExceeded(
                f"byte budget of {self.byte_budget:,} bytes is spent ({self.bytes_scanned:,} scanned); "
                f"not running {name}. Raise byte_budget or narrow the window."
            )
        merged = {**self.defaults_for(query), **values}
        rendered = query.render(self.engine, **merged)
        started = _now()
        try:
            frame, stats = self.engine.execute(rendered.sql, columns=dict(query.columns) or None)
        except Exception as exc:
            self.evidence.append(QueryRun(query.name, self.engine.name, rendered.sql, rendered.parameters_json(),
                                          started, _now(), "failed", error=str(exc)))
            raise
        self.bytes_scanned += stats.bytes_scanned or 0
        self.evidence.append(QueryRun(query.name, self.engine.name, rendered.sql, rendered.parameters_json(),
                                      started, _now(), "ok", rows=len(frame), stats=stats.to_dict()))
        if query.is_detection:
            frame = F.normalize(frame)
        frame.attrs["query"] = query.name
        return frame

    def detect(self, names: Iterable[str] | None = None, **values: Any) -> pd.DataFrame:
        """Run detections (all that run on this engine, by default) and return their findings, most severe first.

        `values` are passed to each detection that declares a parameter of that name.
        """
        if names is None:
            chosen = [q for q in self.catalog.values() if q.is_detection and self.engine.name in q.engines]
        else:
            chosen = [self.query(n) for n in names]
        frames = []
        for query in chosen:
            own = {k: v for k, v in values.items() if k in query.params}
            frames.append(self.run(query.name, **own))
        return F.concat(frames)

    # --- evidence --------------------------------------------------------------------

    def evidence_frame(self) -> pd.DataFrame:
        rows = []
        for run in self.evidence:
            rows.append({
                "query": run.query, "engine": run.engine, "status": run.status, "rows": run.rows,
                "execution_id": run.stats.get("execution_id"), "bytes_scanned": run.stats.get("bytes_scanned"),
                "events_scanned": run.stats.get("events_scanned"), "cost_usd": run.stats.get("cost_usd"),
                "engine_ms": run.stats.get("engine_ms"), "started_at": run.started_at,
            })
        return pd.DataFrame(rows)

    def evidence_records(self) -> list[dict[str, Any]]:
        return [run.to_dict() for run in self.evidence]

    def describe(self) -> dict[str, Any]:
        return {**self.engine.describe(), "start": P.iso(self.start), "end": P.iso(self.end),
                "byte_budget": self.byte_budget, "bytes_scanned": self.bytes_scanned}

    def close(self) -> None:
        self.engine.close()


def trailbook_home() -> Path:
    """Where trailbook keeps stores it creates for you: $TRAILBOOK_HOME, else ~/.cache/trailbook."""
    import os

    return Path(os.environ.get("TRAILBOOK_HOME") or Path.home() / ".cache" / "trailbook").expanduser()


def default_store(source: Any) -> Path:
    """The store for a source when none is named: one per source path, under trailbook_home().

    Keyed by the source's absolute path, so two log folders never share a store (and nothing is
    written next to the user's logs).
    """
    import hashlib

    text = str(source)
    resolved = text if any(ch in text for ch in "*?[") else str(Path(text).expanduser().resolve())
    digest = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:12]
    label = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in Path(resolved.rstrip("/*")).name)[:40]
    return trailbook_home() / "stores" / f"{label or 'source'}-{digest}"


def make_engine(engine: str = "local", *, source: Any = None, store: Any = None,
                accounts: Sequence[str] = (), regions: Sequence[str] = (), progress: bool = False,
                **options: Any) -> Engine:
    """The engine named `engine`, configured from keyword options (see each engine)."""
    if engine == "local":
        from .engines.local import LocalEngine

        if isinstance(source, str) and source == "demo":
            from . import demo

            paths = demo.ensure()
            source, store = paths["cloudtrail"], store or paths["store"]
        if store is None and source is not None:
            store = default_store(source)
        return LocalEngine(store=store, source=source, accounts=accounts, regions=regions, progress=progress, **options)
    if engine == "athena":
        from .engines.athena import AthenaEngine

        return AthenaEngine(accounts=accounts, regions=regions, **options)
    if engine == "lake":
        from .engines.lake import LakeEngine

        return LakeEngine(accounts=accounts, regions=regions, **options)
    raise P.ParameterError(f"engine must be one of {C.ENGINES}, not {engine!r}")


def open_session(engine: str = "local", *, start: Any, end: Any, source: Any = None, store: Any = None,
                 accounts: Sequence[str] = (), regions: Sequence[str] = (), byte_budget: int | None = None,
                 **options: Any) -> Session:
    """Open a session on one engine for one window. The notebooks' first call."""
    built = make_engine(engine, source=source, store=store, accounts=accounts, regions=regions, **options)
    return Session(built, start=start, end=end, byte_budget=byte_budget)
