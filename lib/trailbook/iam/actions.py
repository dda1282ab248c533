"""IAM actions: the action list per service prefix, CloudTrail event → IAM action, wildcard expansion.

The action list (``data/iam_actions.json.gz``) is derived offline from botocore's service
models, because the Service Authorization Reference is not installed with anything. Derivation
(``build_action_list``; rebuild with ``python -m trailbook.iam.actions --build``):

1. For every ``botocore/data/<service>/<version>/service-2.json`` the IAM prefix is
   ``metadata.signingName``, else ``metadata.endpointPrefix``, through ``SIGNING_RENAMES``
   (``monitoring`` → ``cloudwatch``, ``iotdata`` → ``iot``, ...). Services whose calls IAM
   does not authorise (the SSO portal, the SSO OIDC token service) are skipped.
2. Every operation name becomes an action, after the same renames CloudTrail event names get
   (``event_to_action``): S3's API names become IAM names (``ListBuckets`` →
   ``s3:ListAllMyBuckets``, ``ListObjectsV2`` → ``s3:ListBucket``), dated suffixes are cut
   (``UpdateFunctionCode20150331v2``), API Gateway's operations become its HTTP-verb actions.
3. ``PERMISSION_ONLY`` adds actions that exist only as permissions, with no API of that name
   (``iam:PassRole``, ``s3:GetObjectVersion``, ``sts:TagSession``, ...).

Limits, stated so nobody over-trusts it: the list is as complete as this botocore release
(1.44.x) and the hand-kept ``PERMISSION_ONLY``; permission-only actions not listed there are
missing, so ``NotAction`` and ``*`` expand to a subset of what AWS grants; a few services
share a signing name (Neptune and DocumentDB sign as ``rds``), so their operations pool under
one prefix; access levels (read/write/permissions) are not in botocore and are not derived.
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple

DATA_FILE = Path(__file__).resolve().parent / "data" / "iam_actions.json.gz"
FORMAT = "trailbook-iam-actions/1"

# botocore signing/endpoint name → IAM service prefix, where they differ.
SIGNING_RENAMES: dict[str, str] = {
    "monitoring": "cloudwatch",
    "email": "ses",
    "iotdata": "iot",
    "IoTSecuredTunneling": "iot",
}
# botocore signing names whose operations IAM policies do not govern (bearer-token APIs).
UNAUTHORISED_SIGNING_NAMES = frozenset({"awsssoportal", "sso-oauth"})
# CloudTrail eventSource host (minus ".amazonaws.com") → IAM prefix, where they differ and the
# botocore endpoint table does not already say so.
EVENT_SOURCE_RENAMES: dict[str, str] = {
    "monitoring": "cloudwatch",
    "email": "ses",
    "streams.dynamodb": "dynamodb",
    "api.ecr": "ecr",
    "signin.aws.amazon": "signin",
}

# S3 API/CloudTrail names → IAM action names (cloudtracker's EVENT_RENAMES, AWS S3 API docs
# "Permissions" sections). Several APIs share one permission (every multipart call is PutObject).
S3_RENAMES: dict[str, str] = {
    "ListBuckets": "ListAllMyBuckets",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListParts": "ListMultipartUploadParts",
    "HeadObject": "GetObject",
    "SelectObjectContent": "GetObject",
    "CopyObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "UploadPartCopy": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "DeleteObjects": "DeleteObject",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketCors": "PutBucketCORS",
    "GetBucketLifecycle": "GetLifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycle": "PutLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketReplication": "GetReplicationConfiguration",
    "PutBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketReplication": "PutReplicationConfiguration",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketTagging": "PutBucketTagging",
    "DeleteBucketPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    "GetBucketAnalyticsConfiguration": "GetAnalyticsConfiguration",
    "PutBucketAnalyticsConfiguration": "PutAnalyticsConfiguration",
    "DeleteBucketAnalyticsConfiguration": "PutAnalyticsConfiguration",
    "ListBucketAnalyticsConfigurations": "GetAnalyticsConfiguration",
    "GetBucketInventoryConfiguration": "GetInventoryConfiguration",
    "PutBucketInventoryConfiguration": "PutInventoryConfiguration",
    "DeleteBucketInventoryConfiguration": "PutInventoryConfiguration",
    "ListBucketInventoryConfigurations": "GetInventoryConfiguration",
    "GetBucketMetricsConfiguration": "GetMetricsConfiguration",
    "PutBucketMetricsConfiguration": "PutMetricsConfiguration",
    "DeleteBucketMetricsConfiguration": "PutMetricsConfiguration",
    "ListBucketMetricsConfigurations": "GetMetricsConfiguration",
    "GetBucketIntelligentTieringConfiguration": "GetIntelligentTieringConfiguration",
    "PutBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
    "DeleteBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
    "ListBucketIntelligentTieringConfigurations": "GetIntelligentTieringConfiguration",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
    "DeleteBucketWebsite": "DeleteBucketWebsite",
    "DeleteBucketPolicy": "DeleteBucketPolicy",
    "GetBucketAcl": "GetBucketAcl",
    # s3control (account level) signs as s3 too.
    "GetPublicAccessBlock": "GetAccountPublicAccessBlock",
    "PutPublicAccessBlock": "PutAccountPublicAccessBlock",
    "DeletePublicAccessBlock": "PutAccountPublicAccessBlock",
}

# Actions that exist only as permissions (no API operation of that name in botocore).
PERMISSION_ONLY: dict[str, tuple[str, ...]] = {
    "iam": ("PassRole",),
    "sts": ("TagSession", "SetSourceIdentity", "SetContext"),
    "s3": (
        "ListAllMyBuckets", "ListBucket", "ListBucketVersions", "ListBucketMultipartUploads",
        "ListMultipartUploadParts", "GetObjectVersion", "GetObjectVersionAcl", "GetObjectVersionTagging",
        "GetObjectVersionAttributes", "PutObjectVersionAcl", "PutObjectVersionTagging", "DeleteObjectVersion",
        "DeleteObjectVersionTagging", "BypassGovernanceRetention", "GetBucketCORS", "PutBucketCORS",
        "GetLifecycleConfiguration", "PutLifecycleConfiguration",
        "GetReplicationConfiguration", "PutReplicationConfiguration",
        "GetEncryptionConfiguration", "PutEncryptionConfiguration", "ReplicateObject", "ReplicateDelete",
        "ReplicateTags", "ObjectOwnerOverrideToBucketOwner",
    ),
    "lambda": ("InvokeFunctionUrl",),
    "execute-api": ("Invoke", "ManageConnections", "InvalidateCache"),
}

# Calls that need no IAM permission, so "used" must not ask for one.
NO_PERMISSION: frozenset[tuple[str, str]] = frozenset({
    ("sts", "GetCallerIdentity"),  # "No permissions are required to perform this operation."
    ("sts", "AssumeRoleWithSAML"),  # authorised by the role's trust policy, not by the caller
    ("sts", "AssumeRoleWithWebIdentity"),
})
NO_PERMISSION_PREFIXES = frozenset({"signin", "sso-oauth"})  # console sign-in and token events

_VERSION_SUFFIX = re.compile(r"(20\d{6}(v\d+)?|20\d{2}_\d{2}_\d{2})$")
_APIGATEWAY_VERBS = (("Get", "GET"), ("Create", "POST"), ("Import", "PUT"), ("Put", "PUT"),
                     ("Update", "PATCH"), ("Delete", "DELETE"), ("Flush", "DELETE"),
                     ("Generate", "POST"), ("Tag", "PUT"), ("Untag", "DELETE"), ("Test", "POST"))
_PREFIX = re.compile(r"^[a-zA-Z0-9*?][a-zA-Z0-9_.*?-]*$")
_ACTION_NAME = re.compile(r"^[A-Za-z0-9_*?.-]+$")

MappingKind = Literal["direct", "renamed", "version_suffix", "no_permission", "unlisted"]


class ActionListError(ValueError):
    """The shipped action list is missing or malformed, or an action pattern is invalid."""


class EventAction(NamedTuple):
    """A CloudTrail event's IAM action. ``action`` is None when the call needs no permission."""

    action: str | None
    kind: MappingKind


