"""Principals and the identity policies they hold, read from the snapshot's authorization details."""

from __future__ import annotations

import pandas as pd
import pytest

from permissions_snapshot import IDLE, ROLE, USER, write_test_snapshot
from trailbook.analyses import permissions as P


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_principals_collect_user_group_and_role_policies(snapshot):
    found = {p.arn: p for p in P.principals(snapshot)}
    assert set(found) == {USER, ROLE, IDLE}  # the service-linked role is AWS's, left out
    user = found[USER]
    assert [(d.name, d.origin) for d in user.policies] == [("own", "inline"), ("s3-read", "group managed")]
    # The default version of a customer-managed policy is the one that applies.
    assert user.policies[1].document["Statement"][0]["Action"] == ["s3:Get*", "s3:List*"]
    assert found[IDLE].policies[0].document["Statement"][0]["Action"] == "*"  # known AWS-managed document
    assert found[ROLE].role_last_used == pd.Timestamp("2026-10-28T10:00:00Z")
