"""CIS 1.4–1.14 credential checks: root (keys, MFA, hardware MFA, recent use) and users (console MFA,
unused and old keys, two active keys, unused credentials), and accounts whose report was not collected."""

from __future__ import annotations

import pytest

from hygiene_snapshot import (
    ACCOUNT,
    COLLECTED,
    HEADER,
    ROOT_VIRTUAL,
    ROOT_WITH_MFA,
    ROWS,
    SPARE_VIRTUAL,
    USER_VIRTUAL,
    A,
    write_test_snapshot,
)
from trailbook.analyses import hygiene as H
from trailbook.iam.snapshot import AccountData, load_snapshot, write_snapshot


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def _status(checks, cis, user):
    rows = checks[checks["cis_id"].eq(cis) & checks["user"].eq(user)]
    return sorted(rows["status"])


def test_root_checks(snapshot):
    checks = H.credential_checks(snapshot, root_recent_days=1, accounts=[ACCOUNT])
    root = "<root_account>"
    assert _status(checks, "1.4", root) == ["fail"] and _status(checks, "1.5", root) == ["fail"]
    assert _status(checks, "1.6", root) == ["fail"] and _status(checks, "1.7", root) == ["fail"]
    assert "2026-10-28T08:00:00Z" in checks[checks["cis_id"].eq("1.7")]["detail"].item()
    # Root used 22 h before the snapshot passes with a shorter window? No: with 1 day it fails; a
    # report collected two days later passes.
    later = H.credential_checks(snapshot, root_recent_days=1, accounts=[ACCOUNT], now="2026-10-31T00:00:00Z")
    assert _status(later, "1.7", root) == ["pass"]


def _root_16(tmp_path, root_row, devices, errors=()):
    data = AccountData(credential_report_csv="\n".join([HEADER, root_row, *ROWS[1:]]) + "\n",
                       virtual_mfa_devices=devices)
    snap = load_snapshot(write_snapshot(tmp_path, {ACCOUNT: data}, source="live", collected_at=COLLECTED, errors=errors))
    rows = H.credential_checks(snap).query("cis_id == '1.6'")
    assert rows["user"].tolist() == ["<root_account>"] and rows["arn"].tolist() == [f"{A}:root"]
    return rows.iloc[0]


@pytest.mark.parametrize("devices, status, detail", [
    ([], "pass", "no virtual MFA device is assigned to root (hardware MFA)"),
    ([USER_VIRTUAL, SPARE_VIRTUAL], "pass", "no virtual MFA device is assigned to root (hardware MFA)"),
    ([USER_VIRTUAL, ROOT_VIRTUAL], "fail", f"root MFA is a virtual device: {A}:mfa/root-account-mfa-device"),
    (None, "unknown", "hardware vs virtual is unknown: virtual_mfa_devices.json was not collected"),
])
def test_root_hardware_mfa(tmp_path, devices, status, detail):
    row = _root_16(tmp_path, ROOT_WITH_MFA, devices)
    assert row["status"] == status and detail in row["detail"]
    assert row["severity"] == ("medium" if status == "fail" else "info")


def test_root_hardware_mfa_failed_listing_and_no_mfa(tmp_path):
    denied = [{"account": ACCOUNT, "call": "ListVirtualMFADevices", "message": "AccessDenied"}]
    row = _root_16(tmp_path / "denied", ROOT_WITH_MFA, None, denied)
    assert row["status"] == "unknown" and "ListVirtualMFADevices: AccessDenied" in row["detail"]
    # Root without any MFA has no hardware MFA either, whatever the device list says.
    row = _root_16(tmp_path / "none", ROWS[0], [])
    assert (row["status"], row["detail"]) == ("fail", "root has no MFA device at all")


def test_user_checks(snapshot):
    checks = H.credential_checks(snapshot, inactive_days=45, rotation_days=90, accounts=[ACCOUNT])
    assert _status(checks, "1.10", "nomfa") == ["fail"] and _status(checks, "1.10", "quiet") == ["pass"]
    assert _status(checks, "1.11", "nomfa") == ["fail"]
    key_111 = checks[checks["cis_id"].eq("1.11")]["access_key_id"].item()
    assert key_111 == "AKIANOMFA00000000001"
    assert _status(checks, "1.13", "twokeys") == ["fail"]
    rotation = checks[checks["cis_id"].eq("1.14") & checks["user"].eq("twokeys")].set_index("access_key_id")["status"]
    assert rotation.to_dict() == {"AKIATWOKEYS000000OLD": "fail", "AKIATWOKEYS000000NEW": "pass"}
    unused = checks[checks["cis_id"].eq("1.12") & checks["user"].eq("twokeys")].set_index("access_key_id")["status"]
    assert unused.to_dict() == {"AKIATWOKEYS000000OLD": "fail", "AKIATWOKEYS000000NEW": "pass"}
    assert _status(checks, "1.12", "quiet") == ["unknown"]  # no_information is not "never"
    # Thresholds are parameters: a 500-day rotation limit passes the old key.
    relaxed = H.credential_checks(snapshot, rotation_days=500, accounts=[ACCOUNT])
    assert set(relaxed[relaxed["cis_id"].eq("1.14")]["status"]) == {"pass"}


def test_uncollected_account_is_unknown(snapshot):
    checks = H.credential_checks(snapshot, accounts=["777788889999"])
    assert len(checks) == len(H.CHECKS) and set(checks["status"]) == {"unknown"}
    assert set(H.posture_checks(snapshot, accounts=["777788889999"])["status"]) == {"unknown"}
    with pytest.raises(ValueError):
        H.credential_checks(snapshot, inactive_days=0)


def test_demo_snapshot_decides_root_hardware_mfa(tmp_path):
    """The demo writes virtual_mfa_devices.json: one device per user with MFA, none for root, so a
    root with MFA is hardware (1.6 pass) and prod's root without MFA fails 1.5 and 1.6."""
    from trailbook import demo

    manifest = demo.generate(tmp_path, events=1_000)
    snap = load_snapshot(tmp_path / "iam")
    (plant,) = [p for p in manifest["iam_plants"] if p["id"] == "root_without_mfa"]
    checks = H.credential_checks(snap)
    root = checks[checks["cis_id"].isin(["1.5", "1.6"])].set_index(["account_id", "cis_id"])["status"].to_dict()
    for account in snap.accounts:
        report = snap.credential_report(account)
        with_mfa = sorted(report.loc[report["mfa_active"].eq(True) & ~report["is_root"], "arn"])
        assert sorted(d["User"]["Arn"] for d in snap.virtual_mfa_devices(account)) == with_mfa
        expected = "fail" if account == plant["account_id"] else "pass"
        assert bool(report.loc[report["is_root"], "mfa_active"].item()) == (expected == "pass")
        assert (root[(account, "1.5")], root[(account, "1.6")]) == (expected, expected)
