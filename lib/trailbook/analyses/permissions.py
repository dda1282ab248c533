"""Unused permissions per principal: Access Advisor, CloudTrail (used vs granted), inactivity,
a suggested least-privilege policy, and a risk ranking of what stays unused.

Inputs: an IAM snapshot (``trailbook.iam``; see ``open_snapshot``) and, optionally, a session
(CloudTrail through the catalog: ``principal_actions_used``, ``principal_last_activity``,
``policies_in_trail``). Granted = the principal's identity policies from the snapshot's
authorization details (user inline + attached managed + its groups' inline and managed; role
inline + attached), or, for principals created or changed in the trail, the documents the trail
recorded (``trail_grants``). Statements are read with ``Action``/``NotAction`` expanded against
the IAM action list (``trailbook.iam.actions``); unconditional ``Deny`` on ``*`` resources is
subtracted, other Deny statements are reported, not applied.

The notebook ``unused_permissions`` calls ``analyse`` once and shows its parts.
"""

from __future__ import annotations

import copy
import difflib
import html
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from .. import findings as F
from ..iam import actions as A
from ..iam.snapshot import Snapshot, SnapshotError, iso_z, load_snapshot

CAVEATS: tuple[str, ...] = (
    "Access Advisor counts every authenticated attempt, denied ones included: 'used' there means "
    "'tried', not 'allowed'.",
    "Access Advisor and this analysis apply identity-policy logic only: service control policies, "
    "permissions boundaries, resource-based policies and session policies are not evaluated.",
    "Access Advisor lags by about 4 hours; very recent use may not show yet. It tracks at most 400 days.",
    "CloudTrail shows only what was logged: data events (S3 objects, Lambda invoke, DynamoDB items) "
    "appear only if the trail records them, so data-plane permissions can look unused.",
    "The IAM action list is derived from botocore's service models plus known permission-only "
    "actions; '*' and NotAction expand to the actions it lists, a subset of what AWS grants.",
    "Conditions in Allow statements are not evaluated: a conditional grant counts as granted.",
)
DETECTION_OVER_PRIVILEGED = "unused_permissions_over_privileged"
DETECTION_INACTIVE = "unused_permissions_inactive_principal"
MITRE_OVER_PRIVILEGED = ["T1078.004"]
MITRE_INACTIVE = ["T1078.004", "T1098"]

# Unused grants, riskiest first. Patterns are IAM action patterns (case-insensitive).
PRIVILEGE_ESCALATION = (
    "iam:PassRole", "iam:Put*Policy", "iam:Attach*Policy", "iam:CreateAccessKey", "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion", "iam:UpdateAssumeRolePolicy", "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile", "iam:AddUserToGroup", "iam:CreateRole", "iam:CreateUser",
    "iam:Delete*PermissionsBoundary", "sts:AssumeRole", "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration", "lambda:CreateFunction", "lambda:AddPermission",
    "glue:UpdateDevEndpoint", "glue:CreateDevEndpoint", "cloudformation:CreateStack",
    "cloudformation:UpdateStack", "ec2:RunInstances", "ssm:SendCommand", "ssm:StartSession",
    "ec2-instance-connect:SendSSHPublicKey", "codebuild:CreateProject", "datapipeline:CreatePipeline",
)
DATA_ACCESS = (
    "s3:GetObject", "s3:GetObjectVersion", "s3:PutBucketPolicy", "s3:PutBucketAcl", "s3:PutObjectAcl",
    "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "ssm:GetParameter",
    "ssm:GetParameters", "ssm:GetParametersByPath", "kms:Decrypt", "kms:CreateGrant", "dynamodb:GetItem",
    "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "ec2:GetPasswordData",
    "ec2:ModifySnapshotAttribute", "ec2:ModifyImageAttribute", "rds:ModifyDBSnapshotAttribute",
    "lambda:GetFunction", "sqs:ReceiveMessage", "kinesis:GetRecords", "ecr:GetDownloadUrlForLayer",
)
RISK_ORDER = {"privilege_escalation": 3, "data_access": 2, "wildcard": 1, "other": 0}
RISK_SEVERITY = {"privilege_escalation": "high", "data_access": "medium", "wildcard": "medium", "other": "low"}

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


class PermissionsError(ValueError):
    """Bad input to the unused-permissions analysis."""


# --- snapshot -----------------------------------------------------------------------------------

