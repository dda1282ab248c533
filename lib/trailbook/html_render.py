"""Self-contained HTML for reports: executed notebooks with code hidden, and the run's index page.

Reports are read offline by auditors, so nothing may load from the network. nbconvert's
lab template adds require.js, MathJax and mermaid from CDNs; the template below removes
those blocks (trailbook's outputs are tables and PNG plots, which need no JavaScript).
Plots stay inline as data: URIs, which is nbconvert's default for image outputs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block extra_css -%}
<style type="text/css">
body { max-width: 1200px; margin: 0 auto; }
table.trailbook-table { border-collapse: collapse; font-size: 12px; }
.jp-RenderedHTMLCommon table.trailbook-table th, .jp-RenderedHTMLCommon table.trailbook-table td {
  border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
table.trailbook-table th { background: #f3f3f3; }
details pre { white-space: pre-wrap; background: #f7f7f7; padding: 6px; }
</style>
{%- endblock extra_css -%}
"""

# A resource the browser would fetch: script/img/iframe src, stylesheet links, CSS url() and @import.
_EXTERNAL = re.compile(
    r"""<(?:script|img|iframe|source|embed|video|audio)\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


def external_resources(page: str) -> list[str]:
    """Every reference in the page that would make a browser fetch from the network."""
    return [page[m.start(): m.end() + 60] for m in _EXTERNAL.finditer(page)]


def notebook_title(nb: Any, default: str) -> str:
    """The notebook's first markdown heading, or `default`."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip() or default
    return default


def notebook_html(nb: Any, title: str) -> str:
    """The executed notebook as one HTML page: outputs only, no prompts, no network references."""
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"trailbook_report.html.j2": _TEMPLATE})],
        template_file="trailbook_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    page, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    found = external_resources(page)
    if found:
        raise ValueError(f"rendered report for {title!r} references network resources: {found[:3]}")
    return page


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
.error { color: #c62828; font-family: monospace; font-size: 12px; }
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


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
) -> str:
    """The summary page: each report with its status and counts by severity, then the top findings.

    `reports` items: name, title, status, html (relative link), by_severity {severity: n}, findings,
    duration_s, error. `findings` are finding records, most severe first.
    """
    head = "".join(f"<th>{_esc(s)}</th>" for s in severities)
    rows = []
    for report in reports:
        counts = report.get("by_severity") or {}
        cells = "".join(f"<td class='num'>{int(counts.get(s, 0))}</td>" for s in severities)
        link = f"<a href='{_esc(report['html'])}'>{_esc(report['title'])}</a>" if report.get("html") else _esc(
            report["title"])
        error = f"<div class='error'>{_esc(report['error'])}</div>" if report.get("error") else ""
        rows.append(
            f"<tr><td>{link}<br><small>{_esc(report['name'])}</small>{error}</td>"
            f"<td class='status-{_esc(report['status'])}'>{_esc(report['status'])}</td>{cells}"
            f"<td class='num'>{int(report.get('findings') or 0)}</td>"
            f"<td class='num'>{float(report.get('duration_s') or 0):.1f}</td></tr>"
        )
    shown = list(findings)[:max_findings]
    finding_rows = []
    for item in shown:
        finding_rows.append(
            f"<tr class='sev-{_esc(item.get('severity'))}'><td>{_esc(item.get('severity'))}</td>"
            f"<td>{_esc(item.get('detection'))}</td><td>{_esc(item.get('report'))}</td>"
            f"<td>{_esc(item.get('principal_arn'))}</td><td>{_esc(item.get('account_id'))}</td>"
            f"<td>{_esc(item.get('source_ip'))}</td><td>{_esc(item.get('first_seen'))}</td>"
            f"<td>{_esc(item.get('last_seen'))}</td><td class='num'>{int(item.get('event_count') or 0)}</td></tr>"
        )
    more = (f"<p>{len(findings) - len(shown)} more findings in <a href='findings.csv'>findings.csv</a>.</p>"
            if len(findings) > len(shown) else "")
    findings_table = (
        "<table class='trailbook-findings-table'><thead><tr><th>severity</th><th>detection</th><th>report</th>"
        "<th>principal</th><th>account</th><th>source ip</th><th>first seen</th><th>last seen</th>"
        "<th>events</th></tr></thead><tbody>" + "".join(finding_rows) + "</tbody></table>" + more
        if shown else "<p>No findings in this window.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<style>{_INDEX_CSS}</style></head>
<body>
<h1>{_esc(title)}</h1>
<p class="meta">Run <code>{_esc(run_id)}</code> · engine <code>{_esc(engine)}</code> · window
{_esc(window[0])} to {_esc(window[1])}</p>
<h2>Reports</h2>
<table class="trailbook-reports"><thead><tr><th>report</th><th>status</th>{head}<th>total</th><th>seconds</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<h2>Findings, most severe first</h2>
{findings_table}
<p class="meta">Machine-readable: <a href="findings.jsonl">findings.jsonl</a>, <a href="findings.csv">findings.csv</a>,
<a href="manifest.json">manifest.json</a> (parameters, queries as run, SHA-256 of every file),
<a href="SHA256SUMS">SHA256SUMS</a>.</p>
</body></html>
"""
