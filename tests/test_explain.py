"""Every check explains itself on the index: title, meaning, remediation with AWS's page, MITRE, CIS item."""

from __future__ import annotations

import pytest

from trailbook.analyses.explain import CIS_BENCHMARK, python_checks
from trailbook.catalog import load_catalog
from trailbook.reports import render_incidents as R

# Written out by hand: every detection name the Python-side checks can raise.
PYTHON_DETECTIONS = {
    "cis_1_4_root_access_keys": "1.4", "cis_1_5_root_mfa": "1.5", "cis_1_6_root_hardware_mfa": "1.6",
    "cis_1_7_root_used": "1.7", "cis_1_10_console_user_without_mfa": "1.10", "cis_1_11_key_never_used": "1.11",
    "cis_1_12_unused_credentials": "1.12", "cis_1_13_two_active_keys": "1.13", "cis_1_14_key_rotation": "1.14",
    "posture_cloudtrail": None, "posture_guardduty": None, "posture_s3_block_public_access": None,
    "posture_access_analyzer": None,
    "unused_permissions_over_privileged": None, "unused_permissions_inactive_principal": None,
    "console_login_outside_allowed_countries": None,
}


def test_every_python_side_check_is_explained():
    checks = python_checks()
    assert set(checks) == set(PYTHON_DETECTIONS)
    for name, check in checks.items():
        assert len(check.title) > 10 and len(check.description) >= 40 and len(check.remediation) >= 30, name
        assert check.remediation_docs.startswith("https://docs.aws.amazon.com/"), name
        assert check.mitre, name
        item = PYTHON_DETECTIONS[name]
        assert check.cis == (f"CIS Amazon Web Services Foundations Benchmark v3.0.0 {item}" if item else ""), name
    assert CIS_BENCHMARK.endswith("v3.0.0")


@pytest.fixture(scope="module")
def info():
    return R.check_info(load_catalog())


def test_the_index_explains_a_cis_check(info):
    finding = {"detection": "cis_1_5_root_mfa", "severity": "critical", "account_id": "111122223333",
               "first_seen": "2026-10-28T00:00:00Z", "last_seen": "2026-10-28T00:00:00Z", "event_ids": []}
    page = R.findings_by_check([finding], info, [])
    assert "<h3>Root user has no MFA</h3>" in page
    assert "CIS Amazon Web Services Foundations Benchmark v3.0.0 1.5" in page
    assert "<b>What to do:</b> Enable MFA for the root user" in page
    assert "href='https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-mfa-for-root.html'" in page


def test_every_detection_a_run_can_raise_has_a_title_and_a_remedy(info):
    catalog = load_catalog()
    raised = {name for name, q in catalog.items() if q.is_detection} | set(PYTHON_DETECTIONS) \
        | {"credential_material_in_cloudtrail"}
    for name in sorted(raised):
        entry = info.get(name) or {}
        assert entry.get("title") and entry.get("description"), name
        assert len(entry.get("remediation") or "") >= 30, name
        assert str(entry.get("remediation_docs")).startswith("https://docs.aws.amazon.com/"), name
