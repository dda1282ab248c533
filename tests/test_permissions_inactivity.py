"""Inactive principals: no activity in N days by RoleLastUsed, the credential report, or CloudTrail."""

from __future__ import annotations

import pandas as pd
import pytest

from permissions_snapshot import IDLE, write_test_snapshot
from trailbook.analyses import permissions as P


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_inactive_principals(snapshot):
    inactive = P.inactive_principals(P.principals(snapshot), snapshot, None, inactive_days=90)
    assert inactive["principal_arn"].tolist() == [IDLE] and inactive["evidence"].item() == "never used"
    # CloudTrail activity in the window makes it active.
    activity = pd.DataFrame({"principal_arn": [IDLE], "last_seen": ["2026-10-28T00:00:00Z"]})
    assert P.inactive_principals(P.principals(snapshot), snapshot, activity, inactive_days=90).empty
