"""Guardrail posture: CloudTrail logging, GuardDuty in every region in use, S3 Block Public Access, an
active Access Analyzer."""

from __future__ import annotations

import pytest

from hygiene_snapshot import ACCOUNT, write_test_snapshot
from trailbook.analyses import hygiene as H


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_posture_checks(snapshot):
    posture = H.posture_checks(snapshot, accounts=[ACCOUNT]).set_index("check")
    assert posture.loc["cloudtrail_multi_region_logging", "status"] == "fail"  # not logging
    assert posture.loc["guardduty_all_regions", "status"] == "unknown"  # eu-west-1 not read
    assert posture.loc["s3_account_block_public_access", "status"] == "fail"
    assert posture.loc["s3_account_block_public_access", "detail"] == "off: BlockPublicPolicy"
    assert posture.loc["access_analyzer_exists", "status"] == "pass"
