"""Console sign-in plots. Each returns a matplotlib Figure (not registered with pyplot)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import ReportFigure, empty_figure

# Marker shape = outcome, colour = MFA: a red cross is a failure, a hollow red circle a no-MFA success.
# (outcome, mfa) -> (marker, colour, label, hollow)
_STYLE: dict[tuple[str, bool], tuple[str, str, str, bool]] = {
    ("Success", True): ("o", "tab:green", "success, MFA", False),
    ("Success", False): ("o", "tab:red", "success, no MFA", True),
    ("Failure", True): ("x", "tab:orange", "failure, MFA step", False),
    ("Failure", False): ("x", "tab:red", "failure", False),
}
MAX_ROWS = 40


def _times(frame: pd.DataFrame) -> pd.Series:
    if "time" in frame:
        return frame["time"]
    return pd.to_datetime(frame["eventtime"], utc=True, format="ISO8601")


def timeline(frame: pd.DataFrame) -> Figure:
    """One row per principal (user name), sign-ins over time: outcome as marker, MFA as colour."""
    title = "Console sign-ins per principal"
    if frame.empty:
        return empty_figure(title, "No console sign-ins in this window.")
    who = frame["user_name"].fillna("(unknown)") + "  " + frame["account_id"].fillna("")
    data = frame.assign(time=_times(frame), who=who)
    order = data.groupby("who")["time"].min().sort_values().index[:MAX_ROWS]
    data = data[data["who"].isin(order)]
    rows = {who: i for i, who in enumerate(order)}
    fig = ReportFigure(figsize=(11, 1.5 + 0.3 * len(order)))
    ax = fig.add_subplot()
    handles = []
    for (outcome, mfa), (marker, colour, label, hollow) in _STYLE.items():
        part = data[data["outcome"].eq(outcome) & data["mfa_used"].eq(mfa)]
        if not part.empty:
            if hollow:
                ax.scatter(part["time"], part["who"].map(rows), marker=marker, s=36, facecolors="none",
                           edgecolors=colour)
            else:
                ax.scatter(part["time"], part["who"].map(rows), marker=marker, s=36, c=colour)
        handles.append(Line2D([], [], linestyle="", marker=marker, color=colour,
                              markerfacecolor="none" if hollow else colour, label=label))
    ax.set_yticks(range(len(order)), list(order))
    ax.invert_yaxis()
    ax.set_xlabel("time (UTC)")
    ax.set_title(title + (f" (first {MAX_ROWS})" if len(order) == MAX_ROWS else ""))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    fig.autofmt_xdate()  # dates on a week-long axis overlap when horizontal
    fig.tight_layout()
    return fig


def failures_by_source(frame: pd.DataFrame, *, freq: str = "1h", top: int = 10) -> Figure:
    """Failed sign-ins per source IP over time (the `top` busiest IPs, stacked per `freq` bucket)."""
    title = f"Failed console sign-ins per source IP (per {freq})"
    failures = frame[frame["outcome"].ne("Success")] if not frame.empty else frame
    if failures.empty:
        return empty_figure(title, "No failed console sign-ins in this window.")
    failures = failures.assign(time=_times(failures))
    busiest = failures["source_ip"].value_counts().index[:top]
    counts = (failures[failures["source_ip"].isin(busiest)]
              .groupby([pd.Grouper(key="time", freq=freq), "source_ip"]).size().unstack(fill_value=0))
    fig = ReportFigure(figsize=(11, 4))
    ax = fig.add_subplot()
    bottom = None
    width = pd.Timedelta(freq) * 0.9
    for ip in busiest:
        values = counts[ip] if ip in counts else pd.Series(0, index=counts.index)
        ax.bar(counts.index, values, width=width, bottom=bottom, label=str(ip), align="edge")
        bottom = values if bottom is None else bottom + values
    ax.set_ylabel("failed sign-ins")
    ax.set_xlabel("time (UTC)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", title="source IP")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
