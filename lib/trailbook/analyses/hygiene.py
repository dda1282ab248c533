"""Credential hygiene (CIS AWS Foundations 1.4–1.14 from the credential report), access-key ages,
and guardrail posture (CloudTrail, GuardDuty, S3 Block Public Access, IAM Access Analyzer).

Everything reads an IAM snapshot (``trailbook.iam``), so it runs offline. Every check yields
``pass``, ``fail`` or ``unknown``; ``unknown`` is used when the snapshot cannot say (a call that
failed, a sentinel like ``no_information``, or an older snapshot without the data), never
silently counted as a pass.

CIS 1.6 (root hardware MFA): the credential report says whether root has *an* MFA device;
ListVirtualMFADevices (``virtual_mfa_devices.json``) lists every virtual device and whom it is
assigned to. Root MFA active and no virtual device assigned to root → hardware → pass; a virtual
device assigned to root → fail; root with no MFA at all → fail (no hardware MFA either; 1.5
fails too); device list not collected → unknown.

The notebook ``credential_hygiene`` calls these one per cell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .. import findings as F
from ..iam.snapshot import Snapshot, SnapshotError, iso_z
from .permissions import PermissionsError, open_snapshot, snapshot_accounts

__all__ = ["open_snapshot", "credential_checks", "key_inventory", "key_age_buckets", "posture_checks",
           "access_analyzer_findings", "cross_check", "findings", "CHECKS", "AGE_BUCKETS"]

# CIS id → (detection name, title, severity of a fail, MITRE).
CHECKS: dict[str, tuple[str, str, str, list[str]]] = {
    "1.4": ("cis_1_4_root_access_keys", "Root user has access keys", "critical", ["T1078.004"]),
    "1.5": ("cis_1_5_root_mfa", "Root user has no MFA", "critical", ["T1078.004"]),
    "1.6": ("cis_1_6_root_hardware_mfa", "Root user has no hardware MFA", "medium", ["T1078.004"]),
    "1.7": ("cis_1_7_root_used", "Root user used recently", "high", ["T1078.004"]),
    "1.10": ("cis_1_10_console_user_without_mfa", "Console user without MFA", "high", ["T1078.004"]),
    "1.11": ("cis_1_11_key_never_used", "Access key set up with the user and never used", "low", ["T1098.001"]),
    "1.12": ("cis_1_12_unused_credentials", "Credentials unused for the inactivity period", "medium", ["T1078.004"]),
    "1.13": ("cis_1_13_two_active_keys", "User with two active access keys", "medium", ["T1098.001"]),
    "1.14": ("cis_1_14_key_rotation", "Active access key older than the rotation period", "medium", ["T1098.001"]),
}
POSTURE_DETECTIONS: dict[str, tuple[str, str, list[str]]] = {
    "cloudtrail_multi_region_logging": ("posture_cloudtrail", "high", ["T1562.008"]),
    "guardduty_all_regions": ("posture_guardduty", "high", ["T1562.001"]),
    "s3_account_block_public_access": ("posture_s3_block_public_access", "medium", ["T1530"]),
    "access_analyzer_exists": ("posture_access_analyzer", "low", ["T1580"]),
}
AGE_BUCKETS: tuple[str, ...] = ("< 1 day", "1-30 days", "30-90 days", "90-365 days", "> 1 year")
CHECK_COLUMNS = ["account_id", "cis_id", "check", "status", "user", "arn", "access_key_id", "detail", "severity"]


def _now(snapshot: Snapshot, now: Any) -> pd.Timestamp:
    if now is None:
        return pd.Timestamp(snapshot.collected_at).tz_convert("UTC")
    stamp = pd.Timestamp(now)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _check_days(value: Any, name: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PermissionsError(f"{name} must be a whole number of days >= {minimum}, got {value!r}")


def _present(row: dict[str, Any], column: str) -> bool:
    return row[f"{column}_state"] == "present"


def _iso(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else iso_z(pd.Timestamp(value).to_pydatetime())


# --- credential report checks -------------------------------------------------------------------

def credential_checks(snapshot: Snapshot, *, inactive_days: int = 45, rotation_days: int = 90,
                      root_recent_days: int = 1, now: Any = None, accounts: Sequence[str] = ()) -> pd.DataFrame:
    """The CIS credential checks, one row per (check, subject): pass, fail or unknown.

    Thresholds: ``inactive_days`` (1.12), ``rotation_days`` (1.14), ``root_recent_days`` (1.7).
    Accounts whose credential report could not be collected get one ``unknown`` row per check.
    """
    _check_days(inactive_days, "inactive_days")
    _check_days(rotation_days, "rotation_days")
    _check_days(root_recent_days, "root_recent_days")
    when = _now(snapshot, now)
    rows: list[dict[str, Any]] = []

    def add(account: str, cis: str, status: str, user: str | None, arn: str | None, detail: str,
            key: str | None = None) -> None:
        detection, title, severity, _ = CHECKS[cis]
        rows.append({"account_id": account, "cis_id": cis, "check": title, "status": status, "user": user,
                     "arn": arn, "access_key_id": key, "detail": detail,
                     "severity": severity if status == "fail" else "info"})

    for account in snapshot_accounts(snapshot, accounts):
        try:
            report = snapshot.credential_report(account)
        except SnapshotError as error:
            for cis in CHECKS:
                add(account, cis, "unknown", None, None, f"credential report not collected: {error}")
            continue
        keys = _keys_by_user(snapshot, account)
        devices = _virtual_mfa_devices(snapshot, account)
        for row in report.to_dict("records"):
            if row["is_root"]:
                _root_checks(add, account, row, when, root_recent_days, *devices)
            else:
                _user_checks(add, account, row, when, inactive_days, rotation_days, keys.get(row["user"], []))
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def _keys_by_user(snapshot: Snapshot, account: str) -> dict[str, list[dict[str, Any]]]:
    """Access keys per user name; empty when access keys were not collected."""
    try:
        listed = snapshot.access_keys(account)
    except SnapshotError:
        return {}
    by_user: dict[str, list[dict[str, Any]]] = {}
    for key in listed:
        by_user.setdefault(key["UserName"], []).append(key)
    return by_user


def _virtual_mfa_devices(snapshot: Snapshot, account: str) -> tuple[list[dict[str, Any]] | None, str]:
    """The account's virtual MFA devices, or None and why not (1.6 is then unknown)."""
    try:
        return snapshot.virtual_mfa_devices(account), ""
    except SnapshotError as error:
        return None, str(error)


def _root_virtual_devices(devices: list[dict[str, Any]], account: str, root_arn: str) -> list[str]:
    """Serial numbers of the virtual MFA devices assigned to the account's root user."""
    root = re.compile(rf"arn:[^:]+:iam::{re.escape(account)}:root")
    assigned = []
    for device in devices:
        user_arn = (device.get("User") or {}).get("Arn")
        if isinstance(user_arn, str) and (user_arn == root_arn or root.fullmatch(user_arn)):
            assigned.append(str(device.get("SerialNumber")))
    return assigned


def _slot_key(keys: list[dict[str, Any]], rotated: Any) -> str | None:
    """The AccessKeyId in a credential-report slot: the report names no ids, so match the
    slot's last_rotated to a key's CreateDate (same minute)."""
    if rotated is None or pd.isna(rotated):
        return None
    for key in keys:
        created = key.get("CreateDate")
        if created and abs(pd.Timestamp(created).tz_convert("UTC") - rotated) < pd.Timedelta(minutes=1):
            return key["AccessKeyId"]
    return None


def _root_checks(add, account: str, row: dict[str, Any], when: pd.Timestamp, recent_days: int,
                 devices: list[dict[str, Any]] | None, devices_missing: str) -> None:
    user, arn = row["user"], row["arn"]
    active = [n for n in (1, 2) if row[f"access_key_{n}_active"] is True]
    unknown_keys = [n for n in (1, 2) if row[f"access_key_{n}_active_state"] != "present"]
    if active:
        add(account, "1.4", "fail", user, arn, f"root access key(s) {active} active")
    elif unknown_keys:
        add(account, "1.4", "unknown", user, arn, "root key state not reported")
    else:
        add(account, "1.4", "pass", user, arn, "no active root access keys")
    mfa = row["mfa_active"]
    if row["mfa_active_state"] != "present":
        add(account, "1.5", "unknown", user, arn, "root MFA state not reported")
        add(account, "1.6", "unknown", user, arn, "root MFA state not reported")
    elif not mfa:
        add(account, "1.5", "fail", user, arn, "root has no MFA device")
        add(account, "1.6", "fail", user, arn, "root has no MFA device at all")
    else:
        add(account, "1.5", "pass", user, arn, "root MFA active")
        # Hardware devices are not listed anywhere; they are what remains when no virtual one is root's.
        virtual = None if devices is None else _root_virtual_devices(devices, account, arn)
        if virtual is None:
            add(account, "1.6", "unknown", user, arn, "root MFA is active; hardware vs virtual is unknown: "
                                                      f"{devices_missing}")
        elif virtual:
            add(account, "1.6", "fail", user, arn, f"root MFA is a virtual device: {', '.join(virtual)}")
        else:
            add(account, "1.6", "pass", user, arn, "root MFA active and no virtual MFA device is assigned to root "
                                                   "(hardware MFA)")
    used = [row[c] for c in ("password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date")
            if _present(row, c)]
    last = max(used) if used else None
    if last is not None and when - last <= pd.Timedelta(days=recent_days):
        add(account, "1.7", "fail", user, arn, f"root last used {_iso(last)} (within {recent_days} day(s))")
    elif last is not None:
        add(account, "1.7", "pass", user, arn, f"root last used {_iso(last)}")
    else:
        add(account, "1.7", "pass", user, arn, "no recorded root use (password no_information or N/A, no key use)")