def open_snapshot(iam_snapshot: str | os.PathLike, *, session: Any = None,
                  out_dir: str | os.PathLike | None = None, **collect_options: Any) -> Snapshot:
    """The IAM snapshot a notebook's ``iam_snapshot`` parameter names.

    ``"auto"`` (the notebooks' default): the snapshot that belongs to the session's data (a source
    that comes with one, such as the demo), otherwise an error asking for a snapshot, so a report
    on real logs never shows another data set's IAM data. A named source (``"demo"``): that
    source's snapshot. ``"live"``: collect now with the read-only collector into ``out_dir``
    (default ``<trailbook home>/iam``). A path: a snapshot directory (holding snapshot.json) or a
    folder of ``iam-*`` snapshots, of which the newest is used.
    """
    from .. import sources

    spec = os.fspath(iam_snapshot).strip() if iam_snapshot is not None else ""
    if not spec:
        raise PermissionsError('iam_snapshot is empty: give a snapshot directory, "auto" or "live"')
    if spec == "auto":
        prepared = getattr(session, "prepared", None)
        if prepared is not None and prepared.iam_snapshot is not None:
            return load_snapshot(prepared.iam_snapshot)
        raise PermissionsError(
            "this notebook needs an IAM snapshot of the accounts it reports on: set iam_snapshot to a folder "
            "written by `trailbook collect iam --out DIR`, or to \"live\" to collect now (read-only)"
        )
    if sources.is_named(spec):
        named = sources.NAMED[spec]()
        if named.iam_snapshot is None:
            raise PermissionsError(f"source {spec!r} comes with no IAM snapshot")
        return load_snapshot(named.iam_snapshot)
    if spec == "live":
        from .. import paths
        from ..iam import collect_snapshot

        return load_snapshot(collect_snapshot(Path(out_dir) if out_dir else paths.home() / "iam", **collect_options))
    path = Path(spec).expanduser()
    if (path / "snapshot.json").is_file():
        return load_snapshot(path)
    if path.is_dir():
        candidates = sorted(p for p in path.glob("iam-*") if (p / "snapshot.json").is_file())
        if candidates:
            return load_snapshot(candidates[-1])
    raise SnapshotError(f'{path} is not an IAM snapshot (no snapshot.json, no iam-* snapshot inside); '
                        f'give a snapshot directory, "auto" or "live"')


def snapshot_accounts(snapshot: Snapshot, accounts: Sequence[str] = ()) -> list[str]:
    """The snapshot's accounts, narrowed to ``accounts`` when given (unknown ones raise)."""
    if not accounts:
        return list(snapshot.accounts)
    unknown = sorted(set(accounts) - set(snapshot.accounts))
    if unknown:
        raise PermissionsError(f"accounts {unknown} are not in snapshot {snapshot.path} ({list(snapshot.accounts)})")
    return [a for a in snapshot.accounts if a in set(accounts)]


def _timestamp(value: Any) -> pd.Timestamp | None:
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


# --- principals and their policies -----------------------------------------------------------------

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


def _decode_document(document: Any) -> dict[str, Any] | None:
    """Policy documents arrive as objects (snapshot) or text, maybe URL-encoded (trail)."""
    if document is None:
        return None
    if isinstance(document, dict):
        return document
    if isinstance(document, str):
        from urllib.parse import unquote

        text = document if document.lstrip().startswith("{") else unquote(document)
        try:
            loaded = json.loads(text)
        except ValueError as error:
            raise PermissionsError(f"policy document is not JSON: {text[:80]!r}") from error
        if not isinstance(loaded, dict):
            raise PermissionsError(f"policy document is not a JSON object: {text[:80]!r}")
        return loaded
    raise PermissionsError(f"policy document must be an object or JSON text, got {type(document).__name__}")


def _managed_documents(details: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any] | None]]:
    out: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for policy in details.get("Policies", []) or []:
        default = next((v for v in policy.get("PolicyVersionList", []) or [] if v.get("IsDefaultVersion")), None)
        out[policy["Arn"]] = (policy.get("PolicyName", policy["Arn"]), _decode_document(default["Document"]) if default else None)
    return out


def _attached(entries: Iterable[Mapping[str, Any]], managed: Mapping[str, tuple[str, dict | None]], origin: str) -> list[PolicyDocument]:
    out = []
    for entry in entries or []:
        arn = entry["PolicyArn"]
        name, document = managed.get(arn, (entry.get("PolicyName", arn), None))
        if document is None:
            document = _known_aws_managed(arn)
        out.append(PolicyDocument(name, origin, document, arn))
    return out


def _known_aws_managed(arn: str) -> dict[str, Any] | None:
    match = _AWS_MANAGED.match(arn or "")
    return copy.deepcopy(KNOWN_AWS_MANAGED.get(match.group(1))) if match else None


