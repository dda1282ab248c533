"""Which principals did nothing for N days: roles by RoleLastUsed, users by the credential report,
both by CloudTrail last activity when given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from trailbook.iam.snapshot import Snapshot, SnapshotError, iso_z

from .inputs import as_of, check_days, utc_timestamp
from .principal_policies import Principal

CREDENTIAL_LAST_USE = ("password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date")
INACTIVE_COLUMNS = ["account_id", "principal_arn", "kind", "created", "last_activity", "days_inactive", "evidence"]


def inactive_principals(found: Sequence[Principal], snapshot: Snapshot | None, activity: pd.DataFrame | None = None, *,
                        inactive_days: int = 90, now: Any = None) -> pd.DataFrame:
    """Principals with no activity in ``inactive_days``: roles by RoleLastUsed, users by the
    credential report (password and both keys), both by CloudTrail last activity when given.
    A principal created within the period is not called inactive."""
    check_days(inactive_days, "inactive_days")
    when = as_of(snapshot, now) if snapshot is not None else utc_timestamp(now or pd.Timestamp.now(tz="UTC"))
    cutoff = when - pd.Timedelta(days=inactive_days)
    trail_last = _trail_last_activity(activity)
    report_last = _credential_report_last_use(found, snapshot) if snapshot is not None else {}
    rows = []
    for p in found:
        seen = [t for t in (p.role_last_used, report_last.get(p.arn), trail_last.get(p.arn)) if t is not None]
        last = max(seen) if seen else None
        if last is not None and last >= cutoff:
            continue
        if p.created is not None and p.created >= cutoff:
            continue
        rows.append({"account_id": p.account_id, "principal_arn": p.arn, "kind": p.kind, "created": p.created,
                     "last_activity": last, "days_inactive": None if last is None else int((when - last).days),
                     "evidence": "never used" if last is None else f"last activity {iso_z(last.to_pydatetime())}"})
    return pd.DataFrame(rows, columns=INACTIVE_COLUMNS)


def _trail_last_activity(activity: pd.DataFrame | None) -> dict[str, pd.Timestamp]:
    """Each principal's last CloudTrail call (``principal_last_activity`` rows)."""
    trail_last: dict[str, pd.Timestamp] = {}
    if activity is not None and not activity.empty:
        for arn, last in activity.groupby("principal_arn")["last_seen"].max().items():
            trail_last[arn] = utc_timestamp(last)
    return trail_last


def _credential_report_last_use(found: Sequence[Principal], snapshot: Snapshot) -> dict[str, pd.Timestamp | None]:
    """Each user's last password or access-key use, by the credential report; None when never used."""
    report_last: dict[str, pd.Timestamp | None] = {}
    for account in {p.account_id for p in found if p.account_id in snapshot.accounts}:
        try:
            report = snapshot.credential_report(account)
        except SnapshotError:
            continue
        for row in report.to_dict("records"):
            dates = [row[c] for c in CREDENTIAL_LAST_USE if not pd.isna(row[c])]
            report_last[row["arn"]] = max(dates) if dates else None
    return report_last
