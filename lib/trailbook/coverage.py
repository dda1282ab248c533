"""How much data a window holds, and the default window that covers the data given.

`measure` runs the catalog's `coverage` query (queries/cloudtrail/coverage.sql) through a
session, so its SQL is recorded like any other query's. An empty window is never clean:
`require_data` turns zero events into `NoDataError` (exit 4), because CloudTrail never goes a
week without events in a live account; zero means a broken pipeline or a wrong window.

`choose_window` picks the window when the user gave no --start or --end: the store's whole
range, at most `MAX_DEFAULT_WINDOW`, and never past now + `FUTURE_SLACK` (events dated later
are bad records, whatever put them in the store).

`detect` runs detections and says where each baseline came from (a detection that learns what
is usual from the days before its window, such as the first-seen ones).

Layer: the session's (imports session and what lies below it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import catalog as C
from . import findings as F
from . import params as P
from .errors import NoDataError
from .session import Session

QUERY = "coverage"
# The span "all time" reads: the query's own defaults (4-digit years keep partition text ordered).
ALL_TIME = (dt.datetime(1000, 1, 1, tzinfo=dt.timezone.utc),
            dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc))
MAX_DEFAULT_WINDOW = dt.timedelta(days=90)  # the longest window `findings` picks by itself
FUTURE_SLACK = dt.timedelta(days=1)  # clock skew allowed; a later eventTime is a bad record
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Coverage:
    """Events in [start, end) for the engine's scope, and in the scanned span around it."""

    start: dt.datetime
    end: dt.datetime
    events: int
    accounts: int
    regions: int
    first_event: dt.datetime | None  # in the window
    last_event: dt.datetime | None
    before: int  # events in the scanned span earlier than start
    after: int  # events in the scanned span at or after end
    scan: tuple[dt.datetime, dt.datetime]
    scan_first: dt.datetime | None  # first and last event of the scanned span
    scan_last: dt.datetime | None

    @property
    def empty(self) -> bool:
        return self.events == 0

    @property
    def outside(self) -> int:
        return self.before + self.after

    def window_text(self) -> str:
        return f"{_minute(self.start)} → {_minute(self.end)}"


def measure(session: Session, start: Any = None, end: Any = None, *,
            scan: tuple[Any, Any] | None = None) -> Coverage:
    """Coverage of [start, end) (default: the session's window). `scan` is the span read to count
    events outside the window: all time by default (cheap on the local store, a full scan on
    Athena or Lake, where (start, end) reads only the window)."""
    lo = P.parse_timestamp(session.start if start is None else start, "start")
    hi = P.parse_timestamp(session.end if end is None else end, "end")
    scan_lo, scan_hi = (P.parse_timestamp(v, "scan") for v in (scan or ALL_TIME))
    frame = session.run(QUERY, scan_start=scan_lo, scan_end=scan_hi, start=lo, end=hi)
    row = frame.iloc[0].to_dict() if len(frame) else {}
    return Coverage(
        start=lo, end=hi, events=_int(row.get("events")), accounts=_int(row.get("accounts")),
        regions=_int(row.get("regions")), first_event=_time(row.get("first_event")),
        last_event=_time(row.get("last_event")), before=_int(row.get("events_before")),
        after=_int(row.get("events_after")), scan=(scan_lo, scan_hi), scan_first=_time(row.get("scan_first")),
        scan_last=_time(row.get("scan_last")),
    )


def require_data(cov: Coverage, scope: str) -> None:
    """NoDataError (exit 4) when the window holds no events: never report an empty window as clean."""
    if not cov.empty:
        return
    if cov.scan_first is None:
        around = "the store holds no events at all"
    else:
        around = (f"{cov.outside:,} events outside it ({cov.before:,} before, {cov.after:,} after; "
                  f"data from {_minute(cov.scan_first)} to {_minute(cov.scan_last)})")
    raise NoDataError(f"no data: 0 events in {cov.window_text()} for {scope}; {around}. "
                      "A broken pipeline or a wrong window: check the source and --start/--end")


@dataclass(frozen=True)
class Window:
    """A window chosen for the user, and why."""

    start: dt.datetime
    end: dt.datetime
    capped: bool = False  # the data reaches back further than MAX_DEFAULT_WINDOW
    clamped: bool = False  # events lie past now + FUTURE_SLACK; the end stops there


