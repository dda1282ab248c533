"""Prepare the data once, before any notebook starts.

On the local engine the store is brought up to date once (`sources.prepare`) and every notebook is
given its path: they open it read-only, which many processes may do together.
"""

from __future__ import annotations

from typing import Any

from .. import sources
from .plan import ReportPlan, default_value


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
    return prepared.to_dict()
