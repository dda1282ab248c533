"""How many events each notebook's window and scope hold, measured once before the notebooks run.

Zero is its own status, "no data": CloudTrail never goes a week without events in a live account,
so an empty window means a broken pipeline, a wrong source or a wrong window, never "clean".
Notebooks with the same engine, store, config and scope share one measurement.
"""

from __future__ import annotations

from typing import Any

from .. import coverage
from .. import params as P
from ..session import open_session
from .plan import NotebookPlan, ReportPlan

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
