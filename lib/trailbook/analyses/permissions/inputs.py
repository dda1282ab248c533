"""What every part of the analysis checks and normalises in its inputs: day counts, timestamps, and
the time the analysis takes as "now"."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trailbook.iam.snapshot import Snapshot


class PermissionsError(ValueError):
    """Bad input to the unused-permissions analysis."""


def check_days(days: Any, name: str) -> None:
    """``days`` must be a whole number of days, at least 1 (a bool is not a number here)."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise PermissionsError(f"{name} must be a whole number of days >= 1, got {days!r}")


def utc_timestamp(value: Any) -> pd.Timestamp | None:
    """A UTC timestamp, or None for a missing value (None, empty text, NaN)."""
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def as_of(snapshot: Snapshot, now: Any) -> pd.Timestamp:
    """``now`` when given, else the time the snapshot was collected."""
    return utc_timestamp(now) if now is not None else pd.Timestamp(snapshot.collected_at).tz_convert("UTC")
