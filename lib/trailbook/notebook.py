"""Kernel-side helpers for trailbook's notebooks: strict parameters, the session, and display.

Notebooks call `begin(name, globals())` right after their `parameters` cell. It
checks every name papermill injected against the notebook's own parameters cell,
so a misspelt `-p` name is an error even under plain papermill (which only warns),
then opens the session. Findings and evidence are displayed as HTML for people and
as JSON under trailbook's own MIME types, so the executed notebook carries its
results in machine-readable form for reports.
"""

from __future__ import annotations

import html
import json
import types
from collections.abc import Mapping
from typing import Any

import pandas as pd

from . import findings as F
from . import params as P
from . import paths
from .contract import EVIDENCE_MIME
from .session import Session, open_session

# Names IPython itself puts in a kernel's namespace.
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}
# Parameters every notebook shares; the rest are the notebook's own (thresholds, lists).
SESSION_PARAMETERS = ("engine", "source", "store", "start", "end", "accounts", "regions", "config", "byte_budget")


class NotebookParameterError(P.ParameterError):
    """A notebook was given a parameter it does not declare, or a value of the wrong kind."""


def declared_parameters(name: str) -> dict[str, dict[str, Any]]:
    """The notebook's parameters cell, as papermill reads it: {name: {inferred_type_name, default, help}}."""
    import papermill

    path = paths.notebooks_dir() / f"{name}.ipynb"
    if not path.exists():
        raise FileNotFoundError(f"no notebook {path}")
    return dict(papermill.inspect_notebook(str(path)))


def _user_names(namespace: Mapping[str, Any]) -> set[str]:
    return {
        key for key, value in namespace.items()
        if not key.startswith("_") and key not in _KERNEL_NAMES and not isinstance(value, types.ModuleType)
    }


def check_parameters(name: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook's parameter values; raises on any name the parameters cell does not declare."""
    declared = declared_parameters(name)
    unknown = sorted(_user_names(namespace) - set(declared))
    if unknown:
        raise NotebookParameterError(
            f"{name}: unknown parameter(s) {unknown}. This notebook takes: {', '.join(sorted(declared))}"
        )
    return {key: namespace[key] for key in declared if key in namespace}


def begin(name: str, namespace: Mapping[str, Any]) -> Session:
    """Validate the notebook's parameters and open its session (the first call after the parameters cell)."""
    values = check_parameters(name, namespace)
    engine = str(values.get("engine", "local"))
    source = values.get("source") or None
    store = values.get("store") or None
    session = open_session(
        engine,
        start=values["start"],
        end=values["end"],
        source=source,
        store=store,
        accounts=values.get("accounts") or (),
        regions=values.get("regions") or (),
        byte_budget=values.get("byte_budget") or None,
        **({"config_file": str(values["config"])} if values.get("config") else {}),
    )
    session.notebook = name
    session.notebook_parameters = {k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items()}
    return session


class _Bundle:
    """An object Jupyter displays as HTML, carrying JSON under a trailbook MIME type too."""

    def __init__(self, html_text: str, mime: str, payload: Any, text: str) -> None:
        self.html_text, self.mime, self.payload, self.text = html_text, mime, payload, text

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html_text, "text/plain": self.text, self.mime: self.payload}


_TABLE_STYLE = (
    "<style>table.trailbook-table{border-collapse:collapse;font-size:12px;margin:4px 0 12px}"
    "table.trailbook-table th{text-align:left;background:#f3f4f6;padding:4px 6px;border-bottom:1px solid #ccc}"
    "table.trailbook-table td{vertical-align:top;padding:3px 6px;border-bottom:1px solid #eee;"
    "max-width:26em;overflow-wrap:anywhere}"
    "table.trailbook-table tr.sev-critical td:first-child{border-left:4px solid #7f1d1d}"
    "table.trailbook-table tr.sev-high td:first-child{border-left:4px solid #dc2626}"
    "table.trailbook-table tr.sev-medium td:first-child{border-left:4px solid #f59e0b}</style>"
)
MAX_CELL_CHARS = 120
MAX_LIST_ITEMS = 4


