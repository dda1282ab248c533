"""The time the hygiene checks judge by."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trailbook.iam.snapshot import Snapshot


def as_of(snapshot: Snapshot, now: Any) -> pd.Timestamp:
    """``now`` (UTC) when given, else the time the snapshot was collected."""
    if now is None:
        return pd.Timestamp(snapshot.collected_at).tz_convert("UTC")
    stamp = pd.Timestamp(now)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
