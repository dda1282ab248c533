"""The read-only contract of IAM collection: what it may call, and the IAM policy that allows it.

trailbook never calls a mutating AWS API. ``READ_ONLY_OPERATIONS`` is the complete allow-list
of botocore operations the collector makes, per service; ``install_read_only_guard`` enforces
it on a boto3 session, so a future edit that adds a write call fails loudly instead of running.
``required_iam_policy`` derives the least-privilege IAM policy from the same list, so the two
cannot drift apart.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import boto3

# Keyed by botocore service name (``client.meta.service_model.service_name``); values are
# botocore operation names. Nothing here changes account configuration:
# - Describe*/Get*/List* only read.
# - GenerateCredentialReport and GenerateServiceLastAccessedDetails ask IAM to build a
#   report (the credential report, at most once per 4 hours) or an asynchronous
#   Access Advisor job. They create no resource and change no policy, principal or
#   setting; the only effect is a report that later Get* calls read.
# - sts:AssumeRole issues temporary credentials for the read-only collection role in each
#   member account; it changes nothing in either account.
READ_ONLY_OPERATIONS: Mapping[str, frozenset[str]] = {
    "iam": frozenset({
        "GetAccountAuthorizationDetails",
        "GenerateCredentialReport",
        "GetCredentialReport",
        "GenerateServiceLastAccessedDetails",
        "GetServiceLastAccessedDetails",
        "ListAccessKeys",
        "GetAccessKeyLastUsed",
        "ListVirtualMFADevices",
    }),
    "sts": frozenset({"AssumeRole"}),
    "cloudtrail": frozenset({"DescribeTrails", "GetTrailStatus"}),
    "guardduty": frozenset({"ListDetectors", "GetDetector"}),
    "s3control": frozenset({"GetPublicAccessBlock"}),
    "accessanalyzer": frozenset({"ListAnalyzers", "ListFindingsV2"}),
}

# IAM action prefixes differ from botocore service names for two services.
_IAM_PREFIX = {"s3control": "s3", "accessanalyzer": "access-analyzer"}
# Operations authorised by an IAM action of a different name (AWS API reference).
_IAM_ACTION_OVERRIDES = {
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    # "ListFindings and ListFindingsV2 both use access-analyzer:ListFindings".
    ("accessanalyzer", "ListFindingsV2"): "access-analyzer:ListFindings",
}
# AssumeRole is needed by the caller (on the member-account roles), not by those roles.
_CALLER_ONLY = {("sts", "AssumeRole")}

_GUARD_ID = "trailbook-iam-read-only-guard"


class ReadOnlyViolation(RuntimeError):
    """An AWS operation outside ``READ_ONLY_OPERATIONS`` was about to be called."""


def is_read_only(service: str, operation: str) -> bool:
    """True when ``service``/``operation`` (botocore names) is on the allow-list."""
    return operation in READ_ONLY_OPERATIONS.get(service, frozenset())


def iam_action(service: str, operation: str) -> str:
    """The IAM action that authorises one allow-listed operation, e.g. ``iam:ListAccessKeys``."""
    if not is_read_only(service, operation):
        raise ReadOnlyViolation(f"{service}:{operation} is not an allow-listed read-only operation")
    override = _IAM_ACTION_OVERRIDES.get((service, operation))
    return override or f"{_IAM_PREFIX.get(service, service)}:{operation}"


def required_iam_policy(role_name: str | None = None) -> dict[str, Any]:
    """The least-privilege IAM policy for IAM collection, as a policy JSON object.

    Statement ``TrailbookIamCollectReadOnly`` is what the collecting identity needs in every
    account it reads (attach it to the read-only role in each member account, or to the
    caller for a single account). ``Resource`` is ``*`` because these read actions either
    support no resource-level permissions (GetAccountAuthorizationDetails,
    GenerateCredentialReport, GetCredentialReport, ListVirtualMFADevices, ListDetectors,
    ListAnalyzers, DescribeTrails, GetAccountPublicAccessBlock) or are called on every
    principal and policy.
    Actions: iam:GetAccountAuthorizationDetails, iam:GenerateCredentialReport,
    iam:GetCredentialReport, iam:GenerateServiceLastAccessedDetails,
    iam:GetServiceLastAccessedDetails, iam:ListAccessKeys, iam:GetAccessKeyLastUsed,
    iam:ListVirtualMFADevices, cloudtrail:DescribeTrails, cloudtrail:GetTrailStatus, guardduty:ListDetectors,
    guardduty:GetDetector, s3:GetAccountPublicAccessBlock, access-analyzer:ListAnalyzers,
    access-analyzer:ListFindings (which authorises ListFindingsV2).

    With ``role_name`` (multi-account collection) a second statement,
    ``TrailbookAssumeCollectionRole``, grants the caller ``sts:AssumeRole`` on
    ``arn:aws:iam::*:role/<role_name>``; narrow ``*`` to your account ids if you can.
    """
    actions = sorted(
        iam_action(service, operation)
        for service, operations in READ_ONLY_OPERATIONS.items()
        for operation in operations
        if (service, operation) not in _CALLER_ONLY
    )
    statements: list[dict[str, Any]] = [
        {"Sid": "TrailbookIamCollectReadOnly", "Effect": "Allow", "Action": actions, "Resource": "*"}
    ]
    if role_name is not None:
        statements.append({
            "Sid": "TrailbookAssumeCollectionRole",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole"],
            "Resource": f"arn:aws:iam::*:role/{role_name.strip('/')}",
        })
    return {"Version": "2012-10-17", "Statement": copy.deepcopy(statements)}


def _refuse_unlisted(model: Any, **_: Any) -> None:
    service = model.service_model.service_name
    if not is_read_only(service, model.name):
        raise ReadOnlyViolation(
            f"refusing {service}:{model.name}: trailbook IAM collection only makes the "
            "read-only calls in READ_ONLY_OPERATIONS"
        )


def install_read_only_guard(session: boto3.Session) -> None:
    """Make every client created from ``session`` afterwards refuse non-allow-listed calls.

    The check runs before the request is built, so a refused call never reaches AWS.
    Installing twice is harmless (one handler per session).
    """
    session.events.register("before-parameter-build", _refuse_unlisted, unique_id=_GUARD_ID)
