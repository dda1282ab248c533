"""Key-misuse plots: the per-key activity heatmap and the incident timeline (matplotlib figures)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from ..analyses.incident import IncidentScope
from ..analyses.keys import activity_matrix
from . import ReportFigure


def activity_heatmap(activity: pd.DataFrame, *, title: str | None = None) -> Figure | None:
    """Calls per key and day (several keys) or per day and hour of day (one key). None without calls."""
    if activity is None or activity.empty:
        return None
    one_key = activity["access_key_id"].nunique() == 1
    matrix = activity_matrix(activity, by="hour" if one_key else "day")
    height = max(2.5, 0.35 * len(matrix) + 1.5)
    fig = ReportFigure(figsize=(12, height))
    ax = fig.add_subplot()
    image = ax.imshow(matrix.to_numpy(), aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(matrix.index)), labels=[str(i) for i in matrix.index], fontsize=8)
    columns = [str(c) for c in matrix.columns]
    step = max(1, len(columns) // 14)
    ax.set_xticks(range(0, len(columns), step), labels=columns[::step], rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("hour of day (UTC)" if one_key else "day (UTC)")
    ax.set_ylabel("day" if one_key else "access key")
    key = activity["access_key_id"].dropna().iloc[0] if one_key and activity["access_key_id"].notna().any() else None
    ax.set_title(title or (f"Calls by {key} per hour" if key else "Calls per access key and day"))
    fig.colorbar(image, ax=ax, label="calls")
    fig.tight_layout()
    return fig


def incident_timeline(incident: IncidentScope) -> Figure | None:
    """Every call of the scoped key (and what it spawned) over time, one row per service; failures in red.
    None in hunt mode or when the key made no calls."""
    if not incident.active or incident.timeline.empty:
        return None
    frames = [incident.timeline.assign(actor="key")]
    if not incident.spawned_activity.empty:
        frames.append(incident.spawned_activity.assign(actor="spawned"))
    calls = pd.concat(frames, ignore_index=True)
    calls["time"] = pd.to_datetime(calls["eventtime"], utc=True, format="%Y-%m-%dT%H:%M:%SZ")
    calls["service"] = calls["eventsource"].str.replace(".amazonaws.com", "", regex=False)
    services = sorted(calls["service"].unique())
    row = {s: i for i, s in enumerate(services)}
    fig = ReportFigure(figsize=(12, max(3, 0.4 * len(services) + 1.5)))
    ax = fig.add_subplot()
    for (actor, failed), part in calls.groupby([calls["actor"], calls["errorcode"].notna()]):
        label = ("created/assumed identity" if actor == "spawned" else "key") + (" (failed)" if failed else "")
        ax.scatter(part["time"], part["service"].map(row), s=18, marker="o" if actor == "key" else "^",
                   color="tab:red" if failed else ("tab:blue" if actor == "key" else "tab:green"), label=label)
    ax.set_yticks(range(len(services)), labels=services, fontsize=8)
    ax.set_xlabel("time (UTC)")
    ax.set_title(f"Timeline of {incident.subject}")
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
