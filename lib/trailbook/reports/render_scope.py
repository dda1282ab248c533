"""The index's scope section: what the run covered, and where CloudTrail was silent.

It states the window, engine, accounts and regions, events per account and day, the sources, the
IAM snapshot with its collection time, trailbook's version and the catalog's hash, and the
logging gaps (catalog query logging_gaps; the rule is stated on the page). Input: the dict
`reports.scope.describe_scope` returns. Tables go through `notebook.tables.table_html`; the page
that holds the section (the index) carries TABLE_CSS once.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..notebook.tables import cell_text, table_html, wrap_html

MAX_DAY_COLUMNS = 14  # up to two weeks, days are columns; a longer window lists (day, account) rows

SCOPE_CSS = """
section.trailbook-scope { margin: 1em 0; }
section.trailbook-scope h2 { margin-bottom: .3em; }
section.trailbook-scope h3 { margin: .8em 0 .2em; font-size: 1.05em; }
table.trailbook-facts th { width: 11em; background: #f0f0f0; }
table.trailbook-facts td { max-width: none; }
.trailbook-gaps-found { border-left: 4px solid #c62828; padding-left: .6em; }
.trailbook-gaps-none { color: #1a7f37; }
.trailbook-scope .rule { color: #555; font-size: 12px; margin: .2em 0; }
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _facts(scope: Mapping[str, Any], per_day: pd.DataFrame) -> str:
    accounts = sorted(per_day["account_id"].dropna().unique()) if len(per_day) else []
    regions = sorted(per_day["region"].dropna().unique()) if len(per_day) else []
    window = scope.get("window") or ["", ""]
    catalog = scope.get("catalog") or {}
    revision = catalog.get("git_revision")
    snapshots = scope.get("iam_snapshots") or []
    rows = [
        ("Window", f"{cell_text(window[0])} to {cell_text(window[1])} (end excluded)"),
        ("Window edges", scope.get("edges")),
        ("Engine", scope.get("engine")),
        ("Events", f"{int(per_day['events'].sum()) if len(per_day) else 0:,}"),
        (f"Accounts ({len(accounts)})", ", ".join(accounts) or "none"),
        (f"Regions ({len(regions)})", ", ".join(regions) or "none"),
        ("Sources", "; ".join(scope.get("sources") or []) or "not recorded"),
        ("IAM snapshot", "; ".join(_snapshot_text(s) for s in snapshots) or "none used"),
        ("trailbook", scope.get("trailbook_version")),
        ("CIS checks", f"{scope['cis_benchmark']}, section 1 (credential report)" if scope.get("cis_benchmark")
         else None),
        ("Query catalog", f"{catalog.get('queries', '?')} queries, sha256 {catalog.get('content_sha256', '?')}"
                          + (f", git {revision}" + (" (modified)" if catalog.get("git_dirty") else "")
                             if revision else "")),
    ]
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{wrap_html('' if v is None else str(v))}</td></tr>" for k, v in rows
                   if v is not None)
    return f"<table class='trailbook-table trailbook-facts'><tbody>{body}</tbody></table>"


def _snapshot_text(entry: Mapping[str, Any]) -> str:
    used_by = ", ".join(entry.get("notebooks") or [])
    if entry.get("collected_at"):
        return f"{entry.get('path')}, collected {cell_text(entry['collected_at'])} (used by {used_by})"
    return f"{entry.get('parameter')}: {entry.get('note')} (used by {used_by})"


def _per_day_table(per_day: pd.DataFrame) -> str:
    if not len(per_day):
        return "<p>No events in the window.</p>"
    by_day = per_day.groupby(["account_id", "day"], as_index=False)["events"].sum()
    days = sorted(by_day["day"].unique())
    if len(days) > MAX_DAY_COLUMNS:
        frame = by_day.sort_values(["day", "account_id"])[["day", "account_id", "events"]]
        return table_html(frame.rename(columns={"account_id": "account"}), with_css=False)
    wide = by_day.pivot(index="account_id", columns="day", values="events").reindex(columns=days).fillna(0)
    wide = wide.astype(int).reset_index().rename(columns={"account_id": "account"})
    wide["total"] = wide[days].sum(axis=1)
    return table_html(wide, css_class="trailbook-per-day", with_css=False)


def _gaps_html(scope: Mapping[str, Any]) -> str:
    rule = f"<p class='rule'>{_esc(scope.get('gap_rule'))}</p>"
    if scope.get("error"):
        return rule + (f"<p class='status-no-data'>Unknown: the scope could not be measured "
                       f"({_esc(scope['error'])}).</p>")
    gaps = pd.DataFrame(scope.get("gaps") or [])
    if not len(gaps):
        return rule + ("<p class='trailbook-gaps-none'>No logging gaps: every account and region that normally "
                       "logs has events in every hour of the window.</p>")
    hours = int(gaps["gap_hours"].sum())
    shown = gaps[["account_id", "region", "gap_start", "gap_end", "gap_hours", "last_event_before",
                  "first_event_after", "active_hours", "window_hours"]]
    shown = shown.rename(columns={"gap_start": "silent_from", "gap_end": "silent_until",
                                  "gap_hours": "silent_hours", "active_hours": "hours_with_events"})
    return (rule + f"<p class='trailbook-gaps-found'><strong>{len(gaps)} logging gap(s), {hours} silent hour(s)"
            "</strong>: CloudTrail delivered nothing for these accounts and regions, which normally log every "
            "hour. Activity in a gap is invisible to every report below.</p>"
            + table_html(shown, css_class="trailbook-gaps", with_css=False))


def scope_html(scope: Mapping[str, Any] | None) -> str:
    """The scope section (empty string when the run measured none)."""
    if not scope:
        return ""
    per_day = pd.DataFrame(scope.get("per_day") or [], columns=["account_id", "region", "day", "events"])
    return (f"<style>{SCOPE_CSS}</style><section class='trailbook-scope' id='scope'>"
            "<h2>Scope and coverage</h2>" + _facts(scope, per_day)
            + "<h3>Events per account and day (UTC)</h3>" + _per_day_table(per_day)
            + "<section id='logging-gaps' class='trailbook-logging-gaps'><h3>Logging gaps</h3>"
            + _gaps_html(scope) + "</section></section>\n")