def _user_checks(add, account: str, row: dict[str, Any], when: pd.Timestamp, inactive_days: int,
                 rotation_days: int, keys: list[dict[str, Any]]) -> None:
    user, arn = row["user"], row["arn"]
    key_ids = {n: _slot_key(keys, row[f"access_key_{n}_last_rotated"]) for n in (1, 2)}
    console = row["password_enabled"] is True
    if console:
        if row["mfa_active"] is True:
            add(account, "1.10", "pass", user, arn, "console password with MFA")
        else:
            add(account, "1.10", "fail", user, arn, "console password enabled, no MFA device")
    created = row["user_creation_time"]
    active_keys = [n for n in (1, 2) if row[f"access_key_{n}_active"] is True]
    for n in active_keys:
        key = key_ids.get(n)
        never_used = row[f"access_key_{n}_last_used_date_state"] == "not_applicable"
        rotated = row[f"access_key_{n}_last_rotated"]
        # 1.11: a key made together with the user (same hour) and never used, on a console user.
        if console and never_used and not pd.isna(rotated) and abs(rotated - created) <= pd.Timedelta(hours=1):
            add(account, "1.11", "fail", user, arn, f"key {n} created with the user and never used", key)
        if pd.isna(rotated):
            add(account, "1.14", "unknown", user, arn, f"key {n} has no last_rotated date", key)
        else:
            age = (when - rotated).days
            status = "fail" if age > rotation_days else "pass"
            add(account, "1.14", status, user, arn, f"key {n} is {age} days old (limit {rotation_days})", key)
    if len(active_keys) == 2:
        add(account, "1.13", "fail", user, arn, "both access keys are active",
            ",".join(k for k in (key_ids.get(1), key_ids.get(2)) if k) or None)
    # 1.12: each enabled credential unused (or never used since created) for inactive_days.
    limit = pd.Timedelta(days=inactive_days)
    if console:
        if _present(row, "password_last_used"):
            idle = when - row["password_last_used"]
            status = "fail" if idle > limit else "pass"
            add(account, "1.12", status, user, arn, f"password last used {_iso(row['password_last_used'])}")
        elif row["password_last_used_state"] == "no_information":
            add(account, "1.12", "unknown", user, arn, "password use: no_information")
        else:
            status = "fail" if when - created > limit else "pass"
            add(account, "1.12", status, user, arn, f"password never used (user created {_iso(created)})")
    for n in active_keys:
        key = key_ids.get(n)
        column = f"access_key_{n}_last_used_date"
        if _present(row, column):
            status = "fail" if when - row[column] > limit else "pass"
            add(account, "1.12", status, user, arn, f"key {n} last used {_iso(row[column])}", key)
        else:
            rotated = row[f"access_key_{n}_last_rotated"]
            status = "fail" if not pd.isna(rotated) and when - rotated > limit else "pass"
            add(account, "1.12", status, user, arn, f"key {n} never used (created {_iso(rotated)})", key)


def check_summary(checks: pd.DataFrame) -> pd.DataFrame:
    """Per account and CIS id: how many subjects pass, fail, or cannot be judged."""
    if checks.empty:
        return pd.DataFrame(columns=["account_id", "cis_id", "check", "pass", "fail", "unknown"])
    table = checks.pivot_table(index=["account_id", "cis_id", "check"], columns="status", values="arn",
                               aggfunc="size", fill_value=0)
    for status in ("pass", "fail", "unknown"):
        if status not in table:
            table[status] = 0
    table = table[["pass", "fail", "unknown"]].reset_index()
    table.columns.name = None
    order = {cis: n for n, cis in enumerate(CHECKS)}
    return table.sort_values(["account_id", "cis_id"], key=lambda s: s.map(order) if s.name == "cis_id" else s,
                             kind="stable").reset_index(drop=True)


# --- access keys ------------------------------------------------------------------------------

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
                  accounts: Sequence[str] = ()) -> pd.DataFrame:
    """Every access key: age, bucket, last use, and whether its user looks gone.

    ``user_left``: the user has no activity at all for ``inactive_days`` (no key of theirs used,
    no password use) — the "keys whose user left" list. Unknown when the report lacks the user.
    """
    _check_days(inactive_days, "inactive_days")
    when = _now(snapshot, now)
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
    frame = pd.DataFrame(rows, columns=["account_id", "user", "access_key_id", "status", "created", "age_days",
                                        "age_bucket", "last_used", "last_used_service", "last_used_region",
                                        "user_last_activity", "user_left"])
    frame["age_bucket"] = pd.Categorical(frame["age_bucket"], categories=list(AGE_BUCKETS), ordered=True)
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


