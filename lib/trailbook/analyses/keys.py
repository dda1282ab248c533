"""The access-key hunt: "is any key being misused?", and per-key activity for the heatmap.

The hunt runs every detection the catalog tags `key_hunt` (the key-misuse, escalation,
persistence, harvesting, execution, mining and guardrail areas, and CloudTrail stopped) over
the session window.
First-seen detections compare the window with a trailing baseline that ends where the window
starts; its length is `baseline_days`. Thresholds are catalog parameters: pass them by name
and every detection that declares that name receives the value.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import findings as F
from .. import params as P

if TYPE_CHECKING:
    from ..session import Session

# The catalog tag of the hunt's detections.
HUNT_TAG = "key_hunt"
DEFAULT_BASELINE_DAYS = 21


def hunt_queries(session: Session) -> list[str]:
    """Names of the hunt's detections that run on the session's engine, in catalog order."""
    return session.tagged(HUNT_TAG)


def baseline_start_for(session: Session, baseline_days: int) -> dt.datetime:
    if int(baseline_days) < 1:
        raise P.ParameterError(f"baseline_days must be at least 1, not {baseline_days!r}")
    return session.start - dt.timedelta(days=int(baseline_days))


def hunt(session: Session, *, baseline_days: int = DEFAULT_BASELINE_DAYS, access_key_id: str = "",
         principal_arn: str = "", names: list[str] | None = None, **thresholds: Any) -> pd.DataFrame:
    """Run the hunt and return its findings, most severe first.

    `thresholds` are catalog parameters by name (e.g. min_denied_actions=8); each goes to every
    hunt detection that declares it. A name no hunt detection declares is an error, so a misspelt
    threshold never passes silently.
    With `access_key_id` or `principal_arn` (incident mode) only findings about that key or
    principal are kept.
    """
    chosen = list(names) if names is not None else hunt_queries(session)
    values = dict(thresholds)
    declared = {p for name in chosen for p in session.query(name).params}
    unknown = sorted(set(values) - declared)
    if unknown:
        raise P.ParameterError(f"unknown hunt threshold(s) {unknown}; the hunt's detections take: {sorted(declared)}")
    values.setdefault("baseline_start", baseline_start_for(session, baseline_days))
    found = session.detect(chosen, **values)
    return for_subject(found, access_key_id=access_key_id, principal_arn=principal_arn)


def for_subject(found: pd.DataFrame, *, access_key_id: str = "", principal_arn: str = "") -> pd.DataFrame:
    """Findings about one key or principal (all findings when neither is given)."""
    if not access_key_id and not principal_arn or found.empty:
        return found
    keep = pd.Series(False, index=found.index)
    if access_key_id:
        keep |= found["access_key_id"].fillna("") == access_key_id
    if principal_arn:
        keep |= found["principal_arn"].fillna("") == principal_arn
    return F.sort(found[keep].reset_index(drop=True))


def summary(found: pd.DataFrame) -> pd.DataFrame:
    """Findings per detection and severity: the hunt at a glance."""
    if found.empty:
        return pd.DataFrame(columns=["detection", "severity", "findings", "events"])
    grouped = found.groupby(["detection", "severity"], as_index=False).agg(
        findings=("detection", "size"), events=("event_count", "sum"))
    rank = grouped["severity"].map(F.SEVERITY_RANK)
    ordered = grouped.assign(_r=-rank).sort_values(["_r", "findings"], ascending=[True, False])
    return ordered.drop(columns="_r").reset_index(drop=True)


def keys_in_findings(found: pd.DataFrame) -> list[str]:
    """Access keys named in the findings, most severe first (for the heatmap)."""
    if found.empty:
        return []
    keys = found["access_key_id"].dropna()
    return list(dict.fromkeys(k for k in keys if k))


def key_activity(session: Session, access_key_ids: list[str], principal_arns: list[str] | None = None) -> pd.DataFrame:
    """Every call of the given keys or principals in the session window (catalog query key_activity)."""
    keys = [k for k in access_key_ids if k]
    principals = [p for p in (principal_arns or []) if p]
    if not keys and not principals:
        return pd.DataFrame(columns=list(session.query("key_activity").columns))
    return session.run("key_activity", access_key_ids=keys, principal_arns=principals)


def activity_matrix(activity: pd.DataFrame, *, by: str = "hour") -> pd.DataFrame:
    """Call counts for a heatmap: rows are access keys, columns are days (by='day'), or rows are
    days and columns hours of the day (by='hour', one key). Empty input gives an empty frame."""
    if by not in ("hour", "day"):
        raise ValueError(f"by must be 'hour' or 'day', not {by!r}")
    if activity.empty:
        return pd.DataFrame()
    times = pd.to_datetime(activity["eventtime"], utc=True, format="%Y-%m-%dT%H:%M:%SZ")
    frame = pd.DataFrame({"key": activity["access_key_id"].fillna("(none)"), "day": times.dt.strftime("%Y-%m-%d"),
                          "hour": times.dt.hour})
    if by == "day":
        return frame.pivot_table(index="key", columns="day", values="hour", aggfunc="size", fill_value=0)
    matrix = frame.pivot_table(index="day", columns="hour", values="key", aggfunc="size", fill_value=0)
    return matrix.reindex(columns=range(24), fill_value=0)


def heatmap_activity(session: Session, found: pd.DataFrame, *, access_key_id: str = "", principal_arn: str = "",
                     max_keys: int = 12) -> pd.DataFrame:
    """The calls behind the heatmap: the incident's key or principal, or else the keys named in the
    findings (at most max_keys, most severe first)."""
    if access_key_id or principal_arn:
        return key_activity(session, [access_key_id], [principal_arn])
    return key_activity(session, keys_in_findings(found)[:max_keys])