def principals(snapshot: Snapshot, accounts: Sequence[str] = ()) -> list[Principal]:
    """Every IAM user and role of the snapshot with its identity policies."""
    out: list[Principal] = []
    for account in snapshot_accounts(snapshot, accounts):
        details = snapshot.authorization_details(account)
        managed = _managed_documents(details)
        groups = {g["GroupName"]: g for g in details.get("GroupDetailList", []) or []}
        for user in details.get("UserDetailList", []) or []:
            policies = [PolicyDocument(p["PolicyName"], "inline", _decode_document(p["PolicyDocument"]))
                        for p in user.get("UserPolicyList", []) or []]
            policies += _attached(user.get("AttachedManagedPolicies"), managed, "managed")
            member_of = tuple(user.get("GroupList", []) or [])
            for group_name in member_of:
                group = groups.get(group_name)
                if group is None:
                    policies.append(PolicyDocument(f"group {group_name}", "group inline", None))
                    continue
                policies += [PolicyDocument(f"{group_name}/{p['PolicyName']}", "group inline", _decode_document(p["PolicyDocument"]))
                             for p in group.get("GroupPolicyList", []) or []]
                policies += _attached(group.get("AttachedManagedPolicies"), managed, "group managed")
            out.append(Principal(account, user["Arn"], "user", user["UserName"], _timestamp(user.get("CreateDate")),
                                 policies, groups=member_of))
        for role in details.get("RoleDetailList", []) or []:
            if "/aws-service-role/" in role.get("Path", "") + role["Arn"]:
                continue  # service-linked roles are AWS's to manage, not the account's to trim
            policies = [PolicyDocument(p["PolicyName"], "inline", _decode_document(p["PolicyDocument"]))
                        for p in role.get("RolePolicyList", []) or []]
            policies += _attached(role.get("AttachedManagedPolicies"), managed, "managed")
            last = (role.get("RoleLastUsed") or {}).get("LastUsedDate")
            out.append(Principal(account, role["Arn"], "role", role["RoleName"], _timestamp(role.get("CreateDate")),
                                 policies, role_last_used=_timestamp(last)))
    return out


def trail_grants(policy_events: pd.DataFrame) -> list[Principal]:
    """Principals rebuilt from ``policies_in_trail`` rows: created and granted inside the window.

    Replays the events in time order: Create* makes the principal, Put*Policy sets an inline
    document, Attach*Policy attaches a managed one (its document from CreatePolicy /
    CreatePolicyVersion in the same trail, or a well-known AWS managed policy, else not
    visible), Delete*/Detach* remove them. Group grants apply to members added in the trail.
    """
    required = {"eventtime", "eventname", "account_id", "role_name", "user_name", "group_name",
                "policy_name", "policy_arn", "policy_document", "created_arn"}
    missing = required - set(policy_events.columns)
    if missing:
        raise PermissionsError(f"not a policies_in_trail result: missing columns {sorted(missing)}")
    managed: dict[str, dict[str, Any] | None] = {}
    entities: dict[tuple[str, str, str], dict[str, Any]] = {}

    def entity(kind: str, account: str, name: str, arn: str | None = None, created: Any = None) -> dict[str, Any]:
        key = (kind, account, name)
        if key not in entities:
            entities[key] = {"arn": arn or f"arn:aws:iam::{account}:{kind}/{name}", "inline": {}, "attached": [],
                             "groups": [], "created": created}
        if arn:
            entities[key]["arn"] = arn
        if created and not entities[key]["created"]:
            entities[key]["created"] = created  # events of one second may arrive Attach-before-Create
        return entities[key]

    ordered = policy_events.sort_values(["eventtime"], kind="stable")
    # Missing values come back as NaN (truthy); make them None so "is there a role name" is honest.
    ordered = ordered.astype(object).where(ordered.notna(), None)
    for row in ordered.to_dict("records"):
        event, account = row["eventname"], row["account_id"]
        target_kind, target = (("role", row["role_name"]) if row.get("role_name") else
                               ("group", row["group_name"]) if row.get("group_name") and event not in ("AddUserToGroup", "RemoveUserFromGroup") else
                               ("user", row["user_name"]) if row.get("user_name") else (None, None))
        if event in ("CreatePolicy", "CreatePolicyVersion"):
            if row.get("policy_arn") and (event == "CreatePolicy" or str(row.get("set_as_default")).lower() == "true"):
                managed[row["policy_arn"]] = _decode_document(row.get("policy_document"))
            continue
        if target is None:
            continue
        if event in ("AddUserToGroup", "RemoveUserFromGroup"):
            user = entity("user", account, row["user_name"])
            group = row["group_name"]
            if event == "AddUserToGroup" and group not in user["groups"]:
                user["groups"].append(group)
            elif event == "RemoveUserFromGroup" and group in user["groups"]:
                user["groups"].remove(group)
            continue
        item = entity(target_kind, account, target, row.get("created_arn") if event.startswith("Create") else None,
                      row["eventtime"] if event.startswith("Create") else None)
        if event.startswith("Put") and event.endswith("Policy") and row.get("policy_name"):
            item["inline"][row["policy_name"]] = _decode_document(row.get("policy_document"))
        elif event.startswith("Delete") and event.endswith("Policy") and row.get("policy_name"):
            item["inline"].pop(row["policy_name"], None)
        elif event.startswith("Attach") and row.get("policy_arn") and row["policy_arn"] not in item["attached"]:
            item["attached"].append(row["policy_arn"])
        elif event.startswith("Detach") and row.get("policy_arn") in item["attached"]:
            item["attached"].remove(row["policy_arn"])

    def documents(item: dict[str, Any], prefix: str = "") -> list[PolicyDocument]:
        docs = [PolicyDocument(prefix + name, f"trail {'group ' if prefix else ''}inline", doc)
                for name, doc in item["inline"].items()]
        for arn in item["attached"]:
            doc = managed.get(arn) or _known_aws_managed(arn)
            docs.append(PolicyDocument(prefix + arn.rsplit("/", 1)[-1], f"trail {'group ' if prefix else ''}managed", doc, arn))
        return docs

    out = []
    for (kind, account, name), item in entities.items():
        if kind == "group":
            continue
        docs = documents(item)
        for group in item["groups"]:
            if ("group", account, group) in entities:
                docs += documents(entities[("group", account, group)], prefix=f"{group}/")
        out.append(Principal(account, item["arn"], kind, name, _timestamp(item["created"]), docs,
                             groups=tuple(item["groups"]), from_trail=True))
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


