"""Unused permissions: granted (policies, wildcards, groups, NotAction, Deny), Access Advisor status,
used vs granted from CloudTrail, inactivity, the suggested policy and its diff, and findings.

The snapshot is written per test with ``write_snapshot`` from small documents in the botocore shapes;
the real-CloudTrail test replays Stratus Red Team's iam-create-admin-user and iam-create-backdoor-role
detonations (tests/fixtures/permissions/stratus_iam_grants.json), whose policies are visible only in
the trail.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from conftest import FIXTURES, local_session
from trailbook.analyses import permissions as P
from trailbook.iam.snapshot import AccountData, load_snapshot, write_snapshot

ACCOUNT = "111122223333"
COLLECTED = dt.datetime(2026, 10, 29, 6, 0, tzinfo=dt.timezone.utc)
USER = f"arn:aws:iam::{ACCOUNT}:user/dana"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/etl"
IDLE = f"arn:aws:iam::{ACCOUNT}:role/old-job"
REPORT = """user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,no_information,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
dana,arn:aws:iam::111122223333:user/dana,2024-01-01T00:00:00+00:00,true,2026-10-28T09:00:00+00:00,2024-01-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
"""


def _policy(statements):
    return {"Version": "2012-10-17", "Statement": statements}


def _details():
    return {
        "UserDetailList": [{
            "UserName": "dana", "Arn": USER, "CreateDate": "2024-01-01T00:00:00Z", "GroupList": ["readers"],
            "UserPolicyList": [{"PolicyName": "own", "PolicyDocument": _policy(
                [{"Effect": "Allow", "Action": ["iam:PassRole", "s3:ListAllMyBuckets"], "Resource": "*"}])}],
            "AttachedManagedPolicies": [],
        }],
        "GroupDetailList": [{
            "GroupName": "readers", "Arn": f"arn:aws:iam::{ACCOUNT}:group/readers", "GroupPolicyList": [],
            "AttachedManagedPolicies": [{"PolicyName": "s3-read", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/s3-read"}],
        }],
        "RoleDetailList": [
            {"RoleName": "etl", "Arn": ROLE, "Path": "/", "CreateDate": "2023-01-01T00:00:00Z",
             "RoleLastUsed": {"LastUsedDate": "2026-10-28T10:00:00Z", "Region": "us-east-1"},
             "RolePolicyList": [{"PolicyName": "etl", "PolicyDocument": json.dumps(_policy([
                 {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
                 {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"},
                 {"Effect": "Deny", "Action": "dynamodb:Scan", "Resource": "arn:aws:dynamodb:*:*:table/secret"}]))}],
             "AttachedManagedPolicies": []},
            {"RoleName": "old-job", "Arn": IDLE, "Path": "/", "CreateDate": "2023-01-01T00:00:00Z", "RoleLastUsed": {},
             "RolePolicyList": [], "AttachedManagedPolicies": [
                 {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]},
            {"RoleName": "AWSServiceRoleForSupport", "Arn": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport",
             "Path": "/aws-service-role/support.amazonaws.com/", "RolePolicyList": [], "AttachedManagedPolicies": []},
        ],
        "Policies": [{"PolicyName": "s3-read", "Arn": f"arn:aws:iam::{ACCOUNT}:policy/s3-read", "PolicyVersionList": [
            {"VersionId": "v1", "IsDefaultVersion": False, "Document": _policy([{"Effect": "Allow", "Action": "*", "Resource": "*"}])},
            {"VersionId": "v2", "IsDefaultVersion": True, "Document": _policy(
                [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}])}]}],
    }


def _advisor():
    def job(services):
        return {"JobId": "j", "JobType": "ACTION_LEVEL", "JobStatus": "COMPLETED", "ServicesLastAccessed": services}
    return {
        USER: job([
            {"ServiceName": "Amazon S3", "ServiceNamespace": "s3", "LastAuthenticated": "2026-10-27T00:00:00Z",
             "TrackedActionsLastAccessed": [
                 {"ActionName": "ListAllMyBuckets", "LastAccessedTime": "2026-10-27T00:00:00Z", "LastAccessedRegion": "us-east-1"},
                 {"ActionName": "GetObject"}]},
            {"ServiceName": "AWS Identity and Access Management", "ServiceNamespace": "iam",
             "LastAuthenticated": "2026-03-01T00:00:00Z"}]),
        ROLE: job([{"ServiceName": "Amazon DynamoDB", "ServiceNamespace": "dynamodb", "LastAuthenticated": "2026-10-28T10:00:00Z"}]),
        IDLE: job([{"ServiceName": "Amazon EC2", "ServiceNamespace": "ec2"}]),
    }


@pytest.fixture()
def snapshot(tmp_path):
    data = AccountData(credential_report_csv=REPORT, authorization_details=_details(), service_last_accessed=_advisor(),
                       access_keys=[], posture={})
    return load_snapshot(write_snapshot(tmp_path / "snaps", {ACCOUNT: data}, source="live", collected_at=COLLECTED))


def _used(rows):
    frame = pd.DataFrame(rows, columns=["account_id", "principal_arn", "identity_type", "eventsource", "eventname",
                                        "calls", "first_seen", "last_seen", "resource_arns"])
    return P.map_used(frame)


def test_principals_collect_user_group_and_role_policies(snapshot):
    found = {p.arn: p for p in P.principals(snapshot)}
    assert set(found) == {USER, ROLE, IDLE}  # the service-linked role is AWS's, left out
    user = found[USER]
    assert [(d.name, d.origin) for d in user.policies] == [("own", "inline"), ("s3-read", "group managed")]
    # The default version of a customer-managed policy is the one that applies.
    assert user.policies[1].document["Statement"][0]["Action"] == ["s3:Get*", "s3:List*"]
    assert found[IDLE].policies[0].document["Statement"][0]["Action"] == "*"  # known AWS-managed document
    assert found[ROLE].role_last_used == pd.Timestamp("2026-10-28T10:00:00Z")


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
    principal = P.Principal(ACCOUNT, USER, "user", "dana", None, [P.PolicyDocument("power", "inline", _policy(
        [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]))])
    grant = P.grant_of(principal)
    assert "ec2:RunInstances" in grant.actions and "iam:PassRole" not in grant.actions and grant.not_action_statements == 1
    broken = P.Principal(ACCOUNT, USER, "user", "dana", None, [P.PolicyDocument("x", "inline", _policy([{"Effect": "Maybe", "Action": "s3:*"}]))])
    with pytest.raises(P.PermissionsError, match="Effect"):
        P.grant_of(broken)


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


def test_used_vs_granted_risk_and_findings(snapshot):
    used = _used([
        [ACCOUNT, USER, "IAMUser", "s3.amazonaws.com", "ListBuckets", 3, "2026-10-27T00:00:00Z", "2026-10-27T01:00:00Z", []],
        [ACCOUNT, USER, "IAMUser", "s3.amazonaws.com", "GetObject", 2, "2026-10-27T00:00:00Z", "2026-10-27T01:00:00Z",
         ["arn:aws:s3:::reports/a.csv"]],
        [ACCOUNT, USER, "IAMUser", "sts.amazonaws.com", "GetCallerIdentity", 1, "2026-10-27T00:00:00Z", "2026-10-27T00:00:00Z", []],
        [ACCOUNT, USER, "IAMUser", "ec2.amazonaws.com", "DescribeInstances", 1, "2026-10-27T00:00:00Z", "2026-10-27T00:00:00Z", []],
    ])
    assert used.loc[used["eventname"].eq("ListBuckets"), "iam_action"].item() == "s3:ListAllMyBuckets"
    assert used.loc[used["eventname"].eq("GetCallerIdentity"), "mapping"].item() == "no_permission"
    services = P.service_last_accessed(snapshot)
    comparison = P.compare(P.principals(snapshot), used, services=services).set_index("principal_arn")
    dana = comparison.loc[USER]
    assert dana["used_actions"] == 2 and dana["used_not_granted"] == ["ec2:DescribeInstances"]
    assert dana["unused_privilege_escalation"] == ["iam:PassRole"] and dana["risk"] == "privilege_escalation"
    assert dana["unused_services"] == ["iam"] and dana["severity"] == "high"
    assert comparison.loc[IDLE, "granted_actions"] > 10_000 and comparison.loc[IDLE, "used_actions"] == 0
    risky = P.unused_risky_actions(comparison.reset_index())
    assert ("iam:PassRole", "privilege_escalation") in set(zip(risky[risky["principal_arn"].eq(USER)]["action"], risky["risk"]))


def test_suggested_policy_and_diff(snapshot):
    used = _used([
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


def test_inactive_principals(snapshot):
    inactive = P.inactive_principals(P.principals(snapshot), snapshot, None, inactive_days=90)
    assert inactive["principal_arn"].tolist() == [IDLE] and inactive["evidence"].item() == "never used"
    # CloudTrail activity in the window makes it active.
    activity = pd.DataFrame({"principal_arn": [IDLE], "last_seen": ["2026-10-28T00:00:00Z"]})
    assert P.inactive_principals(P.principals(snapshot), snapshot, activity, inactive_days=90).empty


def test_snapshot_only_report(snapshot):
    report = P.analyse(None, snapshot, unused_days=90, inactive_days=90)
    findings = report.findings.set_index(["detection", "principal_arn"])
    assert findings.loc[(P.DETECTION_OVER_PRIVILEGED, IDLE), "severity"] == "high"
    assert findings.loc[(P.DETECTION_INACTIVE, IDLE), "severity"] == "medium"  # inactive and able to escalate
    assert findings.loc[(P.DETECTION_OVER_PRIVILEGED, IDLE), "first_seen"] == "2026-10-29T06:00:00Z"
    assert findings.loc[(P.DETECTION_OVER_PRIVILEGED, IDLE), "event_count"] == 0
    assert findings.loc[(P.DETECTION_OVER_PRIVILEGED, IDLE), "mitre"] == ["T1078.004"]
    assert "Access Advisor counts every authenticated attempt" in P.show_caveats(report).text


def test_open_snapshot_paths(snapshot, tmp_path):
    assert P.open_snapshot(snapshot.path).path == snapshot.path
    assert P.open_snapshot(snapshot.path.parent).path == snapshot.path  # newest iam-* inside
    with pytest.raises(Exception, match="not an IAM snapshot"):
        P.open_snapshot(tmp_path / "nothing")
    with pytest.raises(P.PermissionsError, match="empty"):
        P.open_snapshot("  ")


def test_auto_snapshot_is_the_sources_own_only(snapshot, tmp_path):
    """A report on real logs must never fall back to another data set's (the demo's) IAM data."""
    import types

    from trailbook.sources import Prepared

    with pytest.raises(P.PermissionsError, match="needs an IAM snapshot"):
        P.open_snapshot("auto", session=None)
    with_own = types.SimpleNamespace(prepared=Prepared(tmp_path / "store", "x", None, snapshot.path))
    assert P.open_snapshot("auto", session=with_own).path == snapshot.path
    without = types.SimpleNamespace(prepared=Prepared(tmp_path / "store", "/var/log/cloudtrail", None, None))
    with pytest.raises(P.PermissionsError, match="needs an IAM snapshot"):
        P.open_snapshot("auto", session=without)


def test_used_vs_granted_from_real_trail(tmp_path):
    """Stratus: CreateUser + AttachUserPolicy(AdministratorAccess), CreateRole + AttachRolePolicy(...)."""
    events = json.loads((FIXTURES / "permissions" / "stratus_iam_grants.json").read_text())
    session = local_session(events, tmp_path, start="2024-08-01T13:00:00Z", end="2024-08-01T14:00:00Z")
    rebuilt = {p.arn: p for p in P.trail_grants(session.run("policies_in_trail"))}
    user_arn = "arn:aws:iam::229654561268:user/malicious-iam-user"
    role_arn = "arn:aws:iam::609418236337:role/stratus-red-team-malicious-iam-role"
    assert set(rebuilt) == {user_arn, role_arn}
    assert [(d.name, d.origin, d.arn) for d in rebuilt[role_arn].policies] == [
        ("AdministratorAccess", "trail managed", "arn:aws:iam::aws:policy/AdministratorAccess")]
    assert rebuilt[user_arn].created == pd.Timestamp("2024-08-01T13:33:28Z")

    report = P.analyse(session, None, unused_days=90, inactive_days=90)
    comparison = report.comparison.set_index("principal_arn")
    assert comparison.loc[role_arn, "granted_actions"] == len(P.A.load_action_list())
    assert comparison.loc[role_arn, "used_actions"] == 0 and comparison.loc[role_arn, "risk"] == "privilege_escalation"
    # The actor's own calls are in the trail (used) but its policies are not: it is not a principal here.
    used = report.used.set_index("eventname")
    assert used.loc["AttachRolePolicy", "iam_action"] == "iam:AttachRolePolicy"
    assert used.loc["CreateUser", "principal_arn"] == "arn:aws:iam::229654561268:user/christophe"
    flagged = report.findings[report.findings["detection"].eq(P.DETECTION_OVER_PRIVILEGED)]
    assert set(flagged["principal_arn"]) == {user_arn, role_arn} and set(flagged["severity"]) == {"high"}
    assert P.suggested_policy(report.used, role_arn)["Statement"] == []


def test_trail_grants_replays_inline_policies():
    rows = pd.DataFrame([
        {"eventtime": "2026-10-01T00:00:00Z", "eventname": "CreateRole", "account_id": ACCOUNT, "role_name": "r",
         "user_name": None, "group_name": None, "policy_name": None, "policy_arn": None, "policy_document": None,
         "created_arn": f"arn:aws:iam::{ACCOUNT}:role/r", "set_as_default": None},
        {"eventtime": "2026-10-01T00:01:00Z", "eventname": "PutRolePolicy", "account_id": ACCOUNT, "role_name": "r",
         "user_name": None, "group_name": None, "policy_name": "p", "created_arn": None, "set_as_default": None,
         "policy_arn": None, "policy_document": json.dumps(_policy([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]))},
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
