"""The small IAM snapshot and CloudTrail rows the unused-permissions tests share.

The snapshot is written per test with ``write_snapshot`` from small documents in the botocore shapes:
dana (a user with an inline policy and a group's managed policy), etl (a role with Deny statements),
old-job (an idle role with AdministratorAccess) and a service-linked role.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from conftest import FIXTURES, local_session
from trailbook.analyses import permissions as P
from trailbook.iam.snapshot import AccountData, Snapshot, load_snapshot, write_snapshot

ACCOUNT = "111122223333"
COLLECTED = dt.datetime(2026, 10, 29, 6, 0, tzinfo=dt.timezone.utc)
USER = f"arn:aws:iam::{ACCOUNT}:user/dana"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/etl"
IDLE = f"arn:aws:iam::{ACCOUNT}:role/old-job"
REPORT = """user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,no_information,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
dana,arn:aws:iam::111122223333:user/dana,2024-01-01T00:00:00+00:00,true,2026-10-28T09:00:00+00:00,2024-01-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
"""
# Stratus Red Team's iam-create-admin-user and iam-create-backdoor-role detonations: their policies
# are visible only in the trail.
STRATUS_GRANTS = FIXTURES / "permissions" / "stratus_iam_grants.json"
STRATUS_USER = "arn:aws:iam::229654561268:user/malicious-iam-user"
STRATUS_ROLE = "arn:aws:iam::609418236337:role/stratus-red-team-malicious-iam-role"


def policy_document(statements):
    return {"Version": "2012-10-17", "Statement": statements}


def _details():
    return {
        "UserDetailList": [{
            "UserName": "dana", "Arn": USER, "CreateDate": "2024-01-01T00:00:00Z", "GroupList": ["readers"],
            "UserPolicyList": [{"PolicyName": "own", "PolicyDocument": policy_document(
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
             "RolePolicyList": [{"PolicyName": "etl", "PolicyDocument": json.dumps(policy_document([
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
            {"VersionId": "v1", "IsDefaultVersion": False, "Document": policy_document([{"Effect": "Allow", "Action": "*", "Resource": "*"}])},
            {"VersionId": "v2", "IsDefaultVersion": True, "Document": policy_document(
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


def write_test_snapshot(tmp_path: Path) -> Snapshot:
    """The shared snapshot, written under ``tmp_path`` and loaded."""
    data = AccountData(credential_report_csv=REPORT, authorization_details=_details(), service_last_accessed=_advisor(),
                       access_keys=[], posture={})
    return load_snapshot(write_snapshot(tmp_path / "snaps", {ACCOUNT: data}, source="live", collected_at=COLLECTED))


def used_actions(rows):
    """``principal_actions_used`` rows mapped to IAM actions."""
    frame = pd.DataFrame(rows, columns=["account_id", "principal_arn", "identity_type", "eventsource", "eventname",
                                        "calls", "first_seen", "last_seen", "resource_arns"])
    return P.map_used(frame)


def stratus_session(tmp_path: Path):
    """A local session over the Stratus detonations (CreateUser + AttachUserPolicy(AdministratorAccess),
    CreateRole + AttachRolePolicy(...))."""
    events = json.loads(STRATUS_GRANTS.read_text())
    return local_session(events, tmp_path, start="2024-08-01T13:00:00Z", end="2024-08-01T14:00:00Z")
