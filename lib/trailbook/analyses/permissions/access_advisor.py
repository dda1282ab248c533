"""When each principal last used each granted service and tracked action, by IAM Access Advisor
(from the snapshot): used, not used in N days, or never used."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from trailbook.iam.snapshot import Snapshot

from .inputs import as_of, check_days, utc_timestamp
from .snapshot import snapshot_accounts

SERVICE_COLUMNS = ["account_id", "principal_arn", "entity_type", "service_namespace", "service_name",
                   "last_authenticated", "days_since", "last_authenticated_entity", "last_authenticated_region",
                   "tracked_actions", "status"]
ACTION_COLUMNS = ["account_id", "principal_arn", "entity_type", "action", "last_accessed", "days_since",
                  "last_accessed_region", "status"]


def _entity_type(arn: str) -> str:
    resource = arn.split(":", 5)[-1]
    return resource.split("/", 1)[0]


def _since(last: pd.Timestamp | None, when: pd.Timestamp, unused_days: int) -> tuple[float | None, str]:
    """Days since last use (one decimal) and the status that gives: used, not_used or never_used."""
    if last is None:
        return None, "never_used"
    days = (when - last).total_seconds() / 86400
    return round(days, 1), "not_used" if days > unused_days else "used"


def service_last_accessed(snapshot: Snapshot, *, unused_days: int = 90, now: Any = None,
                          accounts: Sequence[str] = ()) -> pd.DataFrame:
    """Access Advisor per principal and service: used / not used in N days / never used.

    Access Advisor lists exactly the services the entity's policies allow, so every row is a
    granted service. Status ``not_used`` = last authenticated more than ``unused_days`` ago;
    ``never_used`` = no authentication in the tracking period (up to 400 days).
    """
    check_days(unused_days, "unused_days")
    when = as_of(snapshot, now)
    rows = []
    for account, arn, service in _services(snapshot, accounts):
        last = utc_timestamp(service.get("LastAuthenticated"))
        days, status = _since(last, when, unused_days)
        rows.append({"account_id": account, "principal_arn": arn, "entity_type": _entity_type(arn),
                     "service_namespace": service["ServiceNamespace"],
                     "service_name": service.get("ServiceName"), "last_authenticated": last,
                     "days_since": days, "last_authenticated_entity": service.get("LastAuthenticatedEntity"),
                     "last_authenticated_region": service.get("LastAuthenticatedRegion"),
                     "tracked_actions": len(service.get("TrackedActionsLastAccessed") or []),
                     "status": status})
    return pd.DataFrame(rows, columns=SERVICE_COLUMNS)


def _services(snapshot: Snapshot, accounts: Sequence[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(account, principal ARN, one ServicesLastAccessed entry) for every Access Advisor job."""
    for account in snapshot_accounts(snapshot, accounts):
        for arn, job in snapshot.service_last_accessed(account).items():
            for service in job.get("ServicesLastAccessed", []) or []:
                yield account, arn, service


def service_last_accessed_empty() -> pd.DataFrame:
    """The shape of ``service_last_accessed`` with no rows (a report without a snapshot)."""
    return pd.DataFrame(columns=SERVICE_COLUMNS)


def action_last_accessed(snapshot: Snapshot, *, unused_days: int = 90, now: Any = None,
                         accounts: Sequence[str] = ()) -> pd.DataFrame:
    """Access Advisor at action level (services IAM tracks by action, ACTION_LEVEL jobs only)."""
    check_days(unused_days, "unused_days")
    when = as_of(snapshot, now)
    rows = []
    for account, arn, service in _services(snapshot, accounts):
        for action in service.get("TrackedActionsLastAccessed") or []:
            last = utc_timestamp(action.get("LastAccessedTime"))
            days, status = _since(last, when, unused_days)
            rows.append({"account_id": account, "principal_arn": arn, "entity_type": _entity_type(arn),
                         "action": f"{service['ServiceNamespace']}:{action['ActionName']}",
                         "last_accessed": last, "days_since": days,
                         "last_accessed_region": action.get("LastAccessedRegion"), "status": status})
    return pd.DataFrame(rows, columns=ACTION_COLUMNS)
