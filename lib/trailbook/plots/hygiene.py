"""Credential-hygiene plots. Each returns a matplotlib Figure (not registered with pyplot)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import ReportFigure

AGE_BUCKETS = ("< 1 day", "1-30 days", "30-90 days", "90-365 days", "> 1 year")
_BUCKET_COLOURS = ["#4c9f70", "#4c9f70", "#8fbc5a", "#f2b134", "#d1495b"]
_STATUS_COLOURS = {"pass": "#4c9f70", "fail": "#d1495b", "unknown": "#9e9e9e"}


def key_age_histogram(keys: pd.DataFrame, *, rotation_days: int = 90, active_only: bool = True) -> Figure:
    """Access keys per age bucket (< 1 day, 1–30, 30–90, 90–365, > 1 year); keys whose user left
    (no activity at all) are hatched. ``keys`` is ``hygiene.key_inventory(...)``."""
    chosen = keys[keys["status"].eq("Active")] if active_only and not keys.empty else keys
    buckets = chosen["age_bucket"].astype("string") if not chosen.empty else pd.Series(dtype="string")
    left = chosen["user_left"].fillna(False).astype(bool) if not chosen.empty else pd.Series(dtype=bool)
    total = [int((buckets == b).sum()) for b in AGE_BUCKETS]
    gone = [int(((buckets == b) & left).sum()) for b in AGE_BUCKETS]
    fig = ReportFigure(figsize=(8, 3.5))
    ax = fig.add_subplot()
    x = np.arange(len(AGE_BUCKETS))
    ax.bar(x, total, color=_BUCKET_COLOURS, label="keys")
    ax.bar(x, gone, color="none", edgecolor="black", hatch="//", label="user left (no activity)")
    for xi, n in zip(x, total, strict=True):
        ax.text(float(xi), n, str(n), ha="center", va="bottom")
    ax.set_xticks(x, list(AGE_BUCKETS))
    ax.set_ylabel("active keys" if active_only else "keys")
    ax.set_title(f"Access-key age (rotation limit {rotation_days} days)")
    ax.legend(loc="upper left", fontsize="small")
    ax.set_ylim(0, max(total + [1]) * 1.2)
    fig.tight_layout()
    return fig


def check_overview(summary: pd.DataFrame) -> Figure:
    """Pass / fail / unknown per CIS check, all accounts summed (``hygiene.check_summary``)."""
    if summary.empty:
        fig = ReportFigure(figsize=(8, 2))
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No credential checks ran.", ha="center", va="center")
        return fig
    totals = summary.groupby(["cis_id", "check"], sort=False)[["pass", "fail", "unknown"]].sum().reset_index()
    fig = ReportFigure(figsize=(9, 1.2 + 0.4 * len(totals)))
    ax = fig.add_subplot()
    y = np.arange(len(totals))
    left = np.zeros(len(totals))
    for status, colour in _STATUS_COLOURS.items():
        ax.barh(y, totals[status], left=left, color=colour, label=status)
        left += totals[status].to_numpy()
    labels = [f"{c} {t}" for c, t in zip(totals["cis_id"], totals["check"], strict=True)]
    ax.set_yticks(y, labels, fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel("subjects (users, keys, root)")
    ax.set_title("CIS AWS Foundations credential checks")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig
