"""How many events each notebook's window and scope hold, measured once before the notebooks run.

Zero is its own status, "no data": CloudTrail never goes a week without events in a live account,
so an empty window means a broken pipeline, a wrong source or a wrong window, never "clean".
Notebooks with the same engine, store, config and scope share one measurement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import __version__, coverage
from .. import params as P
from ..analyses.explain import CIS_BENCHMARK
from ..catalog import load_catalog
from ..session import open_session
from .plan import NotebookPlan, ReportPlan, default_value
from .publish import catalog_revision

SCOPE_PARAMETERS = ("store", "config", "accounts", "regions")


def _key(plan: ReportPlan, nb: NotebookPlan) -> tuple[Any, ...]:
    return (plan.engine, *(str(nb.parameters.get(name, "")) for name in SCOPE_PARAMETERS))


def _measure(plan: ReportPlan, nb: NotebookPlan) -> dict[str, Any]:
    values = nb.parameters
    options: dict[str, Any] = {"config_file": str(values["config"])} if values.get("config") else {}
    local = plan.engine == "local"
    try:
        session = open_session(plan.engine, start=plan.start, end=plan.end, source=None,
                               store=values.get("store") or None, accounts=values.get("accounts") or (),
                               regions=values.get("regions") or (), **options)
        try:
            # On the local store all time is cheap and says where the data is; a cloud engine reads the window.
            found = coverage.measure(session, scan=None if local else (plan.start, plan.end))
        finally:
            session.close()
    except Exception as exc:  # unknown coverage is not "no data": the notebooks still run and report
        return {"events": None, "error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"}
    return {"events": found.events, "accounts": found.accounts, "regions": found.regions,
            "first_event": P.iso(found.first_event) if found.first_event else None,
            "last_event": P.iso(found.last_event) if found.last_event else None,
            "events_outside_window": found.outside if local else None}


def measure_scopes(plan: ReportPlan) -> dict[str, dict[str, Any]]:
    """Coverage per notebook name (only notebooks that read a store or an engine: those that declare `start`)."""
    measured: dict[tuple[Any, ...], dict[str, Any]] = {}
    out = {}
    for nb in plan.notebooks:
        if plan.engine == "local" and not nb.parameters.get("store"):
            continue  # nothing was prepared for it (no source): its own page says what it read
        key = _key(plan, nb)
        if key not in measured:
            measured[key] = _measure(plan, nb)
        out[nb.name] = measured[key]
    return out


# --- the run's scope, for the index's first screen ----------------------------------------

GAP_RULE = ("A logging gap is a run of whole UTC hours with no CloudTrail event for an account and region "
            "that normally logs: one with events in at least {share:.0%} of the window's hours "
            "(catalog query logging_gaps).")
MIN_ACTIVE_SHARE = 0.8


def describe_scope(plan: ReportPlan, prepared: dict[str, Any] | None) -> dict[str, Any]:
    """What the run covered: events per account, region and day, logging gaps, sources, IAM snapshots.

    Measured once over the first notebook that reads events; never raises (an error is recorded)."""
    scope: dict[str, Any] = {"engine": plan.engine, "window": [plan.start, plan.end],
                             "trailbook_version": __version__, "cis_benchmark": CIS_BENCHMARK,
                             "catalog": catalog_revision(),
                             "sources": _sources(plan, prepared), "iam_snapshots": _snapshots(plan, prepared),
                             "gap_rule": GAP_RULE.format(share=MIN_ACTIVE_SHARE), "per_day": [], "gaps": [],
                             "queries": [], "error": None}
    scope["edges"] = coverage.edges_text(load_catalog(strict=False), plan.engine)
    readers = [nb for nb in plan.notebooks if "start" in nb.declared
               and (plan.engine != "local" or nb.parameters.get("store"))]
    if not readers:
        scope["error"] = "no notebook read CloudTrail events"
        return scope
    values = readers[0].parameters
    options: dict[str, Any] = {"config_file": str(values["config"])} if values.get("config") else {}
    try:
        session = open_session(plan.engine, start=plan.start, end=plan.end, source=None,
                               store=values.get("store") or None, accounts=values.get("accounts") or (),
                               regions=values.get("regions") or (), **options)
        try:
            scope["per_day"] = _records(session.run("events_by_day"))
            scope["gaps"] = _records(session.run("logging_gaps", min_active_share=MIN_ACTIVE_SHARE))
        finally:
            scope["queries"] = session.evidence_records()
            session.close()
    except Exception as exc:  # the scope is reported as unknown; the notebooks still run and report
        scope["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return scope


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{k: (None if v is None or (isinstance(v, float) and v != v) else v) for k, v in row.items()}
            for row in frame.astype(object).to_dict(orient="records")]


def _sources(plan: ReportPlan, prepared: dict[str, Any] | None) -> list[str]:
    if plan.engine == "local":
        if prepared:
            return [f"source {prepared.get('source')}", f"local store {prepared.get('store')}"]
        stores = sorted({str(nb.parameters["store"]) for nb in plan.notebooks if nb.parameters.get("store")})
        return [f"local store {s}" for s in stores]
    configs = sorted({str(nb.parameters["config"]) for nb in plan.notebooks if nb.parameters.get("config")})
    return [f"{plan.engine} (settings from {', '.join(configs) or 'the environment'})"]


def _snapshots(plan: ReportPlan, prepared: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The IAM snapshot each notebook that takes one was given, with its collection time."""
    from ..iam.snapshot import load_snapshot

    out: dict[str, dict[str, Any]] = {}
    for nb in plan.notebooks:
        if "iam_snapshot" not in nb.declared:
            continue
        value = str(nb.parameters.get("iam_snapshot") or default_value(nb.declared["iam_snapshot"]) or "auto")
        entry: dict[str, Any] = {"parameter": value, "path": None, "collected_at": None, "note": None}
        path = (prepared or {}).get("iam_snapshot") if value == "auto" else (None if value == "live" else value)
        if value == "live":
            entry["note"] = "collected live during the run (read-only); see the notebook's page"
        elif path:
            try:
                folder = Path(path)
                if not (folder / "snapshot.json").is_file():
                    folder = sorted(p for p in folder.glob("iam-*") if (p / "snapshot.json").is_file())[-1]
                snapshot = load_snapshot(folder)
                entry.update(path=str(folder), collected_at=P.iso(snapshot.collected_at))
            except Exception as exc:  # the notebook reports the same problem on its page
                entry["note"] = f"unreadable: {type(exc).__name__}: {exc}"
        else:
            entry["note"] = "none found for this source"
        out.setdefault(json.dumps(entry, sort_keys=True), {**entry, "notebooks": []})["notebooks"].append(nb.name)
    return list(out.values())
