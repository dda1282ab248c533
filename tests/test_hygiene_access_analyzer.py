"""Access Analyzer's findings from the snapshot, beside trailbook's own: seen by both, by one or the other."""

from __future__ import annotations

import pytest

from hygiene_snapshot import ACCOUNT, A, write_test_snapshot
from trailbook.analyses import hygiene as H


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_access_analyzer_cross_check(snapshot):
    checks = H.credential_checks(snapshot, accounts=[ACCOUNT])
    posture = H.posture_checks(snapshot, accounts=[ACCOUNT])
    found = H.findings(snapshot, checks, posture)
    analyzer = H.access_analyzer_findings(snapshot)
    cross = H.cross_check(analyzer, found).set_index("arn")
    assert cross.loc[f"{A}:user/twokeys", "seen_by"] == "both"
    assert cross.loc["arn:aws:s3:::shared", "seen_by"] == "access_analyzer"
    assert cross.loc[f"{A}:user/nomfa", "seen_by"] == "trailbook"
