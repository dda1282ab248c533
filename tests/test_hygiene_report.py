"""Failed credential and posture checks as findings in the shared columns."""

from __future__ import annotations

import pytest

from hygiene_snapshot import ACCOUNT, COLLECTED, HEADER, ROOT_VIRTUAL, ROOT_WITH_MFA, A, write_test_snapshot
from trailbook.analyses import hygiene as H
from trailbook.iam.snapshot import AccountData, load_snapshot, write_snapshot


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_root_virtual_mfa_is_a_finding(tmp_path):
    data = AccountData(credential_report_csv="\n".join([HEADER, ROOT_WITH_MFA]) + "\n",
                       virtual_mfa_devices=[ROOT_VIRTUAL])
    snap = load_snapshot(write_snapshot(tmp_path, {ACCOUNT: data}, source="live", collected_at=COLLECTED))
    found = H.findings(snap, H.credential_checks(snap))
    hit = found[found["detection"].eq("cis_1_6_root_hardware_mfa")]
    assert hit["principal_arn"].tolist() == [f"{A}:root"] and hit["severity"].tolist() == ["medium"]


def test_findings(snapshot):
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