# --- guardrail posture ----------------------------------------------------------------------------

POSTURE_COLUMNS = ["account_id", "check", "status", "detail"]


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
                     f"validation={trail.get('LogFileValidationEnabled')}, logging={'unknown' if logging is None else logging}")
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
    off = [k for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets") if not block.get(k)]
    return {"status": "fail", "detail": f"off: {', '.join(off)}"} if off else {"status": "pass", "detail": "all four on"}


def _analyzer_check(posture: dict[str, Any]) -> dict[str, str]:
    if "access_analyzers" not in posture:
        return {"status": "unknown", "detail": "ListAnalyzers failed"}
    active = [a["name"] for a in posture["access_analyzers"] if a.get("status") == "ACTIVE"]
    return ({"status": "pass", "detail": f"active: {', '.join(active)}"} if active
            else {"status": "fail", "detail": "no active analyzer"})


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
                         "status": finding.get("status"), "updated_at": finding.get("updatedAt"), "id": finding.get("id")})
    return pd.DataFrame(rows, columns=["account_id", "finding_type", "resource", "resource_type", "status",
                                       "updated_at", "id"])


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


# --- findings -------------------------------------------------------------------------------------

def findings(snapshot: Snapshot, checks: pd.DataFrame, posture: pd.DataFrame | None = None) -> pd.DataFrame:
    """Failed checks as findings in the shared columns (snapshot time as first/last seen,
    no events). One finding per failed (check, subject); extra columns cis_id and detail."""
    stamp = iso_z(snapshot.collected_at)
    base = {"first_seen": stamp, "last_seen": stamp, "region": None, "source_ip": None, "user_agent": None,
            "event_names": [], "event_count": 0, "event_ids": []}
    rows = []
    for row in checks[checks["status"].eq("fail")].to_dict("records"):
        detection, _, severity, mitre = CHECKS[row["cis_id"]]
        rows.append({**base, "detection": detection, "severity": severity, "account_id": row["account_id"],
                     "principal_arn": row["arn"], "access_key_id": row["access_key_id"], "mitre": mitre,
                     "cis_id": row["cis_id"], "detail": row["detail"]})
    if posture is not None:
        for row in posture[posture["status"].eq("fail")].to_dict("records"):
            detection, severity, mitre = POSTURE_DETECTIONS[row["check"]]
            rows.append({**base, "detection": detection, "severity": severity, "account_id": row["account_id"],
                         "principal_arn": None, "access_key_id": None, "mitre": mitre, "cis_id": None,
                         "detail": row["detail"]})
    if not rows:
        return F.empty()
    return F.sort(F.normalize(pd.DataFrame(rows)))


def failed_checks(checks: pd.DataFrame) -> pd.DataFrame:
    """The checks that failed or could not be judged, most severe first."""
    from ..findings import SEVERITY_RANK

    frame = checks[checks["status"].ne("pass")]
    rank = frame["severity"].map(SEVERITY_RANK).fillna(-1)
    return frame.assign(_r=-rank).sort_values(["_r", "account_id", "cis_id"], kind="stable").drop(columns="_r").reset_index(drop=True)


def departed_user_keys(keys: pd.DataFrame) -> pd.DataFrame:
    """Active keys whose user shows no activity at all in the inactivity period."""
    return keys[keys["status"].eq("Active") & keys["user_left"].fillna(False).astype(bool)].reset_index(drop=True)


def key_trail_activity(session: Any, keys: pd.DataFrame) -> pd.DataFrame:
    """Each key with its CloudTrail activity in the session window (``principal_last_activity``):
    calls, failed calls, first and last seen. A key absent from the trail shows 0 calls."""
    activity = session.run("principal_last_activity")
    used = activity[activity["access_key_id"].notna()] if not activity.empty else activity
    per_key = (used.groupby("access_key_id").agg(trail_calls=("calls", "sum"), trail_failed=("failed_calls", "sum"),
                                                 trail_first_seen=("first_seen", "min"), trail_last_seen=("last_seen", "max"))
               if not used.empty else pd.DataFrame(columns=["trail_calls", "trail_failed", "trail_first_seen", "trail_last_seen"]))
    out = keys.merge(per_key, how="left", left_on="access_key_id", right_index=True)
    out["trail_calls"] = pd.to_numeric(out["trail_calls"]).fillna(0).astype("int64")
    out["trail_failed"] = pd.to_numeric(out["trail_failed"]).fillna(0).astype("int64")
    return out