@dataclass(frozen=True)
class ActionList:
    """IAM actions per service prefix, with case-insensitive lookup (IAM action names are)."""

    services: Mapping[str, tuple[str, ...]]
    endpoint_prefixes: Mapping[str, str]
    botocore_version: str

    def __post_init__(self) -> None:
        canonical = {f"{p}:{a}".lower(): f"{p}:{a}" for p, names in self.services.items() for a in names}
        object.__setattr__(self, "_canonical", canonical)

    def canonical(self, action: str) -> str | None:
        """The listed spelling of an action, or None when it is not listed."""
        return self._canonical.get(action.lower())  # type: ignore[attr-defined]

    def __contains__(self, action: object) -> bool:
        return isinstance(action, str) and self.canonical(action) is not None

    def all_actions(self) -> frozenset[str]:
        return frozenset(self._canonical.values())  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self._canonical)  # type: ignore[attr-defined]


# --- building the list from botocore ----------------------------------------------------------

def _iam_prefix(metadata: Mapping[str, str]) -> str | None:
    name = metadata.get("signingName") or metadata.get("endpointPrefix")
    if not name or name in UNAUTHORISED_SIGNING_NAMES:
        return None
    return SIGNING_RENAMES.get(name, name)


def _api_to_action(prefix: str, name: str) -> str:
    """An API operation name as its IAM action name (no prefix)."""
    if prefix == "s3":
        return S3_RENAMES.get(name, name)
    if prefix == "apigateway":
        return next((verb for start, verb in _APIGATEWAY_VERBS if name.startswith(start)), "GET")
    return _VERSION_SUFFIX.sub("", name) or name


