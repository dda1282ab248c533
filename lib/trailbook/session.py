"""A session: one engine, one time window, the catalog, and the evidence of every query run.

Notebooks open one session in their first library call and pass it to every
analysis. Each query it runs is recorded (SQL as run, parameters, engine
statistics, rows, times), which is the evidence appendix of a report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from . import catalog as C
from . import findings as F
from . import mask, paths, sources, stages
from . import params as P
from .engines.base import BudgetExceeded, Engine, EngineError


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
    # Values taken from events (FromEvents) that cannot be the parameter's type: named, not queried.
    set_aside: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FromEvents(tuple):
    """Values an analysis took from CloudTrail events (data, not parameters) for a list parameter.

    An attacker writes what they like into request parameters, so such a value may be no valid ARN
    or key id at all (a role ARN with a space). `Session.run` queries the items that are valid for
    the parameter's type and sets the rest aside, named in the evidence and in `frame.attrs`:
    no value from an event can fail a run. Values a user gives stay strictly checked.
    """


def _split_event_values(query: C.Query, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The values to query with, and the FromEvents items set aside because their type cannot hold them."""
    kept: dict[str, Any] = {}
    aside: dict[str, list[str]] = {}
    for name, value in values.items():
        param = query.params.get(name)
        if isinstance(value, FromEvents) and param is not None and param.type.startswith("list["):
            good = []
            for item in value:
                try:
                    param.coerce([item])
                except P.ParameterError:
                    aside.setdefault(name, []).append(str(item))
                else:
                    good.append(item)
            value = good
        kept[name] = value
    return kept, aside


# The checked catalog. Checking every query (sqlglot parses each one for every engine) was the
# largest CPU cost before a notebook's first result, and its verdict depends only on the query
# files, trailbook's code and the parsers' versions: a marker under paths.home() remembers a pass
# for exactly those, and a process keeps the catalog itself until a query file changes, so a new
# kernel and JupyterLab's re-runs of `begin` skip the check.
_CATALOGS: dict[tuple[Any, ...], dict[str, C.Query]] = {}


def _checked_marker(files: list[Path]) -> Path:
    versions = f"{sys.version}|sqlglot {metadata.version('sqlglot')}|PyYAML {metadata.version('PyYAML')}"
    digest = hashlib.sha256(versions.encode())
    for path in [*files, *sorted(paths.PACKAGE_DIR.rglob("*.py"))]:
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return paths.home() / "catalog-checked" / digest.hexdigest()