def _cell(value: Any) -> str:
    """One table cell as escaped text: lists shortened, long text cut (the JSON output keeps everything)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, (list, tuple)):
        shown = ", ".join(map(str, value[:MAX_LIST_ITEMS]))
        more = len(value) - MAX_LIST_ITEMS
        text = shown + (f" … (+{more})" if more > 0 else "")
    else:
        text = str(value)
        if text in ("NaT", "nan", "None"):
            return ""
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return html.escape(text)


def _table_html(frame: pd.DataFrame, max_rows: int) -> str:
    shown = frame.head(max_rows)
    header = "".join(f"<th>{html.escape(str(c).replace('_', ' '))}</th>" for c in shown.columns)
    rows = []
    for record in shown.itertuples(index=False):
        values = record._asdict() if hasattr(record, "_asdict") else dict(zip(shown.columns, record))
        severity = values.get("severity") if isinstance(values, dict) else None
        css = f" class='sev-{html.escape(str(severity))}'" if severity else ""
        rows.append(f"<tr{css}>" + "".join(f"<td>{_cell(v)}</td>" for v in record) + "</tr>")
    more = f"<p><em>{len(frame) - max_rows} more rows not shown.</em></p>" if len(frame) > max_rows else ""
    return (_TABLE_STYLE + f"<table class='trailbook-table'><thead><tr>{header}</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + more)


def _short_time(value: Any) -> str:
    text = "" if value is None else str(value)
    return text[:16].replace("T", " ") if len(text) >= 16 else text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _finding_rows(normalized: pd.DataFrame) -> pd.DataFrame:
    """The findings as people read them: one compact row each; every value stays in the JSON output."""
    extras = [c for c in normalized.columns if c not in F.FINDING_COLUMNS]
    rows = []
    for record in normalized.to_dict(orient="records"):
        first, last = _short_time(record["first_seen"]), _short_time(record["last_seen"])
        details = []
        if record.get("user_agent"):
            details.append("agent: " + _clip(str(record["user_agent"]), 60))
        for column in extras:
            value = record.get(column)
            if value is None or (isinstance(value, float) and pd.isna(value)) or (hasattr(value, "__len__") and not isinstance(value, str) and len(value) == 0):
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # counts come back as floats from pandas when a column has NULLs
            if hasattr(value, "tolist") and not isinstance(value, str):
                value = value.tolist()
            shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
            details.append(f"{column.replace('_', ' ')}: " + _clip(shown, 80))
        rows.append({
            "severity": record["severity"],
            "detection": record["detection"],
            "when (UTC)": first if first == last else f"{first} → {last}",
            "account": record["account_id"],
            "principal": record["principal_arn"],
            "access key": record["access_key_id"],
            "source ip": record["source_ip"],
            "events": record["event_count"],
            "event names": record["event_names"],
            "details": "; ".join(details),
        })
    return pd.DataFrame(rows)


def _event_ids_html(normalized: pd.DataFrame) -> str:
    items = "".join(
        f"<li><code>{html.escape(str(r['detection']))}</code> {html.escape(str(r['principal_arn'] or ''))}: "
        f"{html.escape(', '.join(r['event_ids']))}"
        + (f" (of {r['event_count']})" if r["event_count"] > len(r["event_ids"]) else "") + "</li>"
        for r in normalized.to_dict(orient="records")
    )
    return f"<details><summary>Supporting CloudTrail eventIDs</summary><ul style='font-size:12px'>{items}</ul></details>"


def show_findings(frame: pd.DataFrame, *, title: str = "Findings", max_rows: int = 200) -> _Bundle:
    """A findings table for people, with every finding as JSON for reports (findings.jsonl)."""
    normalized = F.normalize(frame)
    counts = F.counts_by_severity(normalized)
    summary = ", ".join(f"{n} {sev}" for sev, n in counts.items() if n) or "none"
    heading = f"<h4 class='trailbook-findings'>{html.escape(title)}: {len(normalized)} ({html.escape(summary)})</h4>"
    if len(normalized):
        body = _table_html(_finding_rows(normalized), max_rows) + _event_ids_html(normalized.head(max_rows))
    else:
        body = "<p>No findings in this window.</p>"
    return _Bundle(heading + body, F.FINDINGS_MIME, F.to_records(normalized), f"{title}: {len(normalized)} ({summary})")


def show_evidence(session: Session) -> _Bundle:
    """The evidence appendix: every query as run, with its parameters and statistics."""
    records = session.evidence_records()
    parts = ["<h4 class='trailbook-evidence'>Evidence: queries as run</h4>",
             f"<p>Engine <code>{html.escape(session.engine.name)}</code>, window "
             f"{html.escape(P.iso(session.start))} to {html.escape(P.iso(session.end))}.</p>"]
    frame = session.evidence_frame()
    if not frame.empty:
        parts.append(_table_html(frame, 1000))
    for run in records:
        stats = {k: v for k, v in run["stats"].items() if k != "local_sql"}
        parts.append(
            f"<details><summary><code>{html.escape(run['query'])}</code> ({html.escape(run['status'])}, "
            f"{run['rows'] if run['rows'] is not None else '-'} rows)</summary>"
            f"<p>Parameters: <code>{html.escape(json.dumps(run['parameters'], default=str))}</code></p>"
            f"<p>Statistics: <code>{html.escape(json.dumps(stats, default=str))}</code></p>"
            f"<pre>{html.escape(run['sql'])}</pre></details>"
        )
    payload = {"session": session.describe(), "queries": records,
               "parameters": getattr(session, "notebook_parameters", {})}
    return _Bundle("\n".join(parts), EVIDENCE_MIME, json.loads(json.dumps(payload, default=str)),
                   f"Evidence: {len(records)} queries")


def show_table(frame: pd.DataFrame, *, title: str | None = None, max_rows: int = 100) -> _Bundle:
    heading = f"<h4>{html.escape(title)}</h4>" if title else ""
    body = _table_html(frame, max_rows) if len(frame) else "<p>No rows.</p>"
    return _Bundle(heading + body, "application/json", {"rows": len(frame)}, f"{title or 'table'}: {len(frame)} rows")
