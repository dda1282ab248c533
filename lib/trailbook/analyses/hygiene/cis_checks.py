"""Does each credential pass CIS AWS Foundations 1.4–1.14? Judged from the credential report, the
access keys and the virtual MFA devices of the snapshot: pass, fail or unknown.

CIS 1.6 (root hardware MFA): the credential report says whether root has *an* MFA device;
ListVirtualMFADevices (``virtual_mfa_devices.json``) lists every virtual device and whom it is
assigned to. Root MFA active and no virtual device assigned to root → hardware → pass; a virtual
device assigned to root → fail; root with no MFA at all → fail (no hardware MFA either; 1.5
fails too); device list not collected → unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from trailbook.analyses.permissions.inputs import check_days
from trailbook.analyses.permissions.snapshot import snapshot_accounts
from trailbook.findings import SEVERITY_RANK
from trailbook.iam.snapshot import Snapshot, SnapshotError, iso_z

from .inputs import as_of

if TYPE_CHECKING:
    from trailbook.analyses.incident import Story

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
CHECK_COLUMNS = ["account_id", "cis_id", "check", "status", "user", "arn", "access_key_id", "detail", "severity"]

# add(account, cis_id, status, user, arn, detail, access_key_id=None): record one check result.
AddCheck = Callable[..., None]


def _present(row: dict[str, Any], column: str) -> bool:
    return row[f"{column}_state"] == "present"


def _iso(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else iso_z(pd.Timestamp(value).to_pydatetime())


def credential_checks(snapshot: Snapshot, *, inactive_days: int = 45, rotation_days: int = 90,
                      root_recent_days: int = 1, now: Any = None, accounts: Sequence[str] = (),
                      story: Story | None = None) -> pd.DataFrame:
    """The CIS credential checks, one row per (check, subject): pass, fail or unknown.

    Thresholds: ``inactive_days`` (1.12), ``rotation_days`` (1.14), ``root_recent_days`` (1.7).
    Accounts whose credential report could not be collected get one ``unknown`` row per check.
    With the window's ``story``, ``incident`` says which incident implicates the subject, and a
    failed key check on a key an incident implicates says so first: it is compromised (or a
    backdoor), not a rotation matter.
    """
    check_days(inactive_days, "inactive_days")
    check_days(rotation_days, "rotation_days")
    check_days(root_recent_days, "root_recent_days")
    when = as_of(snapshot, now)
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
    checks = pd.DataFrame(rows, columns=CHECK_COLUMNS)
    return _mark_incidents(checks, story) if story is not None else checks


def _mark_incidents(checks: pd.DataFrame, story: Story) -> pd.DataFrame:
    out = checks.assign(incident=story.marks(checks, principal="arn", key="access_key_id", account="account_id"))
    keyed = out["incident"].notna() & out["access_key_id"].notna() & out["status"].eq("fail")
    out.loc[keyed, "detail"] = [f"{mark} (not a rotation matter: {detail})"
                                for mark, detail in zip(out.loc[keyed, "incident"], out.loc[keyed, "detail"],
                                                        strict=True)]
    return out


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


def _root_checks(add: AddCheck, account: str, row: dict[str, Any], when: pd.Timestamp, recent_days: int,
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


def _user_checks(add: AddCheck, account: str, row: dict[str, Any], when: pd.Timestamp, inactive_days: int,
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
    _unused_credential_checks(add, account, row, when, inactive_days, console, active_keys, key_ids)


def _unused_credential_checks(add: AddCheck, account: str, row: dict[str, Any], when: pd.Timestamp,
                              inactive_days: int, console: bool, active_keys: list[int],
                              key_ids: dict[int, str | None]) -> None:
    """1.12: each enabled credential unused (or never used since created) for inactive_days."""
    user, arn, created = row["user"], row["arn"], row["user_creation_time"]
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


def failed_checks(checks: pd.DataFrame) -> pd.DataFrame:
    """The checks that failed or could not be judged, most severe first."""
    frame = checks[checks["status"].ne("pass")]
    rank = frame["severity"].map(SEVERITY_RANK).fillna(-1)
    return (frame.assign(_r=-rank).sort_values(["_r", "account_id", "cis_id"], kind="stable").drop(columns="_r")
            .reset_index(drop=True))
