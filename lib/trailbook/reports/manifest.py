"""The run's record: versions, window, parameters, every notebook and query as run, what was masked."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import asdict
from typing import Any

import pandas as pd

from .. import __version__
from .. import findings as F
from ..errors import EXIT_FAILED, EXIT_FINDINGS, EXIT_NO_DATA, EXIT_OK, EXIT_USAGE
from .collect import Collected
from .execute import now
from .plan import ReportPlan
from .publish import catalog_revision

EXIT_CODES = {"ok": EXIT_OK, "failed": EXIT_FAILED, "usage": EXIT_USAGE, "findings": EXIT_FINDINGS,
              "no_data": EXIT_NO_DATA}


def build_manifest(*, plan: ReportPlan, stamp: str, started_at: dt.datetime, collected: Collected,
                   findings: pd.DataFrame, over: int | None, exit_code: int, shared: dict[str, Any],
                   redaction: dict[str, Any], local_store: Any, local_store_error: str | None) -> dict[str, Any]:
    """Everything but the file hashes (publish.write_manifest adds them)."""
    return {
        "trailbook_version": __version__,
        "run_id": stamp,
        "created_at": started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_at": now(),
        "engine": plan.engine,
        "window": {"start": plan.start, "end": plan.end},
        "catalog": catalog_revision(),
        "parameters": shared,
        "fail_on": plan.fail_on,
        "exit_code": exit_code,
        "exit_codes": EXIT_CODES,
        "redaction": redaction,
        "local_store": local_store,
        "local_store_error": local_store_error,
        "python": sys.version.split()[0],
        "notebooks": [asdict(r) for r in collected.results],
        "findings": {"total": len(findings), "by_severity": F.counts_by_severity(findings),
                     "at_or_above_fail_on": over},
        "queries": collected.queries,
        "files": {},
    }