def choose_window(span: Coverage, start: dt.datetime | None, end: dt.datetime | None,
                  now: dt.datetime | None = None) -> Window:
    """The window for what the user left out, from `span` (coverage of all time): the whole
    source up to MAX_DEFAULT_WINDOW, in whole UTC days, never ending after now + FUTURE_SLACK."""
    limit = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0) + FUTURE_SLACK
    first, last = span.scan_first, span.scan_last
    if first is None or last is None:
        raise NoDataError(f"no data: the store holds no events at all ({span.window_text()})")
    clamped = capped = False
    if end is None:
        end = _day(last) + DAY
        if end > limit:
            end, clamped = limit, True
        if start is not None and end <= start:
            end = start + DAY  # the data ends before the given start: an empty window, reported as such
    if start is None:
        start = _day(first)
        if start < end - MAX_DEFAULT_WINDOW:
            start, capped = end - MAX_DEFAULT_WINDOW, True
        if start >= end:
            start = end - DAY
    return Window(start, end, capped=capped, clamped=clamped)


def window_line(window: Window, cov: Coverage) -> str:
    """One stderr line: the window run and how much of the store fell outside it."""
    how = f"capped at {MAX_DEFAULT_WINDOW.days} days" if window.capped else "whole source"
    parts = [f"window {cov.window_text()} ({how}); {cov.outside:,} events outside"]
    if window.capped and cov.before:
        parts.append(f"{cov.before:,} earlier events not analysed, pass --start to include them")
    if window.clamped:
        parts.append(f"end clamped to now + 1 day: {cov.after:,} events dated later are bad records, not analysed")
    return "; ".join(parts)


def detect(session: Session, names: list[str] | None = None, *,
           baselines_inside: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Run the detections (default: all on the session's engine); say where each baseline came from.

    A detection whose scan starts at a baseline (`baseline_start`, default `start - 14d`) learns
    what is usual from the days before the window. With `baselines_inside` (the window starts at
    the store's first event, so nothing lies before it) the window's own first days are the
    baseline and the detection judges the rest, when the window is long enough.
    """
    chosen = ([session.query(n) for n in names] if names is not None else
              [q for q in session.catalog.values() if q.is_detection and session.engine.name in q.engines])
    plan: list[tuple[C.Query, dict[str, Any]]] = []
    used: dict[tuple[Any, Any], list[str]] = {}
    for query in chosen:
        values: dict[str, Any] = {}
        length = baseline_length(query)
        if length is not None:
            judged = session.start
            if baselines_inside and session.start + length < session.end:
                judged = values["start"] = session.start + length
            used.setdefault((judged - length, judged), []).append(query.name)
        plan.append((query, values))
    with session.sharing(plan):  # one read of the span for every detection (Engine.shared_scan)
        frames = [session.run(query.name, **values) for query, values in plan]
    lines = []
    for (lo, hi), queries in sorted(used.items()):
        base = measure(session, lo, hi, scan=(lo, hi))
        if hi > session.start:
            where = f"the window's first days, as the store holds nothing earlier; they judge {hi:%Y-%m-%dT%H:%MZ} on"
        else:
            where = "the days before the window"
        note = "" if base.events else ": nothing to compare against, so they report nothing new"
        lines.append(f"baseline: {len(queries)} detections learn what is usual from {base.window_text()} "
                     f"({(hi - lo).days} days, {where}; {base.events:,} events{note})")
    return F.concat(frames), lines


def edges_text(catalog: dict[str, C.Query], engine: str) -> str | None:
    """What the detections that read before the window (`lookback`) do at its start, for the scope."""
    spans = [q.lookback_span({k: p.default for k, p in q.params.items()}) for q in catalog.values()
             if q.is_detection and q.lookback and engine in q.engines]
    if not spans:
        return None
    longest = max(spans)
    hours = longest.total_seconds() / 3600
    return (f"{len(spans)} detections that count or correlate over a span read up to "
            f"{hours:g} h before the window's start (their defaults), so a burst or sequence cut by the start is "
            f"reported whole here, with its first event before it; one that ended before the start belongs to "
            f"the previous report.")


def baseline_length(query: C.Query) -> dt.timedelta | None:
    """How far before `start` a detection's baseline reaches (None: it needs none)."""
    if query.window[0] == "start":
        return None
    relative = query.relative_default(query.params[query.window[0]])
    if relative is None or relative[0] != "start":
        return None
    return -relative[1]


def _day(ts: dt.datetime) -> dt.datetime:
    return ts.replace(hour=0, minute=0, second=0, microsecond=0)


def _minute(ts: dt.datetime | None) -> str:
    return "?" if ts is None else f"{ts:%Y-%m-%dT%H:%MZ}"


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _time(value: Any) -> dt.datetime | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "":
        return None
    return P.parse_timestamp(value, "eventtime")