# --- statements → granted actions ------------------------------------------------------------------

def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@dataclass
class Grant:
    """What a principal's policies allow, expanded against the action list."""

    actions: frozenset[str]
    patterns: dict[str, list[str]]  # granting pattern → policy names
    resources: dict[str, list[str]]  # granting pattern → Resource values
    unmatched_patterns: list[str]  # wildcards that matched no listed action
    not_action_statements: int
    conditional_patterns: list[str]
    deny_notes: list[str]
    hidden_policies: list[str]  # attached but not visible (no document)

    def granting_patterns(self, action: str) -> list[str]:
        return [p for p in self.patterns if A.action_matches(p, action)]


def grant_of(principal: Principal, action_list: A.ActionList | None = None) -> Grant:
    """Expand a principal's Allow statements; subtract unconditional Deny on every resource."""
    listed = action_list or A.load_action_list()
    allowed: set[str] = set()
    patterns: dict[str, list[str]] = {}
    resources: dict[str, list[str]] = {}
    unmatched: list[str] = []
    conditional: list[str] = []
    deny_notes: list[str] = []
    denied: set[str] = set()
    not_action = 0
    hidden = [d.name for d in principal.policies if d.document is None]
    for policy in principal.policies:
        if policy.document is None:
            continue
        statements = policy.document.get("Statement", [])
        for statement in _as_list(statements):
            if not isinstance(statement, dict):
                raise PermissionsError(f"{principal.arn}: policy {policy.name} has a statement that is not an object")
            effect = statement.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise PermissionsError(f"{principal.arn}: policy {policy.name}: Effect {effect!r} is not Allow or Deny")
            if "Action" in statement:
                expanded: set[str] = set()
                for pattern in _as_list(statement["Action"]):
                    found = A.expand_action(pattern, listed)
                    if not found:
                        unmatched.append(pattern)
                    expanded |= found
                    if effect == "Allow":
                        patterns.setdefault(pattern, []).append(policy.name)
                        resources.setdefault(pattern, []).extend(str(r) for r in _as_list(statement.get("Resource", "*")))
                        if statement.get("Condition"):
                            conditional.append(pattern)
            elif "NotAction" in statement:
                not_action += 1
                expanded = set(A.expand_not_action(_as_list(statement["NotAction"]), listed))
                if effect == "Allow":
                    label = "NotAction:" + ",".join(map(str, _as_list(statement["NotAction"])))
                    patterns.setdefault(label, []).append(policy.name)
                    resources.setdefault(label, []).extend(str(r) for r in _as_list(statement.get("Resource", "*")))
            else:
                raise PermissionsError(f"{principal.arn}: policy {policy.name} has a statement without Action or NotAction")
            if effect == "Allow":
                allowed |= expanded
            elif statement.get("Condition") or _as_list(statement.get("Resource", "*")) != ["*"]:
                deny_notes.append(f"{policy.name}: Deny with conditions or specific resources not applied")
            else:
                denied |= expanded
    return Grant(frozenset(allowed - denied), patterns, resources, sorted(set(unmatched)), not_action,
                 sorted(set(conditional)), deny_notes, hidden)


@lru_cache(maxsize=1)
def _risky_sets() -> tuple[frozenset[str], frozenset[str]]:
    listed = A.load_action_list()
    lower = lambda names: frozenset(n.lower() for n in names)  # noqa: E731 (IAM names are case-insensitive)
    return lower(A.expand_actions(PRIVILEGE_ESCALATION, listed)), lower(A.expand_actions(DATA_ACCESS, listed))


def risk_of(action: str) -> str:
    """privilege_escalation | data_access | other, for one IAM action."""
    privesc, data = _risky_sets()
    key = action.lower()
    if key in privesc:
        return "privilege_escalation"
    if key in data:
        return "data_access"
    return "other"


# --- Access Advisor -------------------------------------------------------------------------------

def _now(snapshot: Snapshot, now: Any) -> pd.Timestamp:
    return _timestamp(now) if now is not None else pd.Timestamp(snapshot.collected_at).tz_convert("UTC")


def _entity_type(arn: str) -> str:
    resource = arn.split(":", 5)[-1]
    return resource.split("/", 1)[0]


