"""Render the run's index page: each report with its status and counts, then the findings.

Self-contained like every page of a run: inline CSS, nothing loaded from the network.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from . import render_incidents, render_scope

# --- the run's index page ----------------------------------------------------------------

_INDEX_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1400px;
       color: #222; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 1em 0; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; overflow-wrap: break-word;
         max-width: 24em; }
th { background: #f0f0f0; }
td.num { text-align: right; }
.status-ok { color: #1a7f37; font-weight: bold; }
.status-failed { color: #c62828; font-weight: bold; }
tr.sev-critical td:first-child { background: #b71c1c; color: #fff; font-weight: bold; }
tr.sev-high td:first-child { background: #e65100; color: #fff; font-weight: bold; }
tr.sev-medium td:first-child { background: #f9a825; }
tr.sev-low td:first-child { background: #e3f2fd; }
tr.sev-critical { background: #fdecea; }
tr.sev-high { background: #fff3e0; }
.alerts { border: 2px solid #b71c1c; background: #fdecea; padding: .2em 1em; margin: 1em 0; }
.status-no-data { color: #c62828; font-weight: bold; }
.error { color: #c62828; font-family: monospace; font-size: 12px; }
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _alerts_html(alerts: Sequence[str]) -> str:
    if not alerts:
        return ""
    items = "".join(f"<li>{_esc(a)}</li>" for a in alerts)
    return f"<div class='alerts'><h2>Read first</h2><ul>{items}</ul></div>\n"


def _report_row(report: Mapping[str, Any], severities: Sequence[str]) -> str:
    counts = report.get("by_severity") or {}
    cells = "".join(f"<td class='num'>{int(counts.get(s, 0))}</td>" for s in severities)
    title = _esc(report["title"])
    link = f"<a href='{_esc(report['html'])}'>{title}</a>" if report.get("html") else title
    error = f"<div class='error'>{_esc(report['error'])}</div>" if report.get("error") else ""
    status = str(report["status"])
    return (f"<tr><td>{link}<br><small>{_esc(report['name'])}</small>{error}</td>"
            f"<td class='status-{_esc(status.replace(' ', '-'))}'>{_esc(status)}</td>{cells}"
            f"<td class='num'>{int(report.get('findings') or 0)}</td>"
            f"<td class='num'>{float(report.get('duration_s') or 0):.1f}</td></tr>")


def _findings_table(findings: Sequence[Mapping[str, Any]], max_findings: int, no_data: bool) -> str:
    shown = list(findings)[:max_findings]
    if not shown:
        if no_data:  # zero findings over zero events says nothing: never show it as clean
            return "<p class='status-no-data'>No findings, because there was no data: this is not a clean result.</p>"
        return "<p>No findings in this window.</p>"
    rows = "".join(
        f"<tr class='sev-{_esc(item.get('severity'))}'><td>{_esc(item.get('severity'))}</td>"
        f"<td>{_esc(item.get('title') or item.get('detection'))}</td><td>{_esc(item.get('report'))}</td>"
        f"<td>{_esc(item.get('principal_arn'))}</td><td>{_esc(item.get('account_id'))}</td>"
        f"<td>{_esc(item.get('source_ip'))}</td><td>{_esc(item.get('first_seen'))}</td>"
        f"<td>{_esc(item.get('last_seen'))}</td><td class='num'>{int(item.get('event_count') or 0)}</td></tr>"
        for item in shown)
    more = (f"<p>{len(findings) - len(shown)} more findings in <a href='findings.csv'>findings.csv</a>.</p>"
            if len(findings) > len(shown) else "")
    return ("<table class='trailbook-findings-table'><thead><tr><th>severity</th><th>detection</th><th>report</th>"
            "<th>principal</th><th>account</th><th>source ip</th><th>first seen</th><th>last seen</th>"
            "<th>events</th></tr></thead><tbody>" + rows + "</tbody></table>" + more)


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
    head = "".join(f"<th>{_esc(s)}</th>" for s in severities)
    rows = [_report_row(report, severities) for report in reports]
    no_data = any(report.get("status") == "no data" for report in reports)
    findings_table = (render_incidents.findings_by_check(findings, checks or {}, incidents, max_findings)
                      if findings else _findings_table(findings, max_findings, no_data))
    incidents_section = render_incidents.incidents_html(incidents, findings, checks or {})
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<style>{_INDEX_CSS}</style></head>
<body>
<h1>{_esc(title)}</h1>
<p class="meta">Run <code>{_esc(run_id)}</code> · engine <code>{_esc(engine)}</code> · window
{_esc(window[0])} to {_esc(window[1])}</p>
{_alerts_html(alerts)}{render_scope.scope_html(scope)}{incidents_section}
<h2>Reports</h2>
<table class="trailbook-reports"><thead><tr><th>report</th><th>status</th>{head}<th>total</th>
<th>seconds</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<h2>Findings by check, most severe first</h2>
{findings_table}
<p class="meta">Machine-readable: <a href="findings.jsonl">findings.jsonl</a>, <a href="findings.csv">findings.csv</a>,
<a href="manifest.json">manifest.json</a> (parameters, queries as run, SHA-256 of every file),
<a href="SHA256SUMS">SHA256SUMS</a>.</p>
</body></html>
"""
