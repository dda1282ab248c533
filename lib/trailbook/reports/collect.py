"""Collect what the workers returned: one result per notebook, the findings (deduplicated), the queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import findings as F

NO_DATA = "no data"
# A finding shown twice by one notebook (e.g. in two tables) is one finding.
DEDUPE_ON = ["detection", "first_seen", "last_seen", "principal_arn", "access_key_id", "source_ip", "event_count"]


@dataclass
class NotebookResult:
    name: str
    title: str
    status: str  # ok | failed | no data
    error: dict[str, Any] | None
    started_at: str
    ended_at: str
    duration_s: float
    parameters: dict[str, Any]
    ipynb: str
    html: str
    findings: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    failed_queries: list[str] = field(default_factory=list)
    # Every parameter as the notebook ran with it (its defaults included), from its evidence output.
    effective_parameters: dict[str, Any] = field(default_factory=dict)
    # What the session masked as credential material: counts by field, never the values.
    masked: dict[str, Any] = field(default_factory=dict)
    events_in_scope: int | None = None  # events in the notebook's window and scope, when it reported them
    coverage: dict[str, Any] = field(default_factory=dict)


@dataclass
class Collected:
    results: list[NotebookResult]
    findings: pd.DataFrame
    queries: list[dict[str, Any]]


def query_record(run: Mapping[str, Any], notebook: str) -> dict[str, Any]:
    """One query as run, for the manifest."""
    stats = run.get("stats") or {}
    return {
        "notebook": notebook, "query": run.get("query"), "engine": run.get("engine"), "status": run.get("status"),
        "execution_id": stats.get("execution_id"), "bytes_scanned": stats.get("bytes_scanned"),
        "events_scanned": stats.get("events_scanned"), "cost_usd": stats.get("cost_usd"),
        "engine_ms": stats.get("engine_ms"), "rows": run.get("rows"), "started_at": run.get("started_at"),
        "ended_at": run.get("ended_at"), "parameters": run.get("parameters"), "sql": run.get("sql"),
        "local_sql": stats.get("local_sql"), "error": run.get("error"),
    }


def findings_of(item: Mapping[str, Any]) -> pd.DataFrame:
    """One notebook's findings in the shared shape, each once, with the notebook's name."""
    frame = F.normalize(pd.DataFrame(item["findings"])) if item["findings"] else F.empty()
    if len(frame):
        frame = frame.drop_duplicates(subset=DEDUPE_ON)
    return frame.assign(report=item["name"])


def result_of(item: Mapping[str, Any], frame: pd.DataFrame, coverage: Mapping[str, Any]) -> NotebookResult:
    evidence = item.get("evidence") or {}
    runs = evidence.get("queries", [])
    failed_queries = [run.get("query") for run in runs if run.get("status") != "ok"]
    result = NotebookResult(
        name=item["name"], title=item["title"], status=item["status"], error=item["error"],
        started_at=item["started_at"], ended_at=item["ended_at"], duration_s=item["duration_s"],
        parameters=item["parameters"], ipynb=item["ipynb"], html=item["html"], findings=len(frame),
        by_severity=F.counts_by_severity(frame), failed_queries=failed_queries,
        effective_parameters=dict(evidence.get("parameters") or {}),
        masked=dict(evidence.get("masked") or {}), events_in_scope=coverage.get("events"),
        coverage=dict(coverage))
    if result.status == "ok" and failed_queries:
        result.status = "failed"
        result.error = {"ename": "QueryFailed", "evalue": f"queries failed: {failed_queries}", "cell": None}
    if result.status == "ok" and result.events_in_scope == 0:
        result.status = NO_DATA  # an empty window is never clean: a broken pipeline or a wrong window
    return result


def collect(raw: list[dict[str, Any]], coverage: Mapping[str, Mapping[str, Any]]) -> Collected:
    results: list[NotebookResult] = []
    frames: list[pd.DataFrame] = []
    queries: list[dict[str, Any]] = []
    for item in raw:
        frame = findings_of(item)
        frames.append(frame)
        queries.extend(query_record(run, item["name"]) for run in (item.get("evidence") or {}).get("queries", []))
        results.append(result_of(item, frame, coverage.get(item["name"]) or {}))
    return Collected(results, concat_findings(frames), queries)


def concat_findings(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The run's findings, each once: a detection that two notebooks run (the exposure checks run in
    key_anomalies and unused_permissions) gives one finding, whose `report` names both."""
    if not any(len(f) for f in frames):
        return F.empty().assign(report=pd.Series(dtype=object))
    frame = F.concat(frames)
    keys = frame[DEDUPE_ON].astype(object).fillna("").astype(str)  # missing values compare equal, as ""
    reports = frame["report"].astype(str).groupby([keys[c] for c in DEDUPE_ON], sort=False, dropna=False) \
        .transform(lambda names: ", ".join(dict.fromkeys(n for name in names for n in name.split(", "))))
    return frame.assign(report=reports).loc[~keys.duplicated()].reset_index(drop=True)
