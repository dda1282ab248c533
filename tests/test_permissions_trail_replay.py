"""Principals and grants rebuilt from the trail's IAM events (policies_in_trail): hand-made rows, and
real CloudTrail from Stratus Red Team's iam-create-admin-user and iam-create-backdoor-role detonations
(tests/fixtures/permissions/stratus_iam_grants.json), whose policies are visible only in the trail."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from permissions_snapshot import ACCOUNT, STRATUS_ROLE, STRATUS_USER, policy_document, stratus_session
from trailbook.analyses import permissions as P


def test_trail_grants_from_real_trail(tmp_path):
    """Stratus: CreateUser + AttachUserPolicy(AdministratorAccess), CreateRole + AttachRolePolicy(...)."""
    session = stratus_session(tmp_path)
    rebuilt = {p.arn: p for p in P.trail_grants(session.run("policies_in_trail"))}
    user_arn, role_arn = STRATUS_USER, STRATUS_ROLE
    assert set(rebuilt) == {user_arn, role_arn}
    assert [(d.name, d.origin, d.arn) for d in rebuilt[role_arn].policies] == [
        ("AdministratorAccess", "trail managed", "arn:aws:iam::aws:policy/AdministratorAccess")]
    assert rebuilt[user_arn].created == pd.Timestamp("2024-08-01T13:33:28Z")


def test_trail_grants_replays_inline_policies():
    rows = pd.DataFrame([
        {"eventtime": "2026-10-01T00:00:00Z", "eventname": "CreateRole", "account_id": ACCOUNT, "role_name": "r",
         "user_name": None, "group_name": None, "policy_name": None, "policy_arn": None, "policy_document": None,
         "created_arn": f"arn:aws:iam::{ACCOUNT}:role/r", "set_as_default": None},
        {"eventtime": "2026-10-01T00:01:00Z", "eventname": "PutRolePolicy", "account_id": ACCOUNT, "role_name": "r",
         "user_name": None, "group_name": None, "policy_name": "p", "created_arn": None, "set_as_default": None,
         "policy_arn": None, "policy_document": json.dumps(policy_document([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]))},
        {"eventtime": "2026-10-01T00:02:00Z", "eventname": "PutRolePolicy", "account_id": ACCOUNT, "role_name": "r",
         "user_name": None, "group_name": None, "policy_name": "q", "created_arn": None, "set_as_default": None,
         "policy_arn": None, "policy_document": "%7B%22Statement%22%3A%5B%5D%7D"},
        {"eventtime": "2026-10-01T00:03:00Z", "eventname": "DeleteRolePolicy", "account_id": ACCOUNT, "role_name": "r",
         "user_name": None, "group_name": None, "policy_name": "q", "created_arn": None, "set_as_default": None,
         "policy_arn": None, "policy_document": None},
    ])
    (role,) = P.trail_grants(rows)
    assert role.arn == f"arn:aws:iam::{ACCOUNT}:role/r" and [d.name for d in role.policies] == ["p"]
    assert P.grant_of(role).actions == {"s3:GetObject"}
    with pytest.raises(P.PermissionsError, match="missing columns"):
        P.trail_grants(rows.drop(columns=["policy_document"]))
