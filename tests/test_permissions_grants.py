"""What policies grant: wildcards, groups, NotAction, unconditional and resource-specific Deny, bad
policies."""

from __future__ import annotations

import pytest

from permissions_snapshot import ACCOUNT, ROLE, USER, policy_document, write_test_snapshot
from trailbook.analyses import permissions as P


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_grant_expands_wildcards_and_applies_unconditional_deny(snapshot):
    found = {p.arn: p for p in P.principals(snapshot)}
    user = P.grant_of(found[USER])
    assert {"iam:PassRole", "s3:ListAllMyBuckets", "s3:GetObject", "s3:ListBucket"} <= user.actions
    assert not any(a.startswith("ec2:") for a in user.actions)
    role = P.grant_of(found[ROLE])
    assert "dynamodb:PutItem" in role.actions and "dynamodb:DeleteTable" not in role.actions
    assert "dynamodb:Scan" in role.actions  # resource-specific Deny is reported, not applied
    assert role.deny_notes == ["etl: Deny with conditions or specific resources not applied"]


def test_not_action_and_bad_policies():
    principal = P.Principal(ACCOUNT, USER, "user", "dana", None, [P.PolicyDocument("power", "inline", policy_document(
        [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]))])
    grant = P.grant_of(principal)
    assert "ec2:RunInstances" in grant.actions and "iam:PassRole" not in grant.actions and grant.not_action_statements == 1
    broken = P.Principal(ACCOUNT, USER, "user", "dana", None, [P.PolicyDocument("x", "inline", policy_document([{"Effect": "Maybe", "Action": "s3:*"}]))])
    with pytest.raises(P.PermissionsError, match="Effect"):
        P.grant_of(broken)
