"""analyses.permissions.exposure: the snapshot's accounts and organization are trusted beside those seen in the window."""

from __future__ import annotations

import datetime as dt
import json

from conftest import QUERY_FIXTURES, local_session
from trailbook.analyses.permissions import exposure
from trailbook.iam.snapshot import Snapshot

FIXTURES = QUERY_FIXTURES / "resource_policy_external_access"
OWN = "111122223333"
FOREIGN_ORG = "o-foreign56789"  # named in one PrincipalOrgID condition of the match fixture
PARTNER = "999988887777"  # the KMS grant, the SNS permission and the Lambda SourceAccount of the match fixture


def test_accounts_in_the_snapshot_are_not_outsiders(tmp_path):
    records = json.loads((FIXTURES / "match.json").read_text())
    session = local_session(records, tmp_path, start="2024-07-31T00:00:00Z", end="2024-08-01T00:00:00Z")
    alone = exposure(session)
    assert set(alone["detection"]) == {"resource_policy_external_access"}
    assert alone["grants"].str.contains(PARTNER).sum() == 3
    with_snapshot = exposure(session, _snapshot(tmp_path, accounts=(PARTNER,)))
    assert len(with_snapshot) == len(alone) - 3
    assert not with_snapshot["grants"].str.contains(PARTNER).any()


def _snapshot(tmp_path, accounts=(OWN,), organization=None) -> Snapshot:
    return Snapshot(path=tmp_path, collected_at=dt.datetime(2024, 8, 1, tzinfo=dt.timezone.utc), accounts=accounts,
                    source="live", organization=organization)


def _session(tmp_path):
    records = json.loads((FIXTURES / "match.json").read_text())
    return local_session(records, tmp_path / "store", start="2024-07-31T00:00:00Z", end="2024-08-01T00:00:00Z")


def test_member_accounts_of_the_snapshots_organization_are_not_outsiders(tmp_path):
    session = _session(tmp_path)
    alone = exposure(session, _snapshot(tmp_path))
    assert alone["grants"].str.contains(PARTNER).sum() == 3
    member = exposure(session, _snapshot(tmp_path, organization={"id": "o-abcdefghij", "accounts": [OWN, PARTNER]}))
    assert len(member) == len(alone) - 3
    assert not member["grants"].str.contains(PARTNER).any()


def test_the_snapshots_organization_id_is_trusted_in_conditions(tmp_path):
    session = _session(tmp_path)
    alone = exposure(session, _snapshot(tmp_path))
    assert alone["grants"].str.contains(FOREIGN_ORG).sum() == 1
    own_org = exposure(session, _snapshot(tmp_path, organization={"id": FOREIGN_ORG, "accounts": []}))
    assert len(own_org) == len(alone) - 1
    assert not own_org["grants"].str.contains(FOREIGN_ORG).any()
