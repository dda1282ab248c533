"""Credential hygiene (CIS 1.4–1.14), key ages and guardrail posture, on snapshots written per test
(credential report CSV written for these tests from the documented 22-column format)."""

from __future__ import annotations

import datetime as dt

import pytest

from trailbook.analyses import hygiene as H
from trailbook.iam.snapshot import AccountData, load_snapshot, write_snapshot

ACCOUNT = "444455556666"
COLLECTED = dt.datetime(2026, 10, 29, 6, 0, tzinfo=dt.timezone.utc)
HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
          "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
          "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
          "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
          "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
          "cert_2_active,cert_2_last_rotated")
A = f"arn:aws:iam::{ACCOUNT}"
ROWS = [
    # root: an active key, no MFA, password used yesterday
    f"<root_account>,{A}:root,2020-01-01T00:00:00+00:00,not_supported,2026-10-28T08:00:00+00:00,not_supported,not_supported,false,true,2021-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    # console user without MFA, key created with the user and never used
    f"nomfa,{A}:user/nomfa,2026-10-20T10:00:00+00:00,true,2026-10-27T10:00:00+00:00,2026-10-20T10:00:00+00:00,N/A,false,true,2026-10-20T10:05:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    # two active keys, one 400 days old and idle since April
    f"twokeys,{A}:user/twokeys,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2025-09-24T00:00:00+00:00,2026-04-12T00:00:00+00:00,us-east-1,s3,true,2026-10-01T00:00:00+00:00,2026-10-28T00:00:00+00:00,us-east-1,ec2,false,N/A,false,N/A",
    # console user with MFA whose password use is unknown to IAM
    f"quiet,{A}:user/quiet,2013-01-01T00:00:00+00:00,true,no_information,2013-01-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
]
KEYS = [
    {"UserName": "nomfa", "AccessKeyId": "AKIANOMFA00000000001", "Status": "Active", "CreateDate": "2026-10-20T10:05:00Z",
     "LastUsedDate": None, "LastUsedServiceName": "N/A", "LastUsedRegion": "N/A"},
    {"UserName": "twokeys", "AccessKeyId": "AKIATWOKEYS000000OLD", "Status": "Active", "CreateDate": "2025-09-24T00:00:00Z",
     "LastUsedDate": "2026-04-12T00:00:00Z", "LastUsedServiceName": "s3", "LastUsedRegion": "us-east-1"},
    {"UserName": "twokeys", "AccessKeyId": "AKIATWOKEYS000000NEW", "Status": "Active", "CreateDate": "2026-10-01T00:00:00Z",
     "LastUsedDate": "2026-10-28T00:00:00Z", "LastUsedServiceName": "ec2", "LastUsedRegion": "us-east-1"},
]
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
POSTURE = {
    "regions_in_use": ["us-east-1", "eu-west-1"],
    "trails": [{"Name": "main", "TrailARN": TRAIL, "IsMultiRegionTrail": True, "LogFileValidationEnabled": True, "HomeRegion": "us-east-1"}],
    "trail_status": {TRAIL: {"IsLogging": False}},
    "guardduty": {"us-east-1": {"DetectorIds": ["d1"], "detectors": {"d1": {"Status": "ENABLED"}}}},
    "s3_public_access_block": {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": True},
    "access_analyzers": [{"arn": "arn:aws:access-analyzer:us-east-1:444455556666:analyzer/a", "name": "a", "status": "ACTIVE"}],
    "access_analyzer_findings": [{"findingType": "UnusedIAMUserAccessKey", "resource": f"{A}:user/twokeys",
                                  "resourceType": "AWS::IAM::User", "status": "ACTIVE", "id": "f1"},
                                 {"findingType": "ExternalAccess", "resource": "arn:aws:s3:::shared",
                                  "resourceType": "AWS::S3::Bucket", "status": "ACTIVE", "id": "f2"}],
}


@pytest.fixture()
def snapshot(tmp_path):
    data = AccountData(credential_report_csv="\n".join([HEADER, *ROWS]) + "\n", access_keys=KEYS, posture=POSTURE,
                       authorization_details={"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []})
    empty = AccountData()  # nothing collected: every check must say unknown
    path = write_snapshot(tmp_path, {ACCOUNT: data, "777788889999": empty}, source="live", collected_at=COLLECTED,
                          errors=[{"account": "777788889999", "call": "GetCredentialReport", "message": "AccessDenied"}])
    return load_snapshot(path)


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


ROOT_WITH_MFA = ROWS[0].replace(",not_supported,false,true,", ",not_supported,true,true,")
ENABLED = "2025-02-03T04:05:06Z"
ROOT_VIRTUAL = {"SerialNumber": f"{A}:mfa/root-account-mfa-device", "EnableDate": ENABLED,
                "User": {"Arn": f"{A}:root", "UserId": ACCOUNT, "CreateDate": "2020-01-01T00:00:00Z"}}
USER_VIRTUAL = {"SerialNumber": f"{A}:mfa/quiet", "EnableDate": ENABLED,
                "User": {"Path": "/", "UserName": "quiet", "UserId": "AIDAQUIET000000000001", "Arn": f"{A}:user/quiet",
                         "CreateDate": "2013-01-01T00:00:00Z"}}
SPARE_VIRTUAL = {"SerialNumber": f"{A}:mfa/spare"}  # never assigned: no User


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


def test_root_virtual_mfa_is_a_finding(tmp_path):
    data = AccountData(credential_report_csv="\n".join([HEADER, ROOT_WITH_MFA]) + "\n",
                       virtual_mfa_devices=[ROOT_VIRTUAL])
    snap = load_snapshot(write_snapshot(tmp_path, {ACCOUNT: data}, source="live", collected_at=COLLECTED))
    found = H.findings(snap, H.credential_checks(snap))
    hit = found[found["detection"].eq("cis_1_6_root_hardware_mfa")]
    assert hit["principal_arn"].tolist() == [f"{A}:root"] and hit["severity"].tolist() == ["medium"]


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


def test_key_inventory_and_buckets(snapshot):
    keys = H.key_inventory(snapshot, inactive_days=45, accounts=[ACCOUNT]).set_index("access_key_id")
    assert keys.loc["AKIATWOKEYS000000OLD", "age_bucket"] == "> 1 year"
    assert keys.loc["AKIATWOKEYS000000NEW", "age_bucket"] == "1-30 days"
    assert keys.loc["AKIANOMFA00000000001", "age_bucket"] == "1-30 days"
    assert keys.loc["AKIATWOKEYS000000NEW", "user_left"] == False  # noqa: E712
    buckets = H.key_age_buckets(keys.reset_index())
    assert buckets.set_index("age_bucket")["keys"].to_dict() == {
        "< 1 day": 0, "1-30 days": 2, "30-90 days": 0, "90-365 days": 0, "> 1 year": 1}
    assert [H.age_bucket(d) for d in (0.5, 1, 29.9, 30, 90, 365, 366)] == [
        "< 1 day", "1-30 days", "1-30 days", "30-90 days", "90-365 days", "90-365 days", "> 1 year"]


def test_departed_user_keys(tmp_path):
    rows = [f"gone,{A}:user/gone,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2020-01-01T00:00:00+00:00,2021-05-01T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"]
    keys = [{"UserName": "gone", "AccessKeyId": "AKIAGONE000000000001", "Status": "Active", "CreateDate": "2020-01-01T00:00:00Z",
             "LastUsedDate": "2021-05-01T00:00:00Z", "LastUsedServiceName": "s3", "LastUsedRegion": "us-east-1"}]
    snap = load_snapshot(write_snapshot(tmp_path, {ACCOUNT: AccountData(credential_report_csv="\n".join([HEADER, *rows]),
                                                                         access_keys=keys)}, source="live", collected_at=COLLECTED))
    departed = H.departed_user_keys(H.key_inventory(snap))
    assert departed["access_key_id"].tolist() == ["AKIAGONE000000000001"]


def test_posture_checks(snapshot):
    posture = H.posture_checks(snapshot, accounts=[ACCOUNT]).set_index("check")
    assert posture.loc["cloudtrail_multi_region_logging", "status"] == "fail"  # not logging
    assert posture.loc["guardduty_all_regions", "status"] == "unknown"  # eu-west-1 not read
    assert posture.loc["s3_account_block_public_access", "status"] == "fail"
    assert posture.loc["s3_account_block_public_access", "detail"] == "off: BlockPublicPolicy"
    assert posture.loc["access_analyzer_exists", "status"] == "pass"


def test_findings_and_access_analyzer_cross_check(snapshot):
    checks = H.credential_checks(snapshot, accounts=[ACCOUNT])
    posture = H.posture_checks(snapshot, accounts=[ACCOUNT])
    found = H.findings(snapshot, checks, posture)
    assert found["severity"].iloc[0] == "critical"
    names = set(found["detection"])
    assert {"cis_1_4_root_access_keys", "cis_1_5_root_mfa", "cis_1_10_console_user_without_mfa",
            "cis_1_13_two_active_keys", "cis_1_14_key_rotation", "posture_cloudtrail",
            "posture_s3_block_public_access"} <= names
    assert set(found["first_seen"]) == {"2026-10-29T06:00:00Z"} and set(found["event_count"]) == {0}
    two = found[found["detection"].eq("cis_1_13_two_active_keys")].iloc[0]
    assert two["principal_arn"] == f"{A}:user/twokeys" and two["mitre"] == ["T1098.001"]
    analyzer = H.access_analyzer_findings(snapshot)
    cross = H.cross_check(analyzer, found).set_index("arn")
    assert cross.loc[f"{A}:user/twokeys", "seen_by"] == "both"
    assert cross.loc["arn:aws:s3:::shared", "seen_by"] == "access_analyzer"
    assert cross.loc[f"{A}:user/nomfa", "seen_by"] == "trailbook"


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
