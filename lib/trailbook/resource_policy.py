"""Who outside the organization a resource policy or grant lets in: IAM Access Analyzer's question.

One parser for every resource type. A CloudTrail event that sets a resource policy or a grant
(S3, KMS, SQS, SNS, Lambda, ECR, Secrets Manager, IAM role trust, Glacier, EFS, OpenSearch,
Backup) is read into policy statements, and each Allow statement's principals are classified
against the trusted set (the organization's accounts and organization ids):

- ``public``: everyone (``"*"``, ``{"AWS": "*"}``, ``NotPrincipal`` with Allow, an S3 ACL for
  AllUsers or AuthenticatedUsers, a function URL without auth) and no limiting condition.
- ``external``: a foreign account, a foreign organization id, or a principal that is not a
  known AWS service.
- ``unverified``: limited, but by something trailbook cannot check (an organization id when
  yours is not given, a VPC, endpoint or IP condition, a canonical user id, a web identity
  provider without a condition).

Trusted and dropped: your accounts, your organization, and AWS service principals unless a
condition names a foreign account. Deny statements grant nothing. Negated and ``...IfExists``
condition operators do not limit (absent keys pass them). Policy text is hostile input: anything
that is not a policy yields no statements, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PUBLIC, EXTERNAL, UNVERIFIED = "public", "external", "unverified"
LEVELS = (PUBLIC, EXTERNAL, UNVERIFIED)  # most severe first
SEVERITY = {PUBLIC: "critical", EXTERNAL: "high", UNVERIFIED: "medium"}

_ACCOUNT = re.compile(r"^\d{12}$")
_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|\*)?:")
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_S3_PUBLIC_GROUPS = ("acs.amazonaws.com/groups/global/AllUsers", "acs.amazonaws.com/groups/global/AuthenticatedUsers")
_S3_PUBLIC_CANNED = {"public-read", "public-read-write", "authenticated-read"}

# Condition keys that limit who may use a grant, by what their values name.
_ACCOUNT_KEYS = {"aws:principalaccount", "aws:sourceaccount", "aws:sourceowner", "kms:calleraccount"}
_ORG_KEYS = {"aws:principalorgid", "aws:sourceorgid", "aws:resourceorgid"}
_ORG_PATH_KEYS = {"aws:principalorgpaths", "aws:sourceorgpaths"}
_ARN_KEYS = {"aws:principalarn", "aws:sourcearn"}
_NETWORK_KEYS = {"aws:sourcevpc", "aws:sourcevpce", "aws:sourceip"}


@dataclass(frozen=True)
class Trust:
    """Who is inside: account ids and organization ids."""

    accounts: frozenset[str] = frozenset()
    org_ids: frozenset[str] = frozenset()

    @classmethod
    def of(cls, accounts: Iterable[str] = (), org_ids: Iterable[str] = ()) -> Trust:
        return cls(frozenset(str(a) for a in accounts if a), frozenset(str(o) for o in org_ids if o))


@dataclass(frozen=True)
class Grant:
    """One principal let in from outside, and the statement that does it."""

    level: str
    principal: str
    actions: tuple[str, ...]
    reason: str
    statement: str  # the statement as compact JSON: the exact grant

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "principal": self.principal, "actions": list(self.actions),
                "reason": self.reason, "statement": self.statement}


def worst(grants: Iterable[Grant]) -> str | None:
    levels = {g.level for g in grants}
    return next((level for level in LEVELS if level in levels), None)


# --- policy documents --------------------------------------------------------------------


def load_document(value: Any) -> dict[str, Any] | None:
    """A policy document from an object or JSON text (possibly URL-encoded, as IAM logs it)."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        from urllib.parse import unquote

        text = unquote(text)
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def statements(document: Any) -> list[dict[str, Any]]:
    """The statements of a policy document, as a list of objects (a single object is allowed)."""
    policy = load_document(document)
    if policy is None:
        return []
    found = policy.get("Statement", [])
    found = [found] if isinstance(found, Mapping) else found
    return [dict(s) for s in found if isinstance(s, Mapping)] if isinstance(found, list) else []


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _principals(principal: Any) -> list[tuple[str, str]]:
    """(kind, value) pairs of a Principal element: "*", or a map of AWS/Service/Federated/CanonicalUser."""
    if isinstance(principal, str):
        return [("AWS", principal)]
    if isinstance(principal, Mapping):
        return [(str(kind), value) for kind, values in principal.items() for value in _as_list(values)]
    return [("AWS", value) for value in _as_list(principal)]