def service_last_accessed(snapshot: Snapshot, *, unused_days: int = 90, now: Any = None,
                          accounts: Sequence[str] = ()) -> pd.DataFrame:
    """Access Advisor per principal and service: used / not used in N days / never used.

    Access Advisor lists exactly the services the entity's policies allow, so every row is a
    granted service. Status ``not_used`` = last authenticated more than ``unused_days`` ago;
    ``never_used`` = no authentication in the tracking period (up to 400 days).
    """
    _check_days(unused_days, "unused_days")
    when = _now(snapshot, now)
    rows = []
    for account in snapshot_accounts(snapshot, accounts):
        for arn, job in snapshot.service_last_accessed(account).items():
            for service in job.get("ServicesLastAccessed", []) or []:
                last = _timestamp(service.get("LastAuthenticated"))
                days = None if last is None else (when - last).total_seconds() / 86400
                status = "never_used" if last is None else ("not_used" if days > unused_days else "used")
                rows.append({"account_id": account, "principal_arn": arn, "entity_type": _entity_type(arn),
                             "service_namespace": service["ServiceNamespace"], "service_name": service.get("ServiceName"),
                             "last_authenticated": last, "days_since": None if days is None else round(days, 1),
                             "last_authenticated_entity": service.get("LastAuthenticatedEntity"),
                             "last_authenticated_region": service.get("LastAuthenticatedRegion"),
                             "tracked_actions": len(service.get("TrackedActionsLastAccessed") or []),
                             "status": status})
    return pd.DataFrame(rows, columns=["account_id", "principal_arn", "entity_type", "service_namespace", "service_name",
                                       "last_authenticated", "days_since", "last_authenticated_entity",
                                       "last_authenticated_region", "tracked_actions", "status"])


def action_last_accessed(snapshot: Snapshot, *, unused_days: int = 90, now: Any = None,
                         accounts: Sequence[str] = ()) -> pd.DataFrame:
    """Access Advisor at action level (services IAM tracks by action, ACTION_LEVEL jobs only)."""
    _check_days(unused_days, "unused_days")
    when = _now(snapshot, now)
    rows = []
    for account in snapshot_accounts(snapshot, accounts):
        for arn, job in snapshot.service_last_accessed(account).items():
            for service in job.get("ServicesLastAccessed", []) or []:
                for action in service.get("TrackedActionsLastAccessed") or []:
                    last = _timestamp(action.get("LastAccessedTime"))
                    days = None if last is None else (when - last).total_seconds() / 86400
                    rows.append({"account_id": account, "principal_arn": arn, "entity_type": _entity_type(arn),
                                 "action": f"{service['ServiceNamespace']}:{action['ActionName']}",
                                 "last_accessed": last, "days_since": None if days is None else round(days, 1),
                                 "last_accessed_region": action.get("LastAccessedRegion"),
                                 "status": "never_used" if last is None else ("not_used" if days > unused_days else "used")})
    return pd.DataFrame(rows, columns=["account_id", "principal_arn", "entity_type", "action", "last_accessed",
                                       "days_since", "last_accessed_region", "status"])


def _check_days(days: Any, name: str) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise PermissionsError(f"{name} must be a whole number of days >= 1, got {days!r}")


# --- CloudTrail: used actions ---------------------------------------------------------------------

USED_COLUMNS = ["account_id", "principal_arn", "identity_type", "eventsource", "eventname", "iam_action",
                "mapping", "calls", "first_seen", "last_seen", "resource_arns"]


def map_used(frame: pd.DataFrame, action_list: A.ActionList | None = None) -> pd.DataFrame:
    """Add the IAM action (and how it was mapped) to ``principal_actions_used`` rows."""
    listed = action_list or A.load_action_list()
    if frame.empty:
        return pd.DataFrame(columns=USED_COLUMNS)
    mapped = [A.event_to_action(s, n, listed) for s, n in zip(frame["eventsource"], frame["eventname"])]
    out = frame.assign(iam_action=[m.action for m in mapped], mapping=[m.kind for m in mapped])
    out["resource_arns"] = [list(v) if v is not None and not isinstance(v, str) else ([] if v is None else [v])
                            for v in out["resource_arns"]]
    return out[USED_COLUMNS].reset_index(drop=True)


def actions_used(session: Any) -> pd.DataFrame:
    """Successful calls per principal from CloudTrail, mapped to IAM actions."""
    return map_used(session.run("principal_actions_used"))


# --- comparison -----------------------------------------------------------------------------------

