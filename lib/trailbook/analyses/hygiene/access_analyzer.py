"""What IAM Access Analyzer reports (external and unused access), and where it agrees with
trailbook's own findings."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from trailbook.analyses.permissions.snapshot import snapshot_accounts
from trailbook.iam.snapshot import Snapshot, SnapshotError

ANALYZER_COLUMNS = ["account_id", "finding_type", "resource", "resource_type", "status", "updated_at", "id"]


def access_analyzer_findings(snapshot: Snapshot, *, accounts: Sequence[str] = ()) -> pd.DataFrame:
    """IAM Access Analyzer's active findings (external and unused access) from the snapshot."""
    rows = []
    for account in snapshot_accounts(snapshot, accounts):
        try:
            posture = snapshot.posture(account)
        except SnapshotError:
            continue
        for finding in posture.get("access_analyzer_findings", []) or []:
            rows.append({"account_id": account, "finding_type": finding.get("findingType"),
                         "resource": finding.get("resource"), "resource_type": finding.get("resourceType"),
                         "status": finding.get("status"), "updated_at": finding.get("updatedAt"),
                         "id": finding.get("id")})
    return pd.DataFrame(rows, columns=ANALYZER_COLUMNS)


def cross_check(analyzer: pd.DataFrame, own: pd.DataFrame) -> pd.DataFrame:
    """Access Analyzer's findings beside trailbook's, matched on the resource / principal ARN.

    ``seen_by``: both, access_analyzer (only AWS saw it) or trailbook (only trailbook did).
    """
    rows = []
    own_arns: dict[str, list[str]] = {}
    for row in own.to_dict("records") if not own.empty else []:
        if isinstance(row.get("principal_arn"), str) and row["principal_arn"]:
            own_arns.setdefault(row["principal_arn"], []).append(row["detection"])
    matched = set()
    for row in analyzer.to_dict("records"):
        hits = own_arns.get(row["resource"], [])
        matched.update([row["resource"]] if hits else [])
        rows.append({"account_id": row["account_id"], "arn": row["resource"], "access_analyzer": row["finding_type"],
                     "trailbook": sorted(set(hits)), "seen_by": "both" if hits else "access_analyzer"})
    for arn, detections in own_arns.items():
        if arn not in matched:
            rows.append({"account_id": arn.split(":")[4] if arn.count(":") >= 5 else None, "arn": arn,
                         "access_analyzer": None, "trailbook": sorted(set(detections)), "seen_by": "trailbook"})
    return pd.DataFrame(rows, columns=["account_id", "arn", "access_analyzer", "trailbook", "seen_by"])