def _catalog() -> dict[str, C.Query]:
    root = paths.queries_dir()
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    key = (str(root.resolve()), tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    if key not in _CATALOGS:
        marker = _checked_marker(files)
        if marker.is_file():
            loaded = C.load_catalog(root, strict=False)  # these exact files passed the strict check
        else:
            loaded = C.load_catalog(root)  # strict: raises on any invalid query
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
            except OSError:
                pass  # a read-only home: check again next time
        _CATALOGS.clear()
        _CATALOGS[key] = loaded
    return _CATALOGS[key]


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
        prepared: sources.Prepared | None = None,
    ) -> None:
        self.engine = engine
        self.prepared = prepared  # the local store and what it knows of its source
        self.start = P.parse_timestamp(start, "start")
        self.end = P.parse_timestamp(end, "end")
        if not self.start < self.end:
            raise P.ParameterError(f"start {P.iso(self.start)} is not before end {P.iso(self.end)}")
        self.catalog = dict(catalog if catalog is not None else _catalog())
        self.byte_budget = byte_budget
        self.bytes_scanned = 0
        self.evidence: list[QueryRun] = []
        self.masked: list[tuple[str, mask.Hit]] = []  # credential material masked in query results
        self.notebook: str | None = None  # set by notebook.begin
        self.notebook_parameters: dict[str, Any] = {}

    # --- queries ---------------------------------------------------------------------

    def query(self, name: str) -> C.Query:
        try:
            return self.catalog[name]
        except KeyError:
            raise C.CatalogError(f"no query named {name!r} in the catalog") from None

    def tagged(self, tag: str) -> list[str]:
        """The catalog's detections with `tag` that run on this session's engine."""
        return C.tagged(self.catalog, tag, engine=self.engine.name)

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
        given, aside = _split_event_values(query, values)
        merged = {**self.defaults_for(query), **given}
        rendered = query.render(self.engine, **merged)
        started = _now()
        try:
            frame, stats = self.engine.execute(rendered.sql, columns=dict(query.columns) or None)
        except Exception as exc:
            self.evidence.append(QueryRun(query.name, self.engine.name, rendered.sql, rendered.parameters_json(),
                                          started, _now(), "failed", error=str(exc)))
            # A cancelled or failed query is still billed for what it read: the budget counts it.
            self.bytes_scanned += getattr(exc, "bytes_scanned", 0) or 0
            raise
        self.bytes_scanned += stats.bytes_scanned or 0
        frame = stages.apply(query.stage, frame)  # a Python verdict, the same on every engine
        hits: list[mask.Hit] = []
        frame = mask.mask_frame(frame, hits)  # before anything can show it: tables, plots, exports
        if hits:
            self.masked.extend((query.name, hit) for hit in hits)
        self.evidence.append(QueryRun(query.name, self.engine.name, rendered.sql, rendered.parameters_json(),
                                      started, _now(), "ok", rows=len(frame), stats=stats.to_dict(),
                                      set_aside=aside))
        if query.is_detection:
            frame = F.normalize(frame)
            if query.lookback:  # read before the window; report only what reaches into it
                frame = F.ending_in_window(frame, rendered.values[query.window[0]])
        frame.attrs["query"] = query.name
        if aside:
            frame.attrs["set_aside"] = aside
        return frame

    def detect(self, names: Iterable[str] | None = None, **values: Any) -> pd.DataFrame:
        """Run detections (all that run on this engine, by default) and return their findings, most severe first.

        `values` are passed to each detection that declares a parameter of that name.
        """
        if names is None:
            chosen = [q for q in self.catalog.values() if q.is_detection and self.engine.name in q.engines]
        else:
            chosen = [self.query(n) for n in names]
        plan = [(query, {k: v for k, v in values.items() if k in query.params}) for query in chosen]
        frames = []
        with self.sharing(plan):
            for query, own in plan:
                frames.append(self.run(query.name, **own))
        return F.concat(frames)

    @contextlib.contextmanager
    def sharing(self, plan: Sequence[tuple[C.Query, Mapping[str, Any]]]) -> Iterator[None]:
        """Shared work for a batch of queries (each with its own values): the engine reads the widest
        span any of them reads (baselines and lookbacks included), with the columns they name, once
        (Engine.shared_scan). A query whose values are invalid is left out of the span; its run
        raises as before. What the shared read scanned counts against the byte budget."""
        from . import schema
        from .engines.columns import columns_read

        spans: list[tuple[Any, Any]] = []
        columns: set[str] | None = set()
        for query, own in plan:
            merged = {**self.defaults_for(query), **own}
            try:
                spans.append(query.read_window(merged))
                rendered = query.render(self.engine, **merged)
            except (P.ParameterError, C.CatalogError):
                continue
            if columns is not None:
                read = columns_read(rendered.sql, schema.COLUMN_NAMES)
                columns = None if read is None else columns | set(read)
        if len(spans) < 2:
            yield
            return
        before = self.engine.shared_bytes_scanned
        try:
            with self.engine.shared_scan(min(s for s, _ in spans), max(e for _, e in spans),
                                         None if columns is None else sorted(columns)):
                self.bytes_scanned += self.engine.shared_bytes_scanned - before
                before = self.engine.shared_bytes_scanned
                yield
        finally:
            self.bytes_scanned += self.engine.shared_bytes_scanned - before

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

    def masked_summary(self) -> dict[str, Any]:
        """What was masked as credential material: counts by query and field, and the kinds; never a value."""
        by_field: dict[str, int] = {}
        for query, hit in self.masked:
            key = f"{query}: {hit.where}"
            by_field[key] = by_field.get(key, 0) + 1
        return {"total": len(self.masked), "by_field": by_field, "kinds": mask.kinds(hit for _, hit in self.masked)}

    def describe(self) -> dict[str, Any]:
        return {**self.engine.describe(), "start": P.iso(self.start), "end": P.iso(self.end),
                "byte_budget": self.byte_budget, "bytes_scanned": self.bytes_scanned}

    def close(self) -> None:
        self.engine.close()


def open_session(engine: str = "local", *, start: Any, end: Any, source: Any = None, store: Any = None,
                 accounts: Sequence[str] = (), regions: Sequence[str] = (), byte_budget: int | None = None,
                 progress: bool = False, **options: Any) -> Session:
    """Open a session on one engine for one window. The notebooks' first call.

    On the local engine, `source` and `store` are prepared first (`sources.prepare`: what is new in
    the source is ingested); the cloud engines ignore them and take their settings as `options`.
    """
    from . import engines

    prepared = sources.prepare(source, store, progress=progress) if engine == "local" else None
    built = engines.create(engine, accounts=accounts, regions=regions,
                           **({"store": prepared.store} if prepared else {}), **options)
    return Session(built, start=start, end=end, byte_budget=byte_budget, prepared=prepared)