def compare(found: Sequence[Principal], used: pd.DataFrame, *,
            services: pd.DataFrame | None = None, action_list: A.ActionList | None = None) -> pd.DataFrame:
    """Per principal: granted vs used (CloudTrail), unused services (Access Advisor) and risk.

    Columns: account_id, principal_arn, kind, granted_actions, used_actions, used_not_granted,
    unused_actions, unused_privilege_escalation, unused_data_access, wildcard_patterns,
    unused_services, policies_not_visible, risk, severity.
    """
    listed = action_list or A.load_action_list()
    by_principal = {arn: part for arn, part in used.groupby("principal_arn")} if not used.empty else {}
    rows = []
    for principal in found:
        grant = grant_of(principal, listed)
        part = by_principal.get(principal.arn)
        called = set() if part is None else {a for a in part["iam_action"].dropna()}
        used_granted = {a for a in called if a in grant.actions or grant.granting_patterns(a)}
        unused = grant.actions - {listed.canonical(a) or a for a in used_granted}
        privesc = sorted(a for a in unused if risk_of(a) == "privilege_escalation")
        data = sorted(a for a in unused if risk_of(a) == "data_access")
        wildcards = sorted(p for p in grant.patterns if A.has_wildcard(p) or p.startswith("NotAction:"))
        unused_services: list[str] = []
        if services is not None and not services.empty:
            mine = services[services["principal_arn"].eq(principal.arn)]
            unused_services = sorted(mine.loc[mine["status"].ne("used"), "service_namespace"])
        risk = ("privilege_escalation" if privesc else "data_access" if data else
                "wildcard" if wildcards and unused else "other")
        rows.append({
            "account_id": principal.account_id, "principal_arn": principal.arn, "kind": principal.kind,
            "granted_actions": len(grant.actions), "used_actions": len(used_granted),
            "used_not_granted": sorted(called - used_granted), "unused_actions": len(unused),
            "unused_privilege_escalation": privesc, "unused_data_access": data,
            "wildcard_patterns": wildcards, "unused_services": unused_services,
            "policies_not_visible": grant.hidden_policies, "risk": risk,
            "severity": RISK_SEVERITY[risk] if (unused or unused_services) else "info",
        })
    frame = pd.DataFrame(rows, columns=["account_id", "principal_arn", "kind", "granted_actions", "used_actions",
                                        "used_not_granted", "unused_actions", "unused_privilege_escalation",
                                        "unused_data_access", "wildcard_patterns", "unused_services",
                                        "policies_not_visible", "risk", "severity"])
    if frame.empty:
        return frame
    frame["_rank"] = frame["risk"].map(RISK_ORDER)
    frame = frame.sort_values(["_rank", "unused_actions"], ascending=False, kind="stable").drop(columns="_rank")
    return frame.reset_index(drop=True)


def unused_risky_actions(comparison: pd.DataFrame) -> pd.DataFrame:
    """The risk ranking: one row per unused privilege-escalation or data-access action."""
    rows = []
    for row in comparison.to_dict("records"):
        for category, column in (("privilege_escalation", "unused_privilege_escalation"),
                                 ("data_access", "unused_data_access")):
            for action in row[column]:
                rows.append({"account_id": row["account_id"], "principal_arn": row["principal_arn"],
                             "action": action, "risk": category, "severity": RISK_SEVERITY[category]})
    frame = pd.DataFrame(rows, columns=["account_id", "principal_arn", "action", "risk", "severity"])
    return frame.sort_values(["risk", "principal_arn", "action"], ascending=[False, True, True]).reset_index(drop=True)


# --- inactivity -----------------------------------------------------------------------------------

def inactive_principals(found: Sequence[Principal], snapshot: Snapshot | None, activity: pd.DataFrame | None = None, *,
                        inactive_days: int = 90, now: Any = None) -> pd.DataFrame:
    """Principals with no activity in ``inactive_days``: roles by RoleLastUsed, users by the
    credential report (password and both keys), both by CloudTrail last activity when given.
    A principal created within the period is not called inactive."""
    _check_days(inactive_days, "inactive_days")
    when = _now(snapshot, now) if snapshot is not None else _timestamp(now or pd.Timestamp.now(tz="UTC"))
    cutoff = when - pd.Timedelta(days=inactive_days)
    trail_last: dict[str, pd.Timestamp] = {}
    if activity is not None and not activity.empty:
        for arn, last in activity.groupby("principal_arn")["last_seen"].max().items():
            trail_last[arn] = _timestamp(last)
    report_last: dict[str, pd.Timestamp | None] = {}
    if snapshot is not None:
        for account in {p.account_id for p in found if p.account_id in snapshot.accounts}:
            try:
                report = snapshot.credential_report(account)
            except SnapshotError:
                continue
            for row in report.to_dict("records"):
                dates = [row[c] for c in ("password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date")
                         if not pd.isna(row[c])]
                report_last[row["arn"]] = max(dates) if dates else None
    rows = []
    for p in found:
        seen = [t for t in (p.role_last_used, report_last.get(p.arn), trail_last.get(p.arn)) if t is not None]
        last = max(seen) if seen else None
        if last is not None and last >= cutoff:
            continue
        if p.created is not None and p.created >= cutoff:
            continue
        rows.append({"account_id": p.account_id, "principal_arn": p.arn, "kind": p.kind, "created": p.created,
                     "last_activity": last, "days_inactive": None if last is None else int((when - last).days),
                     "evidence": "never used" if last is None else f"last activity {iso_z(last.to_pydatetime())}"})
    return pd.DataFrame(rows, columns=["account_id", "principal_arn", "kind", "created", "last_activity",
                                       "days_inactive", "evidence"])


# --- suggested least-privilege policy -----------------------------------------------------------------