def account_of(value: str) -> str | None:
    """The account id in a 12-digit id or an ARN, or None (wildcards and account-less ARNs)."""
    if _ACCOUNT.match(value):
        return value
    match = _ARN_ACCOUNT.match(value)
    return match.group(1) if match and match.group(1) and match.group(1) != "*" else None


# --- conditions ------------------------------------------------------------------------


def _limiting_conditions(condition: Any) -> list[tuple[str, list[str]]]:
    """(key, values) of conditions that must hold: positive operators only, no IfExists."""
    out: list[tuple[str, list[str]]] = []
    if not isinstance(condition, Mapping):
        return out
    for operator, block in condition.items():
        op = str(operator).lower()
        if "not" in op.split(":")[-1] or op.endswith("ifexists") or op.startswith("forallvalues:") \
                or op in ("null", "bool"):
            continue
        if not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            out.append((str(key).lower(), _as_list(values)))
    return out


def _condition_verdict(condition: Any, trust: Trust) -> tuple[str, str] | None:
    """Trusted ("trusted", why), limited to outsiders (EXTERNAL/UNVERIFIED, why), or None: no limit."""
    verdicts: list[tuple[str, str]] = []
    for key, values in _limiting_conditions(condition):
        if not values or any(v in ("*", "") for v in values):
            continue
        if key in _ACCOUNT_KEYS or key in _ARN_KEYS:
            accounts = [account_of(v) for v in values]
            if None in accounts:
                verdicts.append((UNVERIFIED, f"{key} {values} names no checkable account"))
            elif all(a in trust.accounts for a in accounts):
                verdicts.append(("trusted", f"{key} names your accounts"))
            else:
                foreign = sorted({a for a in accounts if a and a not in trust.accounts})
                verdicts.append((EXTERNAL, f"{key} names foreign account(s) {foreign}"))
        elif key in _ORG_KEYS or key in _ORG_PATH_KEYS:
            orgs = [v.split("/")[0] for v in values]
            if all(o in trust.org_ids for o in orgs):
                verdicts.append(("trusted", f"{key} names your organization"))
            elif not trust.org_ids:
                verdicts.append((UNVERIFIED, f"{key} {orgs}: your organization id is not known (trusted_org_ids)"))
            else:
                verdicts.append((EXTERNAL, f"{key} names foreign organization(s) {sorted(set(orgs) - trust.org_ids)}"))
        elif key in _NETWORK_KEYS:
            if key == "aws:sourceip" and any(v.endswith("/0") for v in values):
                continue
            verdicts.append((UNVERIFIED, f"{key} {values} limits the network; trailbook cannot check whose it is"))
    if not verdicts:
        return None
    # All conditions must hold: one naming only you makes the grant yours; else a foreign one
    # says who gets in.
    for level in ("trusted", EXTERNAL, UNVERIFIED):
        for verdict in verdicts:
            if verdict[0] == level:
                return verdict
    return verdicts[0]


# --- principals ------------------------------------------------------------------------


def _classify_principal(kind: str, value: str, condition: Any, trust: Trust) -> tuple[str, str] | None:
    """(level, reason) for one principal of an Allow statement, or None when it is trusted."""
    limit = _condition_verdict(condition, trust)
    if limit and limit[0] == "trusted":
        return None
    kind = kind.lower()
    if value == "*":
        return limit or (PUBLIC, "everyone, with no limiting condition")
    if kind == "service":
        if _SERVICE.match(value):
            return limit if limit and limit[0] == EXTERNAL else None
        return limit or (EXTERNAL, f"{value} is not an AWS service principal")
    if kind == "canonicaluser":
        return limit or (UNVERIFIED, "a canonical user id; trailbook cannot map it to an account")
    if kind == "federated":
        account = account_of(value)
        if account and account in trust.accounts and _limiting_conditions(condition):
            return None
        where = "an identity provider" if account else "a public identity provider"
        return limit or (UNVERIFIED, f"{value}: {where}; check the audience and subject conditions")
    account = account_of(value)
    if account is None:
        return limit or (UNVERIFIED, f"{value} is not an account or ARN trailbook can check")
    if account in trust.accounts:
        return None
    return limit or (EXTERNAL, f"account {account} is outside your organization")


