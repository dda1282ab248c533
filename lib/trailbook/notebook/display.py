"""What notebooks call to show things: findings, tables and the evidence appendix.

Findings and evidence are displayed as HTML for people and as JSON under trailbook's own MIME
types, so the executed notebook carries its results in machine-readable form for reports.
"""

from __future__ import annotations

import html
import json
import sys
from typing import Any

import pandas as pd

from .. import findings as F
from .. import params as P
from .. import redact
from ..contract import EVIDENCE_MIME
from ..session import Session
from .tables import cell_text, header, table_html


def redacted(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as a redacted report may show it: pseudonymized when one runs (`redact.active`)."""
    redactor = redact.active()
    return redactor.frame(frame) if redactor is not None and len(frame.columns) else frame


def _redacted_text(text: str) -> str:
    redactor = redact.active()
    return redactor.text(text) if redactor is not None else text


def install_figure_redaction() -> bool:
    """Set up the kernel's display (see `install_display_formatters`); in a redacted report, also show
    every matplotlib figure (pandas' and pyplot's too) through `plots.png_bytes`, which pseudonymizes
    its text before drawing. True when the redaction formatter is installed."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    redacting = redact.active() is not None
    if redacting:
        # Only then is matplotlib loaded here (trailbook's own plots draw PNGs themselves, so an
        # unredacted kernel loads it at its first plot, not before its first result).
        from matplotlib import pyplot
        from matplotlib.figure import Figure

        from ..plots import png_bytes

        pyplot.close(pyplot.figure())  # loads the inline backend now, so its PNG formatter is not set after ours
        shell.display_formatter.formatters["image/png"].for_type(Figure, png_bytes)
    install_display_formatters(shell)
    return redacting


def figure_alt(figure: Any) -> str:
    """What a figure shows, for its image's alt text: its title, its axes' titles and labels."""
    parts: list[tuple[str, list[str]]] = []  # (title, labels) per titled axes
    suptitle = getattr(figure, "_suptitle", None)
    if suptitle is not None and suptitle.get_text().strip():
        parts.append((suptitle.get_text().strip(), []))
    for axes in figure.get_axes():
        title = axes.get_title().strip()
        labels = [f"{name}: {text}" for name, text in (("x", axes.get_xlabel().strip()),
                                                        ("y", axes.get_ylabel().strip())) if text]
        if title or not parts:
            parts.append((title, labels))
        else:  # an untitled axes (a colour bar) belongs to the plot before it
            parts[-1][1].extend(f"colour: {label[3:]}" if label.startswith("y: ") else label for label in labels)
    shown = [(t + (f" ({', '.join(ls)})" if ls else "")).strip() for t, ls in parts]
    text = "; ".join(p for p in shown if p) or "Plot without a title"
    return _redacted_text(" ".join(text.split()))


def install_display_formatters(shell: Any) -> None:
    """Every DataFrame (and Styler) a notebook shows goes through `table_html`, redacted when a redacted
    report runs; every figure's PNG carries alt text (`figure_alt`) in its output metadata.

    The figure formatter is registered by name while matplotlib is not loaded yet, so setting up the
    display does not import it (a kernel's first result comes sooner)."""

    def frame_html(frame: pd.DataFrame) -> str:
        shown = redacted(frame)
        return table_html(shown, 1000) if len(shown) else "<p>No rows.</p>"

    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type(pd.DataFrame, frame_html)
    formatters["text/html"].for_type_by_name("pandas.io.formats.style", "Styler", lambda s: frame_html(s.data))
    png = formatters["image/png"]
    loaded = sys.modules.get("matplotlib.figure")
    current = None
    if loaded is not None:
        try:
            current = png.lookup_by_type(loaded.Figure)  # the inline backend's, or ours from an earlier `begin`
        except KeyError:
            current = None
    inner = getattr(current, "trailbook_inner", current)  # re-running `begin` does not wrap twice

    def with_alt(figure: Any) -> Any:
        # The inline backend's PNG when it is active; else the figure's own (trailbook's plots draw themselves).
        data = inner(figure) if inner is not None else getattr(figure, "_repr_png_", lambda: None)()
        if data is None:
            return None
        try:
            alt = figure_alt(figure)
        except Exception:  # alt text never stops a figure from being shown
            alt = "Plot"
        return data, {"alt": alt}

    with_alt.trailbook_inner = inner  # type: ignore[attr-defined]
    if loaded is not None:
        png.for_type(loaded.Figure, with_alt)
    else:
        png.for_type_by_name("matplotlib.figure", "Figure", with_alt)


class _Bundle:
    """An object Jupyter displays as HTML, carrying JSON under a trailbook MIME type too."""

    def __init__(self, html_text: str, mime: str, payload: Any, text: str) -> None:
        self.html_text, self.mime, self.payload, self.text = html_text, mime, payload, text

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html_text, "text/plain": self.text, self.mime: self.payload}