def build_action_list() -> dict:
    """The action-list document derived from the installed botocore (see the module docstring)."""
    import botocore
    import botocore.loaders

    loader = botocore.loaders.create_loader()
    services: dict[str, set[str]] = {}
    endpoints: dict[str, str] = {}
    for service in loader.list_available_services("service-2"):
        model = loader.load_service_model(service, "service-2")
        prefix = _iam_prefix(model["metadata"])
        if prefix is None:
            continue
        endpoint = model["metadata"].get("endpointPrefix")
        if endpoint and endpoint != prefix:
            endpoints.setdefault(endpoint, prefix)
        names = services.setdefault(prefix, set())
        names.update(_api_to_action(prefix, op) for op in model["operations"])
    for prefix, extra in PERMISSION_ONLY.items():
        services.setdefault(prefix, set()).update(extra)
    return {
        "format": FORMAT,
        "botocore_version": botocore.__version__,
        "derivation": "botocore service-2 models: signingName|endpointPrefix -> IAM prefix; "
                      "operation names renamed as CloudTrail event names are; plus PERMISSION_ONLY",
        "services": {p: sorted(n) for p, n in sorted(services.items()) if n},
        "endpoint_prefixes": dict(sorted(endpoints.items())),
    }


def write_action_list(path: Path = DATA_FILE) -> Path:
    """Build the list and write it gzip-compressed (mtime 0, so rebuilds are byte-identical)."""
    document = build_action_list()
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(document, separators=(",", ":"), sort_keys=False).encode()
    with open(path, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    return path


# --- reading the list ---------------------------------------------------------------------------

@lru_cache(maxsize=4)
def load_action_list(path: Path = DATA_FILE) -> ActionList:
    """The shipped action list (cached)."""
    try:
        document = json.loads(gzip.decompress(Path(path).read_bytes()))
    except FileNotFoundError:
        raise ActionListError(
            f"IAM action list {path} is missing; run python -m trailbook.iam.actions --build"
        ) from None
    except (OSError, ValueError) as error:
        raise ActionListError(f"IAM action list {path} is not gzip JSON: {error}") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ActionListError(f"IAM action list {path}: format is not {FORMAT!r}")
    return ActionList(
        services={p: tuple(names) for p, names in document["services"].items()},
        endpoint_prefixes=dict(document.get("endpoint_prefixes", {})),
        botocore_version=str(document.get("botocore_version", "?")),
    )


def _list(actions: ActionList | None) -> ActionList:
    return actions if actions is not None else load_action_list()


# --- CloudTrail event → IAM action ------------------------------------------------------------

def service_prefix(event_source: str, actions: ActionList | None = None) -> str:
    """The IAM prefix of a CloudTrail ``eventSource`` (``monitoring.amazonaws.com`` → ``cloudwatch``)."""
    if not isinstance(event_source, str) or not event_source.strip():
        raise ValueError(f"eventSource must be a non-empty string, got {event_source!r}")
    host = event_source.strip().lower()
    for suffix in (".amazonaws.com", ".amazonaws.com.cn", ".api.aws"):
        if host.endswith(suffix):
            host = host[: -len(suffix)]
            break
    if host in EVENT_SOURCE_RENAMES:
        return EVENT_SOURCE_RENAMES[host]
    listed = _list(actions)
    if host in listed.services:
        return host
    return listed.endpoint_prefixes.get(host, host)


def event_to_action(event_source: str, event_name: str, actions: ActionList | None = None) -> EventAction:
    """The IAM action a CloudTrail event needed, and how it was found.

    kind: ``direct`` (same name), ``renamed`` (S3 legacy, API Gateway verb), ``version_suffix``
    (``UpdateFunctionCode20150331v2``), ``no_permission`` (action None: sts:GetCallerIdentity,
    console sign-in events), ``unlisted`` (not in the action list; returned as prefix:EventName,
    which is right for most services but unverified).
    """
    if not isinstance(event_name, str) or not event_name.strip():
        raise ValueError(f"eventName must be a non-empty string, got {event_name!r}")
    listed = _list(actions)
    prefix = service_prefix(event_source, listed)
    name = event_name.strip()
    if prefix in NO_PERMISSION_PREFIXES or (prefix, name) in NO_PERMISSION:
        return EventAction(None, "no_permission")
    known = listed.canonical(f"{prefix}:{name}")
    if prefix == "s3" and name in S3_RENAMES:
        return EventAction(f"s3:{S3_RENAMES[name]}", "renamed" if S3_RENAMES[name] != name else "direct")
    if prefix == "apigateway":
        return EventAction(f"apigateway:{_api_to_action(prefix, name)}", "renamed")
    if known:
        return EventAction(known, "direct")
    stripped = _VERSION_SUFFIX.sub("", name)
    if stripped and stripped != name:
        return EventAction(listed.canonical(f"{prefix}:{stripped}") or f"{prefix}:{stripped}", "version_suffix")
    return EventAction(f"{prefix}:{name}", "unlisted")


# --- wildcard expansion -------------------------------------------------------------------------

def split_action(pattern: str) -> tuple[str, str]:
    """``prefix:Name`` → (prefix, Name); ``*`` → (``*``, ``*``). Anything else raises."""
    if not isinstance(pattern, str):
        raise ActionListError(f"an IAM action must be a string, got {type(pattern).__name__}: {pattern!r}")
    text = pattern.strip()
    if text == "*":
        return "*", "*"
    prefix, sep, name = text.partition(":")
    if not sep or not _PREFIX.match(prefix) or not name or not _ACTION_NAME.match(name):
        raise ActionListError(f"not an IAM action or action pattern (service:Action): {pattern!r}")
    return prefix.lower(), name


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def action_matches(pattern: str, action: str) -> bool:
    """IAM's rule: case-insensitive, ``*`` any run of characters, ``?`` one character."""
    split_action(pattern)
    return fnmatch.fnmatchcase(action.lower(), pattern.strip().lower())


def expand_action(pattern: str, actions: ActionList | None = None) -> frozenset[str]:
    """Every listed action a pattern grants. A literal action not in the list is kept as given
    (policies may name actions newer than this list); a wildcard matching nothing gives an
    empty set, which callers report as unmatched rather than drop."""
    prefix, name = split_action(pattern)
    listed = _list(actions)
    if not has_wildcard(pattern):
        return frozenset({listed.canonical(f"{prefix}:{name}") or f"{prefix}:{name}"})
    wanted = pattern.strip().lower()
    prefixes = [p for p in listed.services if fnmatch.fnmatchcase(p, prefix)]
    return frozenset(
        f"{p}:{a}" for p in prefixes for a in listed.services[p] if fnmatch.fnmatchcase(f"{p}:{a}".lower(), wanted)
    )


def expand_actions(patterns: Iterable[str], actions: ActionList | None = None) -> frozenset[str]:
    listed = _list(actions)
    out: set[str] = set()
    for pattern in patterns:
        out |= expand_action(pattern, listed)
    return frozenset(out)


def expand_not_action(patterns: Iterable[str], actions: ActionList | None = None) -> frozenset[str]:
    """What ``NotAction`` allows: every listed action not matched. A subset of AWS's answer,
    since actions missing from the list are granted by AWS but cannot be named here."""
    listed = _list(actions)
    excluded = expand_actions(patterns, listed)
    return listed.all_actions() - excluded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build or inspect trailbook's IAM action list.")
    parser.add_argument("--build", action="store_true", help=f"rebuild {DATA_FILE} from the installed botocore")
    args = parser.parse_args(argv)
    if args.build:
        path = write_action_list()
        load_action_list.cache_clear()
        listed = load_action_list(path)
        print(f"wrote {path} ({path.stat().st_size:,} bytes): {len(listed.services)} prefixes, {len(listed):,} actions")
    else:
        listed = load_action_list()
        print(f"{len(listed.services)} prefixes, {len(listed):,} actions (botocore {listed.botocore_version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
