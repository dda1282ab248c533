"""Who the principals are and which identity policies they hold, read from the snapshot's
authorization details: user inline + attached managed + its groups' inline and managed; role
inline + attached."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pandas as pd

from trailbook.iam.snapshot import Snapshot

from .inputs import PermissionsError, utc_timestamp
from .snapshot import snapshot_accounts

# Well-known AWS managed policies whose document a trail-only analysis may assume. Anything else
# attached from AWS is reported as "document not visible" rather than guessed.
KNOWN_AWS_MANAGED: dict[str, dict[str, Any]] = {
    "AdministratorAccess": {"Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    "IAMFullAccess": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:*", "organizations:DescribeAccount", "organizations:DescribeOrganization",
                                       "organizations:DescribeOrganizationalUnit", "organizations:DescribePolicy",
                                       "organizations:ListChildren", "organizations:ListParents",
                                       "organizations:ListPoliciesForTarget", "organizations:ListRoots",
                                       "organizations:ListPolicies", "organizations:ListTargetsForPolicy"],
         "Resource": "*"}]},
    "AmazonS3FullAccess": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"], "Resource": "*"}]},
    "AmazonS3ReadOnlyAccess": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*",
                                       "s3-object-lambda:List*"], "Resource": "*"}]},
}
_AWS_MANAGED = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?([^/]+)$")


@dataclass(frozen=True)
class PolicyDocument:
    """One identity policy of a principal; ``document`` None when it is not visible."""

    name: str
    origin: str  # inline | managed | group inline | group managed | trail inline | trail managed
    document: dict[str, Any] | None
    arn: str | None = None


@dataclass
class Principal:
    account_id: str
    arn: str
    kind: str  # user | role
    name: str
    created: pd.Timestamp | None
    policies: list[PolicyDocument] = field(default_factory=list)
    role_last_used: pd.Timestamp | None = None
    groups: tuple[str, ...] = ()
    from_trail: bool = False


def as_list(value: Any) -> list[Any]:
    """A policy field that holds one value or a list of them, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def decode_document(document: Any) -> dict[str, Any] | None:
    """Policy documents arrive as objects (snapshot) or text, maybe URL-encoded (trail)."""
    if document is None:
        return None
    if isinstance(document, dict):
        return document
    if isinstance(document, str):
        text = document if document.lstrip().startswith("{") else unquote(document)
        try:
            loaded = json.loads(text)
        except ValueError as error:
            raise PermissionsError(f"policy document is not JSON: {text[:80]!r}") from error
        if not isinstance(loaded, dict):
            raise PermissionsError(f"policy document is not a JSON object: {text[:80]!r}")
        return loaded
    raise PermissionsError(f"policy document must be an object or JSON text, got {type(document).__name__}")


def known_aws_managed(arn: str) -> dict[str, Any] | None:
    """The document of a well-known AWS managed policy (a copy), None for any other ARN."""
    match = _AWS_MANAGED.match(arn or "")
    return copy.deepcopy(KNOWN_AWS_MANAGED.get(match.group(1))) if match else None


ManagedDocuments = Mapping[str, tuple[str, dict[str, Any] | None]]  # policy ARN → (name, default version)


def _managed_documents(details: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any] | None]]:
    out: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for policy in details.get("Policies", []) or []:
        default = next((v for v in policy.get("PolicyVersionList", []) or [] if v.get("IsDefaultVersion")), None)
        document = decode_document(default["Document"]) if default else None
        out[policy["Arn"]] = (policy.get("PolicyName", policy["Arn"]), document)
    return out


def _attached(entries: Iterable[Mapping[str, Any]] | None, managed: ManagedDocuments,
              origin: str) -> list[PolicyDocument]:
    out = []
    for entry in entries or []:
        arn = entry["PolicyArn"]
        name, document = managed.get(arn, (entry.get("PolicyName", arn), None))
        if document is None:
            document = known_aws_managed(arn)
        out.append(PolicyDocument(name, origin, document, arn))
    return out


def _inline(entries: Iterable[Mapping[str, Any]] | None, origin: str, prefix: str = "") -> list[PolicyDocument]:
    return [PolicyDocument(prefix + p["PolicyName"], origin, decode_document(p["PolicyDocument"]))
            for p in entries or []]


def _user(account: str, user: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]],
          managed: ManagedDocuments) -> Principal:
    policies = _inline(user.get("UserPolicyList"), "inline")
    policies += _attached(user.get("AttachedManagedPolicies"), managed, "managed")
    member_of = tuple(user.get("GroupList", []) or [])
    for group_name in member_of:
        group = groups.get(group_name)
        if group is None:
            policies.append(PolicyDocument(f"group {group_name}", "group inline", None))
            continue
        policies += _inline(group.get("GroupPolicyList"), "group inline", prefix=f"{group_name}/")
        policies += _attached(group.get("AttachedManagedPolicies"), managed, "group managed")
    return Principal(account, user["Arn"], "user", user["UserName"], utc_timestamp(user.get("CreateDate")),
                     policies, groups=member_of)


def _role(account: str, role: Mapping[str, Any], managed: ManagedDocuments) -> Principal:
    policies = _inline(role.get("RolePolicyList"), "inline")
    policies += _attached(role.get("AttachedManagedPolicies"), managed, "managed")
    last = (role.get("RoleLastUsed") or {}).get("LastUsedDate")
    return Principal(account, role["Arn"], "role", role["RoleName"], utc_timestamp(role.get("CreateDate")),
                     policies, role_last_used=utc_timestamp(last))


def principals(snapshot: Snapshot, accounts: Sequence[str] = ()) -> list[Principal]:
    """Every IAM user and role of the snapshot with its identity policies."""
    out: list[Principal] = []
    for account in snapshot_accounts(snapshot, accounts):
        details = snapshot.authorization_details(account)
        managed = _managed_documents(details)
        groups = {g["GroupName"]: g for g in details.get("GroupDetailList", []) or []}
        out += [_user(account, user, groups, managed) for user in details.get("UserDetailList", []) or []]
        for role in details.get("RoleDetailList", []) or []:
            if "/aws-service-role/" in role.get("Path", "") + role["Arn"]:
                continue  # service-linked roles are AWS's to manage, not the account's to trim
            out.append(_role(account, role, managed))
    return out


def principal_table(found: Sequence[Principal]) -> pd.DataFrame:
    """One row per principal: kind, policies (and which are not visible), creation, role last used."""
    rows = [{
        "account_id": p.account_id, "principal_arn": p.arn, "kind": p.kind, "name": p.name,
        "created": p.created, "role_last_used": p.role_last_used, "groups": list(p.groups),
        "policies": [f"{d.name} ({d.origin})" for d in p.policies],
        "policies_not_visible": [d.name for d in p.policies if d.document is None],
        "source": "trail" if p.from_trail else "snapshot",
    } for p in found]
    return pd.DataFrame(rows, columns=["account_id", "principal_arn", "kind", "name", "created", "role_last_used",
                                       "groups", "policies", "policies_not_visible", "source"])