def _blank(value: Any) -> bool:
    """None, NaN, or an empty list: nothing worth a detail."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return True
    return hasattr(value, "__len__") and not isinstance(value, str) and len(value) == 0


def _finding_rows(normalized: pd.DataFrame) -> pd.DataFrame:
    """The findings as people read them: one compact row each; every value stays in the JSON output."""
    extras = [c for c in normalized.columns if c not in F.FINDING_COLUMNS]
    rows = []
    for record in normalized.to_dict(orient="records"):
        first, last = cell_text(record["first_seen"]), cell_text(record["last_seen"])
        details = []  # whole values: the evidence is never cut (an offensive tool hides in a user agent's tail)
        if record.get("user_agent"):
            details.append("user agent: " + str(record["user_agent"]))
        for column in extras:
            value = record.get(column)
            if _blank(value):
                continue
            details.append(f"{header(column)}: " + cell_text(value))
        rows.append({
            "severity": record["severity"],
            "detection": record["detection"],
            "when": first if first == last else f"{first} → {last}",
            "account": record["account_id"],
            "principal": record["principal_arn"],
            "access key ID": record["access_key_id"],
            "source IP": record["source_ip"],
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
    return ("<details><summary>Supporting CloudTrail eventIDs</summary>"
            f"<ul style='font-size:12px'>{items}</ul></details>")


def show_findings(frame: pd.DataFrame, *, title: str = "Findings", max_rows: int = 1000) -> _Bundle:
    """A findings table for people, with every finding as JSON for reports (findings.jsonl)."""
    normalized = F.normalize(redacted(F.normalize(frame)))
    title = _redacted_text(title)
    counts = F.counts_by_severity(normalized)
    summary = ", ".join(f"{n} {sev}" for sev, n in counts.items() if n) or "none"
    heading = f"<h4 class='trailbook-findings'>{html.escape(title)}: {len(normalized)} ({html.escape(summary)})</h4>"
    if len(normalized):
        body = table_html(_finding_rows(normalized), max_rows) + _event_ids_html(normalized.head(max_rows))
    else:
        body = "<p>No findings in this window.</p>"
    return _Bundle(heading + body, F.FINDINGS_MIME, F.to_records(normalized),
                   f"{title}: {len(normalized)} ({summary})")


def show_evidence(session: Session) -> _Bundle:
    """The evidence appendix: every query as run, with its parameters and statistics."""
    payload: dict[str, Any] = {"session": session.describe(), "queries": session.evidence_records(),
                               "parameters": getattr(session, "notebook_parameters", {}),
                               "masked": session.masked_summary()}
    redactor = redact.active()
    if redactor is not None:  # the SQL as run and the parameters name accounts, keys and addresses
        payload = redactor.value(json.loads(json.dumps(payload, default=str)))
    records = payload["queries"]
    parts = ["<h4 class='trailbook-evidence'>Evidence: queries as run</h4>",
             f"<p>Engine <code>{html.escape(session.engine.name)}</code>, window "
             f"{html.escape(P.iso(session.start))} to {html.escape(P.iso(session.end))}.</p>"]
    frame = redacted(session.evidence_frame())
    if not frame.empty:
        parts.append(table_html(frame, 1000))
    for run in records:
        stats = {k: v for k, v in run["stats"].items() if k != "local_sql"}
        parts.append(
            f"<details><summary><code>{html.escape(run['query'])}</code> ({html.escape(run['status'])}, "
            f"{run['rows'] if run['rows'] is not None else '-'} rows)</summary>"
            f"<p>Parameters: <code>{html.escape(json.dumps(run['parameters'], default=str))}</code></p>"
            f"<p>Statistics: <code>{html.escape(json.dumps(stats, default=str))}</code></p>"
            f"<pre>{html.escape(run['sql'])}</pre></details>"
        )
    return _Bundle("\n".join(parts), EVIDENCE_MIME, json.loads(json.dumps(payload, default=str)),
                   f"Evidence: {len(records)} queries")


def show_table(frame: pd.DataFrame, *, title: str | None = None, max_rows: int = 1000) -> _Bundle:
    frame, title = redacted(frame), _redacted_text(title) if title else title
    heading = f"<h4>{html.escape(title)}</h4>" if title else ""
    body = table_html(frame, max_rows) if len(frame) else "<p>No rows.</p>"
    return _Bundle(heading + body, "application/json", {"rows": len(frame)},
                   f"{title or 'table'}: {len(frame)} rows")
