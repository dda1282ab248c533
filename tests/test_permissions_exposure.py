"""analyses.permissions.exposure: the snapshot's accounts are trusted beside those seen in the window."""

from __future__ import annotations

import json
from types import SimpleNamespace

from conftest import QUERY_FIXTURES, local_session
from trailbook.analyses.permissions import exposure

FIXTURES = QUERY_FIXTURES / "resource_policy_external_access"
PARTNER = "999988887777"  # the KMS grant, the SNS permission and the Lambda SourceAccount of the match fixture


def test_accounts_in_the_snapshot_are_not_outsiders(tmp_path):
    records = json.loads((FIXTURES / "match.json").read_text())
    session = local_session(records, tmp_path, start="2024-07-31T00:00:00Z", end="2024-08-01T00:00:00Z")
    alone = exposure(session)
    assert set(alone["detection"]) == {"resource_policy_external_access"}
    assert alone["grants"].str.contains(PARTNER).sum() == 3
    with_snapshot = exposure(session, SimpleNamespace(accounts=(PARTNER,)))
    assert len(with_snapshot) == len(alone) - 3
    assert not with_snapshot["grants"].str.contains(PARTNER).any()
