"""Access Advisor status per service and tracked action: used, not used in N days, never used."""

from __future__ import annotations

import pytest

from permissions_snapshot import IDLE, ROLE, USER, write_test_snapshot
from trailbook.analyses import permissions as P


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_access_advisor_status(snapshot):
    services = P.service_last_accessed(snapshot, unused_days=90)
    status = {(r.principal_arn, r.service_namespace): r.status for r in services.itertuples()}
    assert status == {(USER, "s3"): "used", (USER, "iam"): "not_used", (ROLE, "dynamodb"): "used", (IDLE, "ec2"): "never_used"}
    assert services.loc[services["service_namespace"].eq("iam"), "days_since"].item() == pytest.approx(242.2, abs=0.1)
    # A longer period turns the stale service into a used one.
    assert "not_used" not in set(P.service_last_accessed(snapshot, unused_days=365)["status"])
    actions = P.action_last_accessed(snapshot)
    assert dict(zip(actions["action"], actions["status"])) == {"s3:ListAllMyBuckets": "used", "s3:GetObject": "never_used"}
    with pytest.raises(P.PermissionsError):
        P.service_last_accessed(snapshot, unused_days=0)