def suggested_policy(used: pd.DataFrame, principal_arn: str) -> dict[str, Any]:
    """A policy of the actions the principal really used, scoped to the resource ARNs CloudTrail
    named for them (``*`` where it named none). Calls needing no permission are left out."""
    mine = used[used["principal_arn"].eq(principal_arn) & used["iam_action"].notna()] if not used.empty else used
    by_resources: dict[tuple[str, ...], set[str]] = {}
    for row in mine.to_dict("records"):
        scoped = tuple(sorted(set(row["resource_arns"] or []))) or ("*",)
        by_resources.setdefault(scoped, set()).add(row["iam_action"])
    # Actions that also appear unscoped need "*"; keep each action in one statement only.
    unscoped = by_resources.get(("*",), set())
    statements = []
    for scoped, names in sorted(by_resources.items(), key=lambda item: (item[0] == ("*",), item[0])):
        names = names if scoped == ("*",) else names - unscoped
        if names:
            statements.append({"Effect": "Allow", "Action": sorted(names),
                               "Resource": scoped[0] if len(scoped) == 1 else list(scoped)})
    return {"Version": "2012-10-17", "Statement": statements}


def current_policy(principal: Principal) -> dict[str, Any]:
    """Today's policies of a principal merged into one document (statements tagged by policy)."""
    statements = []
    for policy in principal.policies:
        if policy.document is None:
            statements.append({"Sid": _sid(policy.name), "Comment": f"{policy.name} ({policy.origin}): document not visible"})
            continue
        for statement in _as_list(policy.document.get("Statement", [])):
            statements.append({"Sid": _sid(policy.name), **{k: v for k, v in statement.items() if k != "Sid"}})
    return {"Version": "2012-10-17", "Statement": statements}


def _sid(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", name.title())[:100] or "Policy"


def policy_diff(current: Mapping[str, Any], suggested: Mapping[str, Any], *, principal_arn: str = "") -> str:
    """Unified diff of two policies as pretty JSON (today's → suggested)."""
    label = f" {principal_arn}" if principal_arn else ""
    return "".join(difflib.unified_diff(
        json.dumps(current, indent=2, sort_keys=True).splitlines(keepends=True),
        json.dumps(suggested, indent=2, sort_keys=True).splitlines(keepends=True),
        fromfile=f"current{label}", tofile=f"suggested{label}",
    ))


# --- the whole analysis -------------------------------------------------------------------------

@dataclass
class PermissionsReport:
    """Everything the unused-permissions notebook shows, computed once."""

    snapshot_time: str
    unused_days: int
    inactive_days: int
    principals: list[Principal]
    principal_table: pd.DataFrame
    services: pd.DataFrame
    actions: pd.DataFrame
    used: pd.DataFrame
    comparison: pd.DataFrame
    risky: pd.DataFrame
    inactive: pd.DataFrame
    findings: pd.DataFrame
    caveats: tuple[str, ...] = CAVEATS

    def principal(self, arn: str) -> Principal:
        for p in self.principals:
            if p.arn == arn:
                return p
        raise PermissionsError(f"principal {arn!r} is not in this report")


def analyse(session: Any | None, snapshot: Snapshot | None, *, unused_days: int = 90, inactive_days: int = 90,
            accounts: Sequence[str] = (), include_trail_principals: bool = True, now: Any = None) -> PermissionsReport:
    """Run the whole unused-permissions analysis.

    ``session`` (CloudTrail) may be None for a snapshot-only report; ``snapshot`` may be None
    for a trail-only report (principals and grants rebuilt from ``policies_in_trail``).
    """
    if session is None and snapshot is None:
        raise PermissionsError("give a session (CloudTrail), an IAM snapshot, or both")
    _check_days(unused_days, "unused_days")
    _check_days(inactive_days, "inactive_days")
    listed = A.load_action_list()
    accounts = list(accounts or [])
    found = principals(snapshot, accounts) if snapshot is not None else []
    used = pd.DataFrame(columns=USED_COLUMNS)
    activity = None
    if session is not None:
        used = map_used(session.run("principal_actions_used"), listed)
        activity = session.run("principal_last_activity")
        if include_trail_principals:
            known = {p.arn for p in found}
            found += [p for p in trail_grants(session.run("policies_in_trail")) if p.arn not in known]
    if accounts:
        found = [p for p in found if p.account_id in accounts]
    services = service_last_accessed(snapshot, unused_days=unused_days, now=now, accounts=accounts) if snapshot else \
        service_last_accessed_empty()
    actions = action_last_accessed(snapshot, unused_days=unused_days, now=now, accounts=accounts) if snapshot else \
        pd.DataFrame(columns=["account_id", "principal_arn", "entity_type", "action", "last_accessed", "days_since",
                              "last_accessed_region", "status"])
    comparison = compare(found, used, services=services, action_list=listed)
    inactive = inactive_principals(found, snapshot, activity, inactive_days=inactive_days, now=now)
    when = _now(snapshot, now) if snapshot is not None else (_timestamp(now) if now is not None else
                                                               pd.Timestamp(session.end).tz_convert("UTC"))
    stamp = iso_z(when.to_pydatetime())
    report = PermissionsReport(
        snapshot_time=stamp, unused_days=unused_days, inactive_days=inactive_days, principals=found,
        principal_table=principal_table(found), services=services, actions=actions, used=used,
        comparison=comparison, risky=unused_risky_actions(comparison), inactive=inactive,
        findings=F.empty(),
    )
    report.findings = findings(report)
    return report


def service_last_accessed_empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["account_id", "principal_arn", "entity_type", "service_namespace", "service_name",
                                 "last_authenticated", "days_since", "last_authenticated_entity",
                                 "last_authenticated_region", "tracked_actions", "status"])


def findings(report: PermissionsReport) -> pd.DataFrame:
    """Findings in the shared columns: over-privileged principals and inactive principals.

    Not CloudTrail findings: first_seen/last_seen are the snapshot time, event_ids empty,
    event_count 0; extra columns say what is unused and why.
    """
    rows = []
    base = {"first_seen": report.snapshot_time, "last_seen": report.snapshot_time, "region": None,
            "access_key_id": None, "source_ip": None, "user_agent": None, "event_names": [], "event_count": 0,
            "event_ids": []}
    for row in report.comparison.to_dict("records"):
        if row["severity"] == "info":
            continue
        detail = []
        if row["unused_privilege_escalation"]:
            detail.append(f"unused privilege escalation: {', '.join(row['unused_privilege_escalation'][:10])}")
        if row["unused_data_access"]:
            detail.append(f"unused data access: {', '.join(row['unused_data_access'][:10])}")
        if row["wildcard_patterns"]:
            detail.append(f"wildcards: {', '.join(row['wildcard_patterns'][:10])}")
        if row["unused_services"]:
            detail.append(f"services not used in {report.unused_days} days (Access Advisor): "
                          f"{', '.join(row['unused_services'][:15])}")
        rows.append({**base, "detection": DETECTION_OVER_PRIVILEGED, "severity": row["severity"],
                     "account_id": row["account_id"], "principal_arn": row["principal_arn"],
                     "mitre": MITRE_OVER_PRIVILEGED, "risk": row["risk"], "unused_actions": row["unused_actions"],
                     "granted_actions": row["granted_actions"], "detail": "; ".join(detail) or "unused grants"})
    risky = {r["principal_arn"]: r["risk"] for r in report.comparison.to_dict("records")}
    for row in report.inactive.to_dict("records"):
        severity = "medium" if risky.get(row["principal_arn"]) == "privilege_escalation" else "low"
        rows.append({**base, "detection": DETECTION_INACTIVE, "severity": severity,
                     "account_id": row["account_id"], "principal_arn": row["principal_arn"], "mitre": MITRE_INACTIVE,
                     "risk": risky.get(row["principal_arn"]), "unused_actions": None, "granted_actions": None,
                     "detail": f"no activity in {report.inactive_days} days ({row['evidence']})"})
    if not rows:
        return F.empty()
    return F.sort(F.normalize(pd.DataFrame(rows)))


# --- display helpers (one call per notebook cell) ---------------------------------------------------

class _Text:
    """Plain text shown as preformatted HTML (diffs, policies), carrying the text itself."""

    def __init__(self, text: str, title: str = "") -> None:
        self.text, self.title = text, title

    def _repr_mimebundle_(self, include=None, exclude=None):
        heading = f"<h4>{html.escape(self.title)}</h4>" if self.title else ""
        return {"text/plain": self.text, "text/html": f"{heading}<pre>{html.escape(self.text)}</pre>"}

    def __str__(self) -> str:
        return self.text


def show_caveats(report: PermissionsReport | None = None) -> _Text:
    """The caveats every reader of an unused-permissions report must see."""
    return _Text("\n".join(f"- {c}" for c in (report.caveats if report else CAVEATS)), "Caveats")


def pick_principal(report: PermissionsReport, principal_arn: str = "") -> str:
    """``principal_arn`` if given (must be in the report), else the top-ranked over-privileged one."""
    if principal_arn:
        report.principal(principal_arn)
        return principal_arn
    flagged = report.comparison[report.comparison["severity"].ne("info")]
    if flagged.empty:
        raise PermissionsError("no over-privileged principal in this report; set focus_principal")
    return str(flagged.iloc[0]["principal_arn"])


def suggested_policy_diff(report: PermissionsReport, principal_arn: str = "") -> _Text:
    """Today's policy → the suggested least-privilege policy, as a unified diff."""
    arn = pick_principal(report, principal_arn)
    diff = policy_diff(current_policy(report.principal(arn)), suggested_policy(report.used, arn), principal_arn=arn)
    return _Text(diff or "(no change)", f"Suggested least-privilege policy for {arn}")


def unused_services(report: PermissionsReport) -> pd.DataFrame:
    """Access Advisor rows for granted services not used in the period (never used first)."""
    frame = report.services[report.services["status"].ne("used")]
    return frame.sort_values(["status", "principal_arn", "service_namespace"], kind="stable").reset_index(drop=True)