def grants_of_statements(found: Iterable[Mapping[str, Any]], trust: Trust) -> list[Grant]:
    """Every principal that an Allow statement lets in from outside the trusted set."""
    grants: list[Grant] = []
    for statement in found:
        if str(statement.get("Effect", "")).lower() != "allow":
            continue
        actions = tuple(_as_list(statement.get("Action")) or _as_list(statement.get("NotAction")))
        text = json.dumps(statement, sort_keys=True, separators=(",", ":"), default=str)
        condition = statement.get("Condition")
        if "NotPrincipal" in statement:
            limit = _condition_verdict(condition, trust)
            if not (limit and limit[0] == "trusted"):
                level, reason = limit or (PUBLIC, "NotPrincipal with Allow lets in everyone not listed")
                grants.append(Grant(level, "*", actions, reason, text))
            continue
        for kind, value in _principals(statement.get("Principal")):
            verdict = _classify_principal(kind, value, condition, trust)
            if verdict:
                grants.append(Grant(verdict[0], value if kind.upper() == "AWS" else f"{kind}:{value}",
                                    actions, verdict[1], text))
    return grants


def grants_of_policy(document: Any, trust: Trust) -> list[Grant]:
    return grants_of_statements(statements(document), trust)


# --- CloudTrail events -------------------------------------------------------------------

# (eventSource, eventName) -> (resource type, where the policy sits, where the resource name sits).
# A path is a tuple of keys inside requestParameters; the first that holds a value wins.
POLICY_EVENTS: dict[tuple[str, str], tuple[str, tuple[tuple[str, ...], ...], tuple[str, ...]]] = {
    ("s3.amazonaws.com", "PutBucketPolicy"): ("s3_bucket", (("bucketPolicy",), ("policy",)), ("bucketName",)),
    ("s3.amazonaws.com", "PutAccessPointPolicy"): (
        "s3_access_point", (("PutAccessPointPolicyRequest", "Policy"), ("policy",)), ("name",)),
    ("kms.amazonaws.com", "PutKeyPolicy"): ("kms_key", (("policy",),), ("keyId",)),
    ("kms.amazonaws.com", "CreateKey"): ("kms_key", (("policy",),), ("keyId",)),
    ("sqs.amazonaws.com", "SetQueueAttributes"): ("sqs_queue", (("attributes", "Policy"),), ("queueUrl",)),
    ("sqs.amazonaws.com", "CreateQueue"): ("sqs_queue", (("attributes", "Policy"),), ("queueName",)),
    ("sns.amazonaws.com", "CreateTopic"): ("sns_topic", (("attributes", "Policy"),), ("name",)),
    ("ecr.amazonaws.com", "SetRepositoryPolicy"): ("ecr_repository", (("policyText",),), ("repositoryName",)),
    ("secretsmanager.amazonaws.com", "PutResourcePolicy"): (
        "secretsmanager_secret", (("resourcePolicy",),), ("secretId",)),
    ("iam.amazonaws.com", "UpdateAssumeRolePolicy"): ("iam_role", (("policyDocument",),), ("roleName",)),
    ("iam.amazonaws.com", "CreateRole"): ("iam_role", (("assumeRolePolicyDocument",),), ("roleName",)),
    ("glacier.amazonaws.com", "SetVaultAccessPolicy"): ("glacier_vault", (("policy", "policy"), ("policy",)),
                                                        ("vaultName",)),
    ("elasticfilesystem.amazonaws.com", "PutFileSystemPolicy"): ("efs_file_system", (("policy",),),
                                                                 ("fileSystemId",)),
    ("backup.amazonaws.com", "PutBackupVaultAccessPolicy"): ("backup_vault", (("policy",),), ("backupVaultName",)),
    **{("es.amazonaws.com", name): ("opensearch_domain", (("accessPolicies",),), ("domainName",))
       for name in ("CreateDomain", "UpdateDomainConfig", "CreateElasticsearchDomain",
                    "UpdateElasticsearchDomainConfig")},
}
# Grants that are not policy documents: each is turned into the statement it amounts to.
GRANT_EVENTS = {
    ("s3.amazonaws.com", "PutBucketAcl"): "s3_bucket",
    ("s3.amazonaws.com", "PutObjectAcl"): "s3_object",
    ("sns.amazonaws.com", "SetTopicAttributes"): "sns_topic",
    ("sns.amazonaws.com", "AddPermission"): "sns_topic",
    ("sqs.amazonaws.com", "AddPermission"): "sqs_queue",
    ("kms.amazonaws.com", "CreateGrant"): "kms_key",
    ("lambda.amazonaws.com", "AddPermission"): "lambda_function",
    ("lambda.amazonaws.com", "AddLayerVersionPermission"): "lambda_layer",
    ("lambda.amazonaws.com", "CreateFunctionUrlConfig"): "lambda_function",
    ("lambda.amazonaws.com", "UpdateFunctionUrlConfig"): "lambda_function",
}
_RESOURCE_KEYS = ("bucketName", "key", "topicArn", "queueUrl", "keyId", "functionName", "layerName")
# Lambda logs versioned names: AddPermission20150331v2, CreateFunctionUrlConfig20211031, ...
_API_VERSION = re.compile(r"\d{8}(v\d+)?$")


def event_names() -> list[tuple[str, str]]:
    """Every (eventSource, eventName) this module reads; the detections' SQL selects these."""
    return sorted(set(POLICY_EVENTS) | set(GRANT_EVENTS))


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    """Follow keys; a nested object may arrive as JSON text (Lake's requestParameters is a map of text)."""
    for key in path:
        if isinstance(data, str):
            data = load_document(data)
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _statement(principal: Any, action: Any, condition: Mapping[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = dict(condition)
    return statement


def _s3_acl_statements(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for canned in _as_list(params.get("x-amz-acl")):
        if canned in _S3_PUBLIC_CANNED:
            found.append(_statement("*", f"s3:acl:{canned}"))
    for header, value in params.items():
        if str(header).startswith("x-amz-grant-"):
            for grantee in ",".join(_as_list(value)).split(","):
                if any(group in grantee for group in _S3_PUBLIC_GROUPS):
                    found.append(_statement("*", f"s3:acl:{header[len('x-amz-grant-'):]}"))
    policy = params.get("AccessControlPolicy")
    owner = str(_dig(policy, ("Owner", "ID")) or "")
    grants = _dig(policy, ("AccessControlList", "Grant"))
    for grant in [grants] if isinstance(grants, Mapping) else grants if isinstance(grants, list) else []:
        if not isinstance(grant, Mapping) or not isinstance(grant.get("Grantee"), Mapping):
            continue
        grantee, permission = grant["Grantee"], f"s3:acl:{grant.get('Permission', '')}"
        if any(group in str(grantee.get("URI", "")) for group in _S3_PUBLIC_GROUPS):
            found.append(_statement("*", permission))
        elif grantee.get("ID") and str(grantee["ID"]) != owner:
            found.append(_statement({"CanonicalUser": str(grantee["ID"])}, permission))
    return found


def _grant_statements(source: str, name: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The statements a grant-style call amounts to."""
    if source == "s3.amazonaws.com":
        return _s3_acl_statements(params)
    if (source, name) == ("sns.amazonaws.com", "SetTopicAttributes"):
        is_policy = str(params.get("attributeName", "")).lower() == "policy"
        return statements(params.get("attributeValue")) if is_policy else []
    if name == "AddPermission" and source in ("sns.amazonaws.com", "sqs.amazonaws.com"):
        accounts = _as_list(params.get("aWSAccountId") or params.get("aWSAccountIds"))
        action = _as_list(params.get("actionName") or params.get("actions"))
        return [_statement({"AWS": account}, action) for account in accounts]
    if source == "kms.amazonaws.com":
        grantee = params.get("granteePrincipal")
        return [_statement({"AWS": str(grantee)}, _as_list(params.get("operations")))] if grantee else []
    if name in ("CreateFunctionUrlConfig", "UpdateFunctionUrlConfig"):
        public = str(params.get("authType", "")).upper() == "NONE"
        return [_statement("*", "lambda:InvokeFunctionUrl")] if public else []
    condition: dict[str, dict[str, str]] = {}
    for key, condition_key in (("sourceAccount", "aws:SourceAccount"), ("sourceArn", "aws:SourceArn"),
                               ("principalOrgID", "aws:PrincipalOrgID"), ("organizationId", "aws:PrincipalOrgID")):
        if params.get(key):
            condition.setdefault("StringEquals", {})[condition_key] = str(params[key])
    principal = params.get("principal")
    if not principal:
        return []
    kind = "Service" if _SERVICE.match(str(principal)) else "AWS"
    return [_statement({kind: str(principal)}, params.get("action"), condition)]


def grants_of_event(source: str, name: str, request_parameters: Any, trust: Trust) -> tuple[str, str, list[Grant]]:
    """(resource type, resource name, grants to outsiders) for one CloudTrail event."""
    name = _API_VERSION.sub("", name or "")
    params = load_document(request_parameters) or {}
    resource_name = next((str(params[k]) for k in _RESOURCE_KEYS if params.get(k)), "")
    if (source, name) in POLICY_EVENTS:
        kind, paths, name_keys = POLICY_EVENTS[(source, name)]
        document = next((v for v in (_dig(params, path) for path in paths) if v), None)
        resource_name = next((str(params[k]) for k in name_keys if params.get(k)), resource_name)
        return kind, resource_name, grants_of_policy(document, trust)
    grant_kind = GRANT_EVENTS.get((source, name))
    if grant_kind is None:
        return "", resource_name, []
    return grant_kind, resource_name, grants_of_statements(_grant_statements(source, name, params), trust)
