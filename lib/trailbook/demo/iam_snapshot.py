"""Write the demo's IAM snapshot (format trailbook-iam-snapshot/1), consistent with the events.

Last-used dates of passwords, keys, services and actions come from what the events did (see
`usage.Usage`), plus each entity's use before the event window; policies, keys and users are
the world's, after the incidents changed it. Shapes follow botocore responses.

MFA: every user with MFA has a virtual device (``virtual_mfa_devices.json``). Roots with MFA use
a hardware device, which ListVirtualMFADevices does not list, so CIS 1.6 passes for them; prod's
root has no MFA at all (the ``root_without_mfa`` plant), so 1.5 and 1.6 both fail there.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import random
from pathlib import Path
from typing import Any

import orjson

from . import ids
from .catalog import SERVICE_NAMES, TRACKED_SERVICES, actions_of
from .usage import Usage
from .window import SNAPSHOT_TIME, iso, iso_offset
from .world import AWS_MANAGED_DOCS, AWS_MANAGED_IDS, AWS_MANAGED_NAMES, SECURITY, Account, Group, Role, User, World

FORMAT = "trailbook-iam-snapshot/1"
CSV_HEADER = [
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
    "password_next_rotation", "mfa_active", "access_key_1_active", "access_key_1_last_rotated",
    "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service", "cert_1_active", "cert_1_last_rotated",
    "cert_2_active", "cert_2_last_rotated",
]


def _dump(path: Path, data: Any) -> None:
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


def write_snapshot(folder: Path, world: World, usage: Usage, posture_facts: dict[str, Any],
                   seed: int) -> dict[str, Any]:
    """Write `folder` (snapshot.json + one folder per account); returns snapshot.json's content."""
    rng = random.Random(f"trailbook-demo:{seed}:iam")
    folder.mkdir(parents=True, exist_ok=True)
    for account in world.accounts.values():
        out = folder / account.id
        out.mkdir(exist_ok=True)
        (out / "credential_report.csv").write_bytes(credential_report(account, usage).encode())
        _dump(out / "credential_report.json", {"GeneratedTime": iso(SNAPSHOT_TIME - 240), "ReportFormat": "text/csv"})
        _dump(out / "authorization_details.json", authorization_details(account, usage))
        _dump(out / "service_last_accessed.json", service_last_accessed(account, usage, rng))
        _dump(out / "access_keys.json", access_keys(account, usage))
        _dump(out / "virtual_mfa_devices.json", virtual_mfa_devices(account))
        _dump(out / "posture.json", posture(account, posture_facts, rng))
    manifest = {"format": FORMAT, "collected_at": iso(SNAPSHOT_TIME), "accounts": list(world.accounts),
                "source": "demo", "errors": []}
    _dump(folder / "snapshot.json", manifest)
    return manifest


# --- credential report ---------------------------------------------------------------------------------

def _key_last_used(key, usage: Usage) -> tuple[int, str, str] | None:
    return usage.keys.get(key.id) or key.prior_use


def credential_report(account: Account, usage: Usage) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    root_arn = f"arn:aws:iam::{account.id}:root"
    root_used = usage.passwords.get(root_arn) or account.root_prior_password_use
    writer.writerow(["<root_account>", root_arn, iso_offset(account.root_created), "not_supported",
                     iso_offset(root_used) if root_used else "no_information", "not_supported", "not_supported",
                     _bool(account.root_mfa), "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "N/A", "N/A", "N/A",
                     "false", "N/A", "false", "N/A"])
    for user in sorted(account.users.values(), key=lambda u: u.name):
        if user.password:
            used = usage.passwords.get(user.arn) or user.password_prior_use
            # a password never changed was set when the user was made
            changed = user.password_changed if user.password_changed is not None else user.created
            password = ["true", iso_offset(used) if used else "no_information", iso_offset(changed), "N/A"]
        else:
            password = ["false", "N/A", "N/A", "N/A"]
        keys: list[str] = []
        for key in (sorted(user.keys, key=lambda k: k.created) + [None, None])[:2]:
            if key is None:
                keys += ["false", "N/A", "N/A", "N/A", "N/A"]
                continue
            last = _key_last_used(key, usage)
            keys += [_bool(key.status == "Active"), iso_offset(key.created)]
            keys += [iso_offset(last[0]), last[2], last[1]] if last else ["N/A", "N/A", "N/A"]
        writer.writerow([user.name, user.arn, iso_offset(user.created), *password, _bool(user.mfa), *keys,
                         "false", "N/A", "false", "N/A"])
    return buf.getvalue()


def _bool(value: bool) -> str:
    return "true" if value else "false"


# --- authorization details -----------------------------------------------------------------------------

def _attached(arns: list[str], account: Account) -> list[dict]:
    by_arn = {p.arn: p.name for p in account.policies.values()}
    return [{"PolicyName": by_arn.get(arn) or AWS_MANAGED_NAMES[arn], "PolicyArn": arn} for arn in arns]


def _inline(policies: dict[str, dict]) -> list[dict]:
    return [{"PolicyName": name, "PolicyDocument": document} for name, document in sorted(policies.items())]


def authorization_details(account: Account, usage: Usage) -> dict[str, Any]:
    users = [{
        "Path": "/", "UserName": u.name, "UserId": u.user_id, "Arn": u.arn, "CreateDate": iso(u.created),
        "UserPolicyList": _inline(u.inline), "GroupList": list(u.groups),
        "AttachedManagedPolicies": _attached(u.attached, account), "Tags": [],
    } for u in sorted(account.users.values(), key=lambda u: u.name)]
    groups = [{
        "Path": "/", "GroupName": g.name, "GroupId": g.group_id, "Arn": g.arn, "CreateDate": iso(g.created),
        "GroupPolicyList": _inline(g.inline), "AttachedManagedPolicies": _attached(g.attached, account),
    } for g in sorted(account.groups.values(), key=lambda g: g.name)]
    roles = []
    for r in sorted(account.roles.values(), key=lambda r: r.name):
        role: dict[str, Any] = {
            "Path": r.path, "RoleName": r.name, "RoleId": r.role_id, "Arn": r.arn, "CreateDate": iso(r.created),
            "AssumeRolePolicyDocument": r.trust, "InstanceProfileList": [], "RolePolicyList": _inline(r.inline),
            "AttachedManagedPolicies": _attached(r.attached, account), "Tags": [],
        }
        if r.instance_profile:
            role["InstanceProfileList"] = [{
                "Path": "/", "InstanceProfileName": r.name, "InstanceProfileId": "AIPA" + r.role_id[4:],
                "Arn": f"arn:aws:iam::{account.id}:instance-profile/{r.name}", "CreateDate": iso(r.created),
                "Roles": [{"Path": r.path, "RoleName": r.name, "RoleId": r.role_id, "Arn": r.arn,
                           "CreateDate": iso(r.created), "AssumeRolePolicyDocument": r.trust}],
            }]
        last = usage.roles.get(r.arn) or max(((t, region) for t, region, _ in r.prior_usage.values()), default=None)
        role["RoleLastUsed"] = {"LastUsedDate": iso(last[0]), "Region": last[1]} if last else {}
        roles.append(role)

    attachments: dict[str, int] = {}
    entities: list[User | Group | Role] = [*account.users.values(), *account.groups.values(), *account.roles.values()]
    for entity in entities:
        for arn in entity.attached:
            attachments[arn] = attachments.get(arn, 0) + 1
    policies = []
    for p in sorted(account.policies.values(), key=lambda p: p.name):
        policies.append({
            "PolicyName": p.name, "PolicyId": p.policy_id, "Arn": p.arn, "Path": "/", "DefaultVersionId": "v2",
            "AttachmentCount": attachments.get(p.arn, 0), "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
            "Description": p.description, "CreateDate": iso(p.created), "UpdateDate": iso(p.updated),
            "PolicyVersionList": [{"Document": p.document, "VersionId": "v2", "IsDefaultVersion": True,
                                   "CreateDate": iso(p.updated)}],
        })
    for arn in sorted(a for a in attachments if a.startswith("arn:aws:iam::aws:")):
        created = 1423000000
        policies.append({
            "PolicyName": AWS_MANAGED_NAMES[arn], "PolicyId": AWS_MANAGED_IDS[arn], "Arn": arn,
            "Path": "/aws-service-role/" if "aws-service-role" in arn else "/", "DefaultVersionId": "v1",
            "AttachmentCount": attachments[arn], "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
            "CreateDate": iso(created), "UpdateDate": iso(created),
            "PolicyVersionList": [{"Document": {"Version": "2012-10-17", "Statement": AWS_MANAGED_DOCS[arn]},
                                   "VersionId": "v1", "IsDefaultVersion": True, "CreateDate": iso(created)}],
        })
    return {"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies}


# --- Access Advisor ------------------------------------------------------------------------------------

def _documents(entity: User | Role | Group, account: Account) -> list[dict]:
    docs = list(entity.inline.values())
    by_arn = {p.arn: p.document for p in account.policies.values()}
    for arn in entity.attached:
        docs.append(by_arn.get(arn) or {"Statement": AWS_MANAGED_DOCS[arn]})
    if isinstance(entity, User):
        for name in entity.groups:
            docs.extend(_documents(account.groups[name], account))
    return docs


def _granted(docs: list[dict]) -> dict[str, set[str]]:
    """Namespace → allowed IAM action names (catalog actions matching the patterns)."""
    patterns: dict[str, list[str]] = {}
    for document in docs:
        for statement in document.get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action", [])
            for action in [actions] if isinstance(actions, str) else actions:
                if action == "*":
                    for ns in SERVICE_NAMES:
                        patterns.setdefault(ns, []).append("*")
                else:
                    ns, _, name = action.partition(":")
                    if ns in SERVICE_NAMES:
                        patterns.setdefault(ns, []).append(name)
    granted: dict[str, set[str]] = {}
    for ns, pats in patterns.items():
        known = actions_of(ns)
        names = {a for a in known for p in pats if fnmatch.fnmatchcase(a.lower(), p.lower())}
        names |= {p for p in pats if "*" not in p}
        granted[ns] = names
    return granted


def _uses(arn: str, prior: dict, usage: Usage, ns: str) -> tuple[tuple[int, str] | None, dict[str, tuple[int, str]]]:
    """(last service use, {action: last use}) of one user or role, prior history included."""
    service = usage.services.get((arn, ns))
    actions = {a: v for (e, n, a), v in usage.actions.items() if e == arn and n == ns}
    if ns in prior:
        t, region, names = prior[ns]
        if service is None or t > service[0]:
            service = (t, region)
        for name in names:
            if name not in actions or t > actions[name][0]:
                actions[name] = (t, region)
    return service, actions


def service_last_accessed(account: Account, usage: Usage, rng: random.Random) -> dict[str, Any]:
    users = sorted(account.users.values(), key=lambda u: u.name)
    roles = sorted(account.roles.values(), key=lambda r: r.name)
    groups = sorted(account.groups.values(), key=lambda g: g.name)
    principals: list[User | Role] = [*users, *roles]
    entities: list[tuple[str, list[dict], list[User | Role]]] = []
    for u in users:
        entities.append((u.arn, _documents(u, account), [u]))
    for r in roles:
        entities.append((r.arn, _documents(r, account), [r]))
    for g in groups:
        entities.append((g.arn, _documents(g, account), [u for u in users if g.name in u.groups]))
    for p in sorted(account.policies.values(), key=lambda p: p.name):
        holders: list[User | Role] = [e for e in principals if p.arn in e.attached]
        holders += [u for g in groups if p.arn in g.attached for u in users if g.name in u.groups and u not in holders]
        entities.append((p.arn, [p.document], holders))

    out: dict[str, Any] = {}
    created = SNAPSHOT_TIME + 30
    for arn, docs, holders in entities:
        services = []
        for ns, allowed in sorted(_granted(docs).items(), key=lambda kv: SERVICE_NAMES[kv[0]]):
            last, last_entity, who = None, None, 0
            action_last: dict[str, tuple[int, str, str]] = {}
            for holder in holders:
                service, actions = _uses(holder.arn, holder.prior_usage, usage, ns)
                if service is None:
                    continue
                who += 1
                if last is None or service[0] > last[0]:
                    last, last_entity = service, holder.arn
                for name, (t, region) in actions.items():
                    if name not in action_last or t > action_last[name][0]:
                        action_last[name] = (t, region, holder.arn)
            item: dict[str, Any] = {"ServiceName": SERVICE_NAMES[ns], "ServiceNamespace": ns}
            if last:
                item.update(LastAuthenticated=iso(last[0]), LastAuthenticatedEntity=last_entity,
                            LastAuthenticatedRegion=last[1])
            item["TotalAuthenticatedEntities"] = who
            if ns in TRACKED_SERVICES:
                tracked = []
                for name in sorted(allowed | set(action_last)):
                    entry: dict[str, Any] = {"ActionName": name}
                    if name in action_last:
                        t, region, entity = action_last[name]
                        entry.update(LastAccessedEntity=entity, LastAccessedTime=iso(t), LastAccessedRegion=region)
                    tracked.append(entry)
                item["TrackedActionsLastAccessed"] = tracked
            services.append(item)
        out[arn] = {"JobId": ids.uuid4(rng), "JobType": "ACTION_LEVEL", "JobStatus": "COMPLETED",
                    "JobCreationDate": iso(created), "JobCompletionDate": iso(created + 3),
                    "ServicesLastAccessed": services}
        created += 1
    return out


# --- access keys and posture ---------------------------------------------------------------------------

def access_keys(account: Account, usage: Usage) -> list[dict[str, Any]]:
    rows = []
    for user in sorted(account.users.values(), key=lambda u: u.name):
        for key in sorted(user.keys, key=lambda k: k.created):
            last = _key_last_used(key, usage)
            rows.append({"UserName": user.name, "AccessKeyId": key.id, "Status": key.status,
                         "CreateDate": iso(key.created), "LastUsedDate": iso(last[0]) if last else None,
                         "LastUsedServiceName": last[1] if last else "N/A",
                         "LastUsedRegion": last[2] if last else "N/A"})
    return rows


# Users enrolled their virtual device this long after they were created.
MFA_ENROLMENT_DELAY_S = 600


def virtual_mfa_devices(account: Account) -> list[dict[str, Any]]:
    """ListVirtualMFADevices (AssignmentStatus Any): one assigned device per user with MFA; none
    for root, whose MFA (where it has one) is hardware."""
    return [{"SerialNumber": f"arn:aws:iam::{account.id}:mfa/{user.name}",
             "User": {"Path": "/", "UserName": user.name, "UserId": user.user_id, "Arn": user.arn,
                      "CreateDate": iso(user.created)},
             "EnableDate": iso(user.created + MFA_ENROLMENT_DELAY_S)}
            for user in sorted(account.users.values(), key=lambda u: u.name) if user.mfa]


def posture(account: Account, facts: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    trail_arn = account.resources.trail_arn
    trail = {"Name": "org-trail", "S3BucketName": "acme-org-cloudtrail-logs", "IncludeGlobalServiceEvents": True,
             "IsMultiRegionTrail": True, "HomeRegion": "us-east-1", "TrailARN": trail_arn,
             "LogFileValidationEnabled": True, "KmsKeyId": facts["trail_kms_key"], "HasCustomEventSelectors": False,
             "HasInsightSelectors": False, "IsOrganizationTrail": True}
    status: dict[str, Any] = {
        "IsLogging": True, "LatestDeliveryTime": iso(SNAPSHOT_TIME - 131),
        "LatestDigestDeliveryTime": iso(SNAPSHOT_TIME - 1800),
        "StartLoggingTime": iso(facts["trail_started"]), "LatestDeliveryAttemptTime": iso(SNAPSHOT_TIME - 131),
        "LatestDeliveryAttemptSucceeded": iso(SNAPSHOT_TIME - 131), "TimeLoggingStarted": iso(facts["trail_started"]),
        "LatestNotificationAttemptTime": "", "LatestNotificationAttemptSucceeded": "",
    }
    if facts.get("trail_stopped"):
        status["StopLoggingTime"] = iso(facts["trail_stopped"])
        status["TimeLoggingStopped"] = iso(facts["trail_stopped"])
    guardduty: dict[str, Any] = {}
    res = account.resources
    for region in account.regions:
        if (account.id, region) in facts["deleted_detectors"]:
            guardduty[region] = {"DetectorIds": [], "detectors": {}}
            continue
        detector = res.detector_id(region)
        since = iso(account.root_created + 400 * 86400)
        guardduty[region] = {"DetectorIds": [detector], "detectors": {detector: {
            "CreatedAt": since, "FindingPublishingFrequency": "SIX_HOURS",
            "ServiceRole": (f"arn:aws:iam::{account.id}:role/aws-service-role/guardduty.amazonaws.com/"
                            "AWSServiceRoleForAmazonGuardDuty"),
            "Status": "ENABLED", "UpdatedAt": since,
            "DataSources": {"CloudTrail": {"Status": "ENABLED"}, "DNSLogs": {"Status": "ENABLED"},
                            "FlowLogs": {"Status": "ENABLED"}, "S3Logs": {"Status": "ENABLED"}},
            "Features": [{"Name": name, "Status": "ENABLED", "UpdatedAt": since}
                         for name in ("CLOUD_TRAIL", "DNS_LOGS", "FLOW_LOGS", "S3_DATA_EVENTS")],
            "Tags": {}}}}
    kind = "ORGANIZATION" if account.id == SECURITY else "ACCOUNT"
    name = f"{'org' if kind == 'ORGANIZATION' else account.name}-analyzer"
    analyzer_arn = f"arn:aws:access-analyzer:us-east-1:{account.id}:analyzer/{name}"
    analyzers = [{"arn": analyzer_arn, "name": name, "type": kind, "createdAt": iso(account.root_created + 500 * 86400),
                  "lastResourceAnalyzed": f"arn:aws:s3:::{res.buckets[0]}",
                  "lastResourceAnalyzedAt": iso(SNAPSHOT_TIME - 3600),
                  "status": "ACTIVE", "tags": {}}]
    findings = [dict(f, id=ids.uuid4(rng)) for f in facts["analyzer_findings"].get(account.id, [])]
    return {"trails": [trail], "trail_status": {trail_arn: status}, "guardduty": guardduty,
            "s3_public_access_block": account.s3_public_access_block, "access_analyzers": analyzers,
            "access_analyzer_findings": findings, "regions_in_use": list(account.regions)}
