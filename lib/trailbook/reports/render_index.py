"""Render the run's index page: each report with its status and counts, then the findings.

Every table goes through `notebook.tables.table_html`, so the index reads like the notebooks' pages.
Self-contained like every page of a run: inline CSS, nothing loaded from the network.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..notebook.tables import TABLE_CSS, table_html
from . import render_incidents, render_scope

# --- the run's index page ----------------------------------------------------------------

_INDEX_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1400px;
       color: #222; padding: 0 16px; box-sizing: border-box; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
.meta { color: #555; margin-top: 0; }
.alerts { border: 2px solid #b71c1c; background: #fdecea; padding: .2em 1em; margin: 1em 0; }
.status-no-data { color: #c62828; font-weight: bold; }
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _alerts_html(alerts: Sequence[str]) -> str:
    if not alerts:
        return ""
    items = "".join(f"<li>{_esc(a)}</li>" for a in alerts)
    return f"<div class='alerts'><h2>Read first</h2><ul>{items}</ul></div>\n"


def _reports_table(reports: Sequence[Mapping[str, Any]], severities: Sequence[str]) -> str:
    """Each notebook: its page, status, findings by severity, time taken, and why it failed."""
    rows = []
    for report in reports:
        counts = report.get("by_severity") or {}
        row: dict[str, Any] = {"report": report["title"], "notebook": report["name"], "status": report["status"]}
        row.update({s: int(counts.get(s, 0)) for s in severities})
        row["total"] = int(report.get("findings") or 0)
        row["seconds"] = round(float(report.get("duration_s") or 0), 1)
        if any(r.get("error") for r in reports):
            row["error"] = report.get("error")
        rows.append(row)
    return table_html(pd.DataFrame(rows), css_class="trailbook-reports", with_css=False,
                      links={"report": [r.get("html") or None for r in reports]})


def _no_findings(no_data: bool) -> str:
    if no_data:  # zero findings over zero events says nothing: never show it as clean
        return "<p class='status-no-data'>No findings, because there was no data: this is not a clean result.</p>"
    return "<p>No findings in this window.</p>"


def index_html(
    *,
    title: str,
    run_id: str,
    engine: str,
    window: tuple[str, str],
    reports: Sequence[Mapping[str, Any]],
    severities: Sequence[str],
    findings: Sequence[Mapping[str, Any]],
    max_findings: int = 100,
    alerts: Sequence[str] = (),
    incidents: Sequence[Mapping[str, Any]] = (),
    checks: Mapping[str, Mapping[str, Any]] | None = None,
    scope: Mapping[str, Any] | None = None,
) -> str:
    """The summary page: each report with its status and counts by severity, then the top findings.

    `reports` items: name, title, status, html (relative link), by_severity {severity: n}, findings,
    duration_s, error. `findings` are finding records, most severe first. `alerts` are shown first.
    """
    no_data = any(report.get("status") == "no data" for report in reports)
    findings_table = (render_incidents.findings_by_check(findings, checks or {}, incidents, max_findings)
                      if findings else _no_findings(no_data))
    incidents_section = render_incidents.incidents_html(incidents, findings, checks or {})
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<style>{_INDEX_CSS}{TABLE_CSS}</style></head>
<body>
<h1>{_esc(title)}</h1>
<p class="meta">Run <code>{_esc(run_id)}</code> · engine <code>{_esc(engine)}</code> · window
{_esc(window[0])} to {_esc(window[1])}</p>
{_alerts_html(alerts)}{render_scope.scope_html(scope)}{incidents_section}
<h2>Reports</h2>
{_reports_table(reports, severities)}
<h2>Findings by check, most severe first</h2>
{findings_table}
<p class="meta">Machine-readable: <a href="findings.jsonl">findings.jsonl</a>, <a href="findings.csv">findings.csv</a>,
<a href="manifest.json">manifest.json</a> (parameters, queries as run, SHA-256 of every file),
<a href="SHA256SUMS">SHA256SUMS</a>.</p>
</body></html>
"""
