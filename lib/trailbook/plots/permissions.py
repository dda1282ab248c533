"""Unused-permissions plots. Each returns a matplotlib Figure (not registered with pyplot)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import ReportFigure, empty_figure

# Cell colour = Access Advisor status of a granted service: used, stale, never; blank = not granted.
_STATUS_CODE = {"used": 1, "not_used": 2, "never_used": 3}
_COLOURS = ["#ffffff", "#4c9f70", "#f2b134", "#d1495b"]
_LABELS = {1: "used in period", 2: "not used in period", 3: "never used"}
MAX_PRINCIPALS = 40
MAX_SERVICES = 60


def unused_service_heatmap(services: pd.DataFrame, *, unused_days: int = 90,
                           users_and_roles_only: bool = True) -> Figure:
    """Principal × service grid of Access Advisor status: which granted services go unused.

    Rows are the principals with the most unused services first; columns the services granted
    most widely. ``services`` is ``permissions.service_last_accessed(...)``.
    """
    title = f"Granted services by principal (Access Advisor, {unused_days}-day period)"
    data = services
    if users_and_roles_only and not data.empty:
        service_linked = data["principal_arn"].str.contains("/aws-service-role/")
        data = data[data["entity_type"].isin(["user", "role"]) & ~service_linked]
    if data.empty:
        return empty_figure(title, "No Access Advisor data in the snapshot.")
    data = data.assign(code=data["status"].map(_STATUS_CODE), who=data["principal_arn"].str.split(":", n=4).str[-1])
    unused = data[data["code"] > 1].groupby("who").size()
    ranked = unused.reindex(data["who"].unique(), fill_value=0).sort_values(ascending=False, kind="stable")
    order = ranked.index[:MAX_PRINCIPALS]
    columns = data["service_namespace"].value_counts().index[:MAX_SERVICES]
    grid = (data[data["who"].isin(order) & data["service_namespace"].isin(columns)]
            .pivot_table(index="who", columns="service_namespace", values="code", aggfunc="max")
            .reindex(index=order, columns=sorted(columns)).fillna(0))
    fig = ReportFigure(figsize=(max(8, 0.28 * grid.shape[1] + 4), max(3, 0.3 * grid.shape[0] + 2)))
    ax = fig.add_subplot()
    ax.imshow(grid.to_numpy(dtype=float), cmap=ListedColormap(_COLOURS), vmin=0, vmax=3, aspect="auto",
              interpolation="nearest")
    ax.set_xticks(np.arange(grid.shape[1]), list(grid.columns), rotation=90, fontsize="small")
    ax.set_yticks(np.arange(grid.shape[0]), list(grid.index), fontsize="small")
    ax.set_title(title)
    ax.legend(handles=[Patch(color=_COLOURS[c], label=text) for c, text in _LABELS.items()],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    fig.tight_layout()
    return fig


def granted_vs_used(comparison: pd.DataFrame, *, top: int = 20) -> Figure:
    """Granted and used IAM actions per principal (log scale): the over-privilege gap."""
    title = "IAM actions granted vs used (CloudTrail)"
    if comparison.empty:
        return empty_figure(title, "No principals to compare.")
    data = comparison.sort_values("unused_actions", ascending=False).head(top)
    names = data["principal_arn"].str.split(":", n=4).str[-1]
    fig = ReportFigure(figsize=(10, 1.5 + 0.35 * len(data)))
    ax = fig.add_subplot()
    y = np.arange(len(data))
    ax.barh(y, data["granted_actions"].clip(lower=1), color="#d1495b", label="granted")
    ax.barh(y, data["used_actions"].clip(lower=0), color="#4c9f70", label="used")
    ax.set_xscale("log")
    ax.set_yticks(y, list(names), fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel("IAM actions (log scale)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig
