"""Are the account's guardrails on? CloudTrail multi-region logging with validation, GuardDuty in
every region in use, S3 account-level Block Public Access, an active IAM Access Analyzer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from trailbook.analyses.permissions.snapshot import snapshot_accounts
from trailbook.iam.snapshot import Snapshot, SnapshotError

# check → (detection name, severity of a fail, MITRE).
POSTURE_DETECTIONS: dict[str, tuple[str, str, list[str]]] = {
    "cloudtrail_multi_region_logging": ("posture_cloudtrail", "high", ["T1562.008"]),
    "guardduty_all_regions": ("posture_guardduty", "high", ["T1562.001"]),
    "s3_account_block_public_access": ("posture_s3_block_public_access", "medium", ["T1530"]),
    "access_analyzer_exists": ("posture_access_analyzer", "low", ["T1580"]),
}
POSTURE_COLUMNS = ["account_id", "check", "status", "detail"]
BLOCK_PUBLIC_ACCESS_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def posture_checks(snapshot: Snapshot, *, accounts: Sequence[str] = ()) -> pd.DataFrame:
    """CloudTrail multi-region + validation + logging; GuardDuty in every region in use; S3
    account-level Block Public Access (all four settings); an IAM Access Analyzer exists."""
    rows: list[dict[str, Any]] = []
    for account in snapshot_accounts(snapshot, accounts):
        try:
            posture = snapshot.posture(account)
        except SnapshotError as error:
            for check in POSTURE_DETECTIONS:
                rows.append({"account_id": account, "check": check, "status": "unknown", "detail": str(error)})
            continue
        rows.append({"account_id": account, "check": "cloudtrail_multi_region_logging", **_trail_check(posture)})
        rows.append({"account_id": account, "check": "guardduty_all_regions", **_guardduty_check(posture)})
        rows.append({"account_id": account, "check": "s3_account_block_public_access", **_bpa_check(posture)})
        rows.append({"account_id": account, "check": "access_analyzer_exists", **_analyzer_check(posture)})
    return pd.DataFrame(rows, columns=POSTURE_COLUMNS)


def _trail_check(posture: dict[str, Any]) -> dict[str, str]:
    if "trails" not in posture:
        return {"status": "unknown", "detail": "DescribeTrails failed in some region"}
    statuses = posture.get("trail_status", {})
    good, notes = [], []
    for trail in posture["trails"]:
        arn = trail.get("TrailARN") or trail.get("Name")
        status = statuses.get(arn)
        logging = None if status is None else bool(status.get("IsLogging"))
        ok = bool(trail.get("IsMultiRegionTrail")) and bool(trail.get("LogFileValidationEnabled")) and logging
        notes.append(f"{trail.get('Name')}: multi-region={trail.get('IsMultiRegionTrail')}, "
                     f"validation={trail.get('LogFileValidationEnabled')}, "
                     f"logging={'unknown' if logging is None else logging}")
        if ok:
            good.append(arn)
    if good:
        return {"status": "pass", "detail": "; ".join(notes)}
    unknown = any(statuses.get(t.get("TrailARN") or t.get("Name")) is None for t in posture["trails"]
                  if t.get("IsMultiRegionTrail") and t.get("LogFileValidationEnabled"))
    return {"status": "unknown" if unknown else "fail", "detail": "; ".join(notes) or "no trails"}


def _guardduty_check(posture: dict[str, Any]) -> dict[str, str]:
    regions = posture.get("regions_in_use")
    if regions is None:
        return {"status": "unknown", "detail": "regions in use not recorded"}
    found = posture.get("guardduty", {})
    missing, unknown = [], []
    for region in regions:
        if region not in found:
            unknown.append(region)
            continue
        detectors = found[region].get("detectors", {})
        if not any(d.get("Status") == "ENABLED" for d in detectors.values()):
            missing.append(region)
    if missing:
        return {"status": "fail", "detail": f"no enabled detector in {', '.join(missing)}"}
    if unknown:
        return {"status": "unknown", "detail": f"GuardDuty not read in {', '.join(unknown)}"}
    return {"status": "pass", "detail": f"enabled in {', '.join(regions)}"}


def _bpa_check(posture: dict[str, Any]) -> dict[str, str]:
    if "s3_public_access_block" not in posture:
        return {"status": "unknown", "detail": "GetPublicAccessBlock failed"}
    block = posture["s3_public_access_block"]
    if block is None:
        return {"status": "fail", "detail": "no account-level Block Public Access configuration"}
    off = [k for k in BLOCK_PUBLIC_ACCESS_SETTINGS if not block.get(k)]
    if off:
        return {"status": "fail", "detail": f"off: {', '.join(off)}"}
    return {"status": "pass", "detail": "all four on"}


def _analyzer_check(posture: dict[str, Any]) -> dict[str, str]:
    if "access_analyzers" not in posture:
        return {"status": "unknown", "detail": "ListAnalyzers failed"}
    active = [a["name"] for a in posture["access_analyzers"] if a.get("status") == "ACTIVE"]
    return ({"status": "pass", "detail": f"active: {', '.join(active)}"} if active
            else {"status": "fail", "detail": "no active analyzer"})
