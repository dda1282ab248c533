"""The suggested least-privilege policy and its diff against today's policy."""

from __future__ import annotations

import pytest

from permissions_snapshot import ACCOUNT, USER, used_actions, write_test_snapshot
from trailbook.analyses import permissions as P


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_suggested_policy_and_diff(snapshot):
    used = used_actions([
        [ACCOUNT, USER, "IAMUser", "s3.amazonaws.com", "ListBuckets", 3, "t", "t", []],
        [ACCOUNT, USER, "IAMUser", "s3.amazonaws.com", "GetObject", 2, "t", "t", ["arn:aws:s3:::reports/a.csv"]],
        [ACCOUNT, USER, "IAMUser", "sts.amazonaws.com", "GetCallerIdentity", 1, "t", "t", []],
    ])
    policy = P.suggested_policy(used, USER)
    assert policy["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::reports/a.csv"},
        {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": "*"},
    ]
    user = next(p for p in P.principals(snapshot) if p.arn == USER)
    diff = P.policy_diff(P.current_policy(user), policy, principal_arn=USER)
    assert diff.startswith(f"--- current {USER}\n+++ suggested {USER}\n")
    assert '-        "iam:PassRole",' in diff and '+      "Resource": "arn:aws:s3:::reports/a.csv"' in diff
