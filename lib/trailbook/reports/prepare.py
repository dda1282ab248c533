"""Prepare the data once, before any notebook starts.

On the local engine the store is brought up to date once (`sources.prepare`) and every notebook is
given its path: they open it read-only, which many processes may do together. Then every detection
runs once over the report's window and each notebook that declares `incidents_from` is given the
findings file, so all of them mark the same incidents (one story) and none runs the detections again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from .. import findings as F
from .. import sources
from .plan import ReportPlan, default_value

STORY_PARAMETER = "incidents_from"
STORY_FOLDER = ".story"  # in the store: the findings a report's notebooks take their incidents from


def prepare_local_store(plan: ReportPlan, progress: bool) -> dict[str, Any] | None:
    """Ingest what is new in the notebooks' source; rewrite their parameters to open the store.

    Returns what was prepared (for the manifest), or None when there is nothing to prepare.
    """
    if plan.engine != "local":
        return None
    takers = [nb for nb in plan.notebooks if {"source", "store"} <= set(nb.declared)]
    source = next((nb.parameters.get("source", default_value(nb.declared["source"])) for nb in takers), None)
    store = next((nb.parameters.get("store", default_value(nb.declared["store"])) for nb in takers), None)
    if not takers or not source:
        return None
    prepared = sources.prepare(source, store or None, progress=progress)
    for nb in takers:
        nb.parameters["source"], nb.parameters["store"] = "", str(prepared.store)
    record = prepared.to_dict()
    record[STORY_PARAMETER], record["incidents_error"] = prepare_story(plan, prepared.store)
    return record


def prepare_story(plan: ReportPlan, store: Path) -> tuple[str | None, str | None]:
    """Run every detection once over the window; give the findings file to the notebooks that take it.

    Returns the file (None when no notebook takes it) and, when the detections failed, why: each
    notebook then runs them itself and reports the same failure on its own page.
    """
    from .. import coverage
    from ..session import open_session

    takers = [nb for nb in plan.notebooks if STORY_PARAMETER in nb.declared and not nb.parameters.get(STORY_PARAMETER)]
    if not takers:
        return None, None
    scope = {name: list(takers[0].parameters.get(name) or []) for name in ("accounts", "regions")}
    name = hashlib.sha256(repr((plan.start, plan.end, scope)).encode()).hexdigest()[:16]
    target = Path(store) / STORY_FOLDER / f"{name}.findings.jsonl"
    try:
        session = open_session("local", start=plan.start, end=plan.end, store=str(store),
                               accounts=scope["accounts"], regions=scope["regions"])
        found, _ = coverage.detect(session)
        target.parent.mkdir(exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        F.write_jsonl(found, partial)
        partial.replace(target)  # whole or absent: a report running beside this one never reads half a file
    except Exception as exc:  # the notebooks meet the same problem and report it in their pages
        return None, f"{type(exc).__name__}: {exc}"
    for nb in takers:
        nb.parameters[STORY_PARAMETER] = str(target)
    return str(target), None
