"""The index's incident section, and its findings grouped by check (title, meaning, MITRE ids).

Each incident links to its findings (`#finding-<key>`), and each finding row links back to its
incident (`#<incident id>`). The findings tables go through `notebook.tables.table_html`, like every
table of a run; values wrap only where `tables.wrap_html` allows. Self-contained: inline CSS only.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .. import catalog as C
from .. import incidents as I
from ..analyses.explain import python_checks
from ..notebook.tables import cell_text, table_html, wrap_html
from . import secrets

CSS = """
.incident { border-left: 6px solid #999; background: #fafafa; margin: .8em 0; padding: .4em 1em; }
.incident.inc-critical { border-color: #b71c1c; } .incident.inc-high { border-color: #e65100; }
.incident.inc-medium { border-color: #f9a825; } .incident.inc-low { border-color: #90caf9; }
.incident h3 { margin: .2em 0; font-size: 1.05em; } .incident .sev { text-transform: uppercase; font-weight: bold; }
.chain { font-size: 12px; }
.chain span { background: #eceff1; border-radius: 3px; padding: 1px 5px; margin-right: 2px; }
.incident dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; font-size: 12px; margin: .4em 0; }
.incident dt { color: #555; } .incident dd { margin: 0; }
.check { margin: 1.2em 0 .3em; } .check h3 { margin: 0; font-size: 1.05em; } .check p { margin: .2em 0; color: #444; }
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def check_info(catalog: Mapping[str, C.Query]) -> dict[str, dict[str, Any]]:
    """What the index says about each check: from the catalog headers for SQL detections, from
    `analyses.explain` for the Python-side checks, and from `secrets` for credential material
    (each written once, there)."""
    info = {name: {"title": q.title, "description": " ".join(q.description.split()), "mitre": list(q.mitre),
                   "references": list(q.references), "remediation": q.remediation,
                   "remediation_docs": q.remediation_docs, "cis": ""} for name, q in catalog.items()}
    info.update({name: check.to_dict() for name, check in python_checks().items()})
    info[secrets.DETECTION] = secrets.CHECK_INFO
    return info


def _check_head(name: str, info: Mapping[str, Any], title: str, mitre: str, count: int) -> str:
    """A check's title, name, MITRE ids, CIS item, what it means, and what to do (with AWS's page)."""
    cis = f" · {_esc(info['cis'])}" if info.get("cis") else ""
    docs = info.get("remediation_docs")
    remedy = (f"<p><b>What to do:</b> {_esc(info.get('remediation'))}"
              + (f" <a href='{_esc(docs)}' rel='noopener'>AWS documentation</a>" if docs else "") + "</p>"
              if info.get("remediation") else "")
    return (f"<div class='check' id='check-{_esc(name)}'><h3>{_esc(title)}</h3>"
            f"<p><small><code>{_esc(name)}</code> · MITRE ATT&amp;CK {_esc(mitre or '—')}{cis} · "
            f"{count} finding(s)</small></p><p>{_esc(info.get('description'))}</p>{remedy}</div>")


def _list(values: Sequence[Any]) -> str:
    return ", ".join(f"<code>{wrap_html(str(v))}</code>" for v in values) or "—"


def _incident_html(incident: Mapping[str, Any], number: int, rows: Mapping[str, Mapping[str, Any]],
                   checks: Mapping[str, Mapping[str, Any]]) -> str:
    chain = " → ".join(f"<span title='{_esc(step.get('id'))}: {_esc(', '.join(step.get('techniques') or []))}'>"
                       f"{_esc(step.get('name'))}</span>" for step in incident.get("tactics") or [])
    raised = (f" (raised from {_esc(incident.get('highest_finding_severity'))}: "
              f"{len(incident.get('tactics') or [])} tactics)" if incident.get("raised") else "")
    links = []
    for key in incident.get("finding_keys") or []:
        row = rows.get(key) or {}
        name = str(row.get("detection") or key)
        label = (checks.get(name) or {}).get("title") or row.get("title") or name
        links.append(f"<li><a href='#finding-{_esc(key)}'>{_esc(label)}</a> "
                     f"<small>{_esc(row.get('severity'))}, {_esc(cell_text(row.get('first_seen')))}</small></li>")
    return (f"<article class='incident inc-{_esc(incident.get('severity'))}' id='{_esc(incident.get('id'))}'>"
            f"<h3>Incident {number}: <span class='sev'>{_esc(incident.get('severity'))}</span>{raised} · "
            f"{_esc(cell_text(incident.get('first_seen')))} to {_esc(cell_text(incident.get('last_seen')))} · "
            f"{int(incident.get('finding_count') or 0)} findings, {int(incident.get('event_count') or 0)} events</h3>"
            f"<div class='chain'>{chain or 'no mapped tactic'}</div>"
            f"<p>{wrap_html(str(incident.get('narrative') or ''))}</p>"
            f"<dl><dt>principals</dt><dd>{_list(incident.get('principals') or [])}</dd>"
            f"<dt>access keys</dt><dd>{_list(incident.get('access_key_ids') or [])}</dd>"
            f"<dt>source addresses</dt><dd>{_list(incident.get('source_ips') or [])}</dd>"
            f"<dt>accounts</dt><dd>{_list(incident.get('accounts') or [])}</dd>"
            f"<dt>created or handed credentials</dt><dd>{_list(incident.get('identities') or [])}</dd>"
            f"<dt>id</dt><dd><code>{_esc(incident.get('id'))}</code></dd></dl>"
            f"<details><summary>Its findings</summary><ul>{''.join(links)}</ul></details></article>")


def incidents_html(incidents: Sequence[Mapping[str, Any]], findings: Sequence[Mapping[str, Any]],
                   checks: Mapping[str, Mapping[str, Any]]) -> str:
    """The section the index opens with: one block per incident, most severe first."""
    rows = {I.finding_key(f): f for f in findings}
    head = (f"<style>{CSS}</style><h2>Incidents</h2><p class='meta'>Findings that share an access key, a "
            f"principal (or an identity it created), or a source address, within "
            f"{int(I.MAX_GAP.total_seconds() // 3600)} hours of each other. Also in "
            f"<a href='incidents.jsonl'>incidents.jsonl</a>.</p>")
    if not incidents:
        return head + "<p>No incidents: no findings chain together, and none alone is high or critical.</p>"
    return head + "".join(_incident_html(inc, n, rows, checks) for n, inc in enumerate(incidents, 1))


# The columns of a check's findings table, in the order shown (headers from `tables.header`).
FINDING_TABLE_COLUMNS = ["severity", "incident", "report", "principal", "access_key", "account", "source_ip",
                         "first_seen", "last_seen", "events"]


def _check_table(items: Sequence[Mapping[str, Any]], incident_of: Mapping[str, str],
                 numbers: Mapping[str, int]) -> str:
    """One check's findings through the shared table: each row an anchor, its incident number a link."""
    keys = [I.finding_key(item) for item in items]
    incidents = [incident_of.get(key) for key in keys]
    frame = pd.DataFrame([{
        "severity": item.get("severity"), "incident": numbers.get(inc) if inc else None,
        "report": item.get("report"), "principal": item.get("principal_arn"),
        "access_key": item.get("access_key_id"), "account": item.get("account_id"),
        "source_ip": item.get("source_ip"), "first_seen": item.get("first_seen"),
        "last_seen": item.get("last_seen"), "events": int(item.get("event_count") or 0),
    } for item, inc in zip(items, incidents, strict=True)], columns=FINDING_TABLE_COLUMNS)
    return table_html(frame, css_class="trailbook-findings-table", with_css=False,
                      links={"incident": [f"#{inc}" if inc else None for inc in incidents]},
                      row_ids=[f"finding-{key}" for key in keys])


def findings_by_check(findings: Sequence[Mapping[str, Any]], checks: Mapping[str, Mapping[str, Any]],
                      incidents: Sequence[Mapping[str, Any]], max_findings: int = 500) -> str:
    """The findings, one table per check (most severe check first), each under the check's title."""
    incident_of = {key: inc["id"] for inc in incidents for key in inc.get("finding_keys") or []}
    numbers = {inc["id"]: n for n, inc in enumerate(incidents, 1)}
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for item in findings:  # findings arrive most severe first, so groups do too
        groups.setdefault(str(item.get("detection")), []).append(item)
    out, shown = [], 0
    for name, items in groups.items():
        if shown >= max_findings:
            break
        info = checks.get(name) or {}
        title = info.get("title") or items[0].get("title") or name
        mitre = ", ".join(info.get("mitre") or items[0].get("mitre") or [])
        table = _check_table(items[:max_findings - shown], incident_of, numbers)
        shown += min(len(items), max_findings - shown)
        out.append(_check_head(name, info, title, mitre, len(items)) + table)
    more = (f"<p>{len(findings) - shown} more findings in <a href='findings.csv'>findings.csv</a>.</p>"
            if len(findings) > shown else "")
    return "".join(out) + more
