"""Tables as people read them: escaped HTML, long values cut (the JSON output keeps everything)."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

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


def cell(value: Any) -> str:
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


def table_html(frame: pd.DataFrame, max_rows: int) -> str:
    shown = frame.head(max_rows)
    header = "".join(f"<th>{html.escape(str(c).replace('_', ' '))}</th>" for c in shown.columns)
    rows = []
    for record in shown.itertuples(index=False):
        values = record._asdict() if hasattr(record, "_asdict") else dict(zip(shown.columns, record, strict=True))
        severity = values.get("severity") if isinstance(values, dict) else None
        css = f" class='sev-{html.escape(str(severity))}'" if severity else ""
        rows.append(f"<tr{css}>" + "".join(f"<td>{cell(v)}</td>" for v in record) + "</tr>")
    more = f"<p><em>{len(frame) - max_rows} more rows not shown.</em></p>" if len(frame) > max_rows else ""
    return (_TABLE_STYLE + f"<table class='trailbook-table'><thead><tr>{header}</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + more)
