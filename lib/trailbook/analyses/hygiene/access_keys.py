"""How old is each access key, whose user looks gone, and what did the keys do in the trail?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from trailbook.analyses.permissions.inputs import check_days
from trailbook.analyses.permissions.snapshot import snapshot_accounts
from trailbook.iam.snapshot import Snapshot, SnapshotError

from .inputs import as_of

if TYPE_CHECKING:
    from trailbook.analyses.incident import Story
    from trailbook.session import Session

AGE_BUCKETS: tuple[str, ...] = ("< 1 day", "1-30 days", "30-90 days", "90-365 days", "> 1 year")
KEY_COLUMNS = ["account_id", "user", "access_key_id", "status", "created", "age_days", "age_bucket", "last_used",
               "last_used_service", "last_used_region", "user_last_activity", "user_left"]
TRAIL_COLUMNS = ["trail_calls", "trail_failed", "trail_first_seen", "trail_last_seen"]


def age_bucket(days: float) -> str:
    """The key-age bucket of an age in days."""
    if days < 1:
        return AGE_BUCKETS[0]
    if days < 30:
        return AGE_BUCKETS[1]
    if days < 90:
        return AGE_BUCKETS[2]
    if days <= 365:
        return AGE_BUCKETS[3]
    return AGE_BUCKETS[4]


def key_inventory(snapshot: Snapshot, *, inactive_days: int = 45, now: Any = None,
                  accounts: Sequence[str] = (), story: Story | None = None) -> pd.DataFrame:
    """Every access key: age, bucket, last use, and whether its user looks gone.

    ``user_left``: the user has no activity at all for ``inactive_days`` (no key of theirs used,
    no password use) — the "keys whose user left" list. Unknown when the report lacks the user.
    With the window's ``story``, ``incident`` marks a key an incident implicates (compromised, or
    created by the attacker), ahead of its age.
    """
    check_days(inactive_days, "inactive_days")
    when = as_of(snapshot, now)
    rows = []
    for account in snapshot_accounts(snapshot, accounts):
        try:
            keys = snapshot.access_keys(account)
        except SnapshotError:
            continue
        try:
            report = snapshot.credential_report(account).set_index("user")
        except SnapshotError:
            report = None
        for key in keys:
            created = pd.Timestamp(key["CreateDate"]).tz_convert("UTC") if key.get("CreateDate") else None
            last = pd.Timestamp(key["LastUsedDate"]).tz_convert("UTC") if key.get("LastUsedDate") else None
            age = None if created is None else (when - created).total_seconds() / 86400
            user_last, user_left = _user_activity(report, key["UserName"], when, inactive_days)
            rows.append({
                "account_id": account, "user": key["UserName"], "access_key_id": key["AccessKeyId"],
                "status": key.get("Status"), "created": created, "age_days": None if age is None else round(age, 1),
                "age_bucket": None if age is None else age_bucket(age), "last_used": last,
                "last_used_service": key.get("LastUsedServiceName"), "last_used_region": key.get("LastUsedRegion"),
                "user_last_activity": user_last, "user_left": user_left,
            })
    frame = pd.DataFrame(rows, columns=KEY_COLUMNS)
    frame["age_bucket"] = pd.Categorical(frame["age_bucket"], categories=list(AGE_BUCKETS), ordered=True)
    if story is not None:
        frame.insert(3, "incident", story.marks(frame, key="access_key_id"))
    return frame.sort_values(["account_id", "age_days"], ascending=[True, False], kind="stable").reset_index(drop=True)


def _user_activity(report: pd.DataFrame | None, user: str, when: pd.Timestamp, days: int) -> tuple[Any, Any]:
    if report is None or user not in report.index:
        return None, pd.NA
    row = report.loc[user]
    used = [row[c] for c in ("password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date")
            if row[f"{c}_state"] == "present"]
    last = max(used) if used else None
    return last, bool(last is None or when - last > pd.Timedelta(days=days))


def key_age_buckets(keys: pd.DataFrame, *, active_only: bool = True) -> pd.DataFrame:
    """Number of keys per age bucket (every bucket listed, zero included)."""
    chosen = keys[keys["status"].eq("Active")] if active_only and not keys.empty else keys
    counts = chosen["age_bucket"].value_counts().reindex(list(AGE_BUCKETS), fill_value=0)
    return pd.DataFrame({"age_bucket": list(AGE_BUCKETS), "keys": [int(counts[b]) for b in AGE_BUCKETS]})


def departed_user_keys(keys: pd.DataFrame) -> pd.DataFrame:
    """Active keys whose user shows no activity at all in the inactivity period."""
    return keys[keys["status"].eq("Active") & keys["user_left"].fillna(False).astype(bool)].reset_index(drop=True)


def key_trail_activity(session: Session, keys: pd.DataFrame) -> pd.DataFrame:
    """Each key with its CloudTrail activity in the session window (``principal_last_activity``):
    calls, failed calls, first and last seen. A key absent from the trail shows 0 calls."""
    activity = session.run("principal_last_activity")
    used = activity[activity["access_key_id"].notna()] if not activity.empty else activity
    per_key = (used.groupby("access_key_id").agg(trail_calls=("calls", "sum"), trail_failed=("failed_calls", "sum"),
                                                 trail_first_seen=("first_seen", "min"),
                                                 trail_last_seen=("last_seen", "max"))
               if not used.empty else pd.DataFrame(columns=TRAIL_COLUMNS))
    out = keys.merge(per_key, how="left", left_on="access_key_id", right_index=True)
    out["trail_calls"] = pd.to_numeric(out["trail_calls"]).fillna(0).astype("int64")
    out["trail_failed"] = pd.to_numeric(out["trail_failed"]).fillna(0).astype("int64")
    return out
