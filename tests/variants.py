"""Variants of the Stratus recordings: the same attack in other shapes (issue 16).

Pure functions over a recording's events (tests/fixtures/stratus/, Apache-2.0). Each variant class is
one small function that returns `Variant`s: new events with new, deterministic eventIDs, and a map from
each new eventID that carries the attack to the recorded malicious eventID(s) it stands for. The
suite (test_variants.py) runs the hunt on them and attributes findings by those eventIDs.

Identity shapes follow the CloudTrail userIdentity reference (awsdocs/aws-cloudtrail-user-guide,
`cloudtrail-event-reference-user-identity.md`): an AssumedRole carries sessionContext.sessionIssuer of
type Role; a FederatedUser (sts:GetFederationToken) carries a sessionIssuer of type IAMUser or Root;
Root has arn `arn:aws:iam::<account>:root` and no userName. The Stratus recording of
sts-federation-token holds a real FederatedUser event of that shape.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

# The classes, in report order.
IDENTITY = ("iam_user", "assumed_role", "federated_user", "root")
CLASSES = IDENTITY + ("api_form", "account_region", "failed_calls", "window_edge", "midnight", "noise")

_NS = uuid.UUID("5f1d3c2a-9b7e-4c1a-8e2f-7d6b5a4c3b2a")  # only seeds the variants' eventIDs

_FEDERATION_ONLY_BY_LONG_TERM = ("sts:GetFederationToken must be called with an IAM user's or the root user's "
                                 "long-term key (STS API reference): no role or federated session can call it")
_NO_IAM_FOR_FEDERATED = ("GetFederationToken sessions cannot call IAM API operations (STS API reference, "
                         "GetFederationToken permissions)")
_ONE_CALL = "the attack is a single call: there is nothing to split"
_ALREADY_FAILED = "every recorded attack call already fails (Stratus detonates it denied)"
ONE_FORM = "the API has no singular or batch form of its own"

# (technique, class) -> why the class does not apply. Everything else must be detected.
NOT_APPLICABLE: dict[tuple[str, str], str] = {}


def _na(techniques: Iterable[str], classes: Iterable[str], reason: str) -> None:
    for t in techniques:
        for c in classes:
            NOT_APPLICABLE.setdefault(("aws." + t, c), reason)


_SINGLE_CALL = [
    "defense-evasion.cloudtrail-delete", "defense-evasion.cloudtrail-event-selectors",
    "defense-evasion.cloudtrail-stop",
    "defense-evasion.dns-delete-logs", "defense-evasion.organizations-leave", "defense-evasion.vpc-remove-flow-logs",
    "execution.ec2-launch-unusual-instances", "execution.ec2-user-data", "execution.ssm-send-command",
    "exfiltration.ec2-security-group-open-port-22-ingress", "exfiltration.ec2-share-ami",
    "exfiltration.ec2-share-ebs-snapshot", "exfiltration.rds-share-snapshot", "impact.bedrock-invoke-model",
    "initial-access.console-login-without-mfa", "persistence.iam-backdoor-role", "persistence.iam-backdoor-user",
    "persistence.iam-create-user-login-profile", "persistence.lambda-backdoor-function",
    "persistence.lambda-layer-extension", "persistence.lambda-overwrite-code",
    "privilege-escalation.iam-update-user-login-profile",
]
_na(_SINGLE_CALL, ("window_edge", "midnight"), _ONE_CALL)
_na(["credential-access.ec2-get-password-data", "discovery.ec2-download-user-data",
     "defense-evasion.organizations-leave", "execution.ec2-launch-unusual-instances"],
    ("failed_calls",), _ALREADY_FAILED)
_na(["persistence.sts-federation-token"], ("assumed_role", "federated_user"), _FEDERATION_ONLY_BY_LONG_TERM)
_na(["persistence.iam-backdoor-role", "persistence.iam-backdoor-user", "persistence.iam-create-admin-user",
     "persistence.iam-create-backdoor-role", "persistence.iam-create-user-login-profile",
     "privilege-escalation.iam-update-user-login-profile"], ("federated_user",), _NO_IAM_FOR_FEDERATED)
_na(["initial-access.console-login-without-mfa"], ("assumed_role", "federated_user"),
    "a role or federated session signs in to the console through the federation endpoint with the IdP's MFA, "
    "not recorded as MFAUsed (console_login_federated covers that path)")
_na(["credential-access.ec2-steal-instance-credentials"], ("iam_user", "federated_user", "root"),
    "stolen instance credentials are always the instance profile's role session")


@dataclass
class Variant:
    technique: str
    cls: str
    name: str                      # class, or class:form for several variants of one class
    events: list[dict]
    attack: dict[str, tuple[str, ...]]   # new eventID -> the recorded malicious eventID(s) it carries
    split_at: dt.datetime | None = None  # window_edge / midnight: where the attack is cut


# --- small pure helpers -------------------------------------------------------------------------

def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def fmt_time(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id(seed: str, old: str) -> str:
    """A new eventID, the same for the same seed and old id."""
    return str(uuid.uuid5(_NS, f"{seed}|{old}"))


def fake_key(prefix: str, seed: str) -> str:
    """A deterministic 20-character access key id (AKIA long-term, ASIA session)."""
    digits = uuid.uuid5(_NS, seed).hex.upper()
    return (prefix + "".join(c if c.isalnum() else "X" for c in digits))[:20]


def fake_principal_id(prefix: str, seed: str) -> str:
    return (prefix + uuid.uuid5(_NS, "pid|" + seed).hex.upper())[:21]


def replace_text(event: dict, old: str, new: str) -> dict:
    """Replace a string everywhere in an event (ids and names inside ARNs, hosts, messages)."""
    if not old or old == new:
        return copy.deepcopy(event)
    return json.loads(json.dumps(event).replace(old, new))


def account_of(events: list[dict]) -> str:
    return events[0]["recipientAccountId"]


def region_of(events: list[dict], attack: Iterable[str]) -> str:
    ids = set(attack)
    return next(e["awsRegion"] for e in events if e["eventID"] in ids)


def shift(events: list[dict], delta: dt.timedelta) -> list[dict]:
    out = []
    for e in events:
        e = copy.deepcopy(e)
        e["eventTime"] = fmt_time(parse_time(e["eventTime"]) + delta)
        attrs = (e.get("userIdentity") or {}).get("sessionContext", {}).get("attributes", {})
        if isinstance(attrs.get("creationDate"), str) and attrs["creationDate"].endswith("Z"):
            attrs["creationDate"] = fmt_time(parse_time(attrs["creationDate"]) + delta)
        out.append(e)
    return out


def renumber(events: list[dict], attack: dict[str, tuple[str, ...]], seed: str) -> tuple[list[dict], dict]:
    """New eventIDs for every event; the attack map follows them."""
    mapping = {e["eventID"]: new_id(seed, e["eventID"]) for e in events}
    out = []
    for e in events:
        e = copy.deepcopy(e)
        e["eventID"] = mapping[e["eventID"]]
        out.append(e)
    return out, {mapping[k]: v for k, v in attack.items()}


def identity_map(events: list[dict], malicious: Iterable[str]) -> dict[str, tuple[str, ...]]:
    return {e["eventID"]: (e["eventID"],) for e in events if e["eventID"] in set(malicious)}


# --- identity ------------------------------------------------------------------------------------

def attacker_arn(events: list[dict], malicious: Iterable[str]) -> str:
    """The ARN of whoever made the first attack call."""
    ids = set(malicious)
    first = min((e for e in events if e["eventID"] in ids), key=lambda e: e["eventTime"])
    return first["userIdentity"]["arn"]


def identity(kind: str, account: str, seed: str, *, session_name: str = "") -> dict:
    """A realistic userIdentity of this kind (CloudTrail userIdentity reference)."""
    if kind == "iam_user":
        name = "ops-automation"
        return {"type": "IAMUser", "principalId": fake_principal_id("AIDA", seed), "accountId": account,
                "arn": f"arn:aws:iam::{account}:user/{name}", "accessKeyId": fake_key("AKIA", seed), "userName": name}
    if kind == "root":
        return {"type": "Root", "principalId": account, "accountId": account, "arn": f"arn:aws:iam::{account}:root",
                "accessKeyId": fake_key("AKIA", seed)}
    attributes = {"creationDate": "", "mfaAuthenticated": "false"}
    if kind == "assumed_role":
        role, session = "deploy-pipeline", session_name or "ci-run-4821"
        role_id = fake_principal_id("AROA", seed)
        return {"type": "AssumedRole", "principalId": f"{role_id}:{session}", "accountId": account,
                "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}", "accessKeyId": fake_key("ASIA", seed),
                "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": role_id, "accountId": account,
                                                     "arn": f"arn:aws:iam::{account}:role/{role}", "userName": role},
                                   "webIdFederationData": {}, "attributes": attributes}}
    if kind == "federated_user":
        name, issuer = "partner-proxy", identity("iam_user", account, seed + "|issuer")
        issuer = {k: issuer[k] for k in ("type", "principalId", "arn", "accountId", "userName")}
        return {"type": "FederatedUser", "principalId": f"{account}:{name}", "accountId": account,
                "arn": f"arn:aws:sts::{account}:federated-user/{name}", "accessKeyId": fake_key("ASIA", seed),
                "sessionContext": {"sessionIssuer": issuer, "webIdFederationData": {}, "attributes": attributes}}
    raise ValueError(kind)


def as_identity(events: list[dict], malicious: Iterable[str], kind: str, seed: str) -> list[dict]:
    """Every call of the attacker made as `kind` instead; sessions it minted name it as their issuer."""
    old_arn = attacker_arn(events, malicious)
    old = next(e["userIdentity"] for e in events if e["userIdentity"].get("arn") == old_arn)
    account = old.get("accountId") or account_of(events)
    session = old_arn.rsplit("/", 1)[-1] if old.get("type") == "AssumedRole" else ""
    new = identity(kind, account, seed, session_name=session)
    out = []
    for e in events:
        ui = e.get("userIdentity") or {}
        if ui.get("arn") == old_arn:
            e = replace_text(e, old_arn, new["arn"])
            ui = copy.deepcopy(new)
            if "sessionContext" in ui:
                ui["sessionContext"]["attributes"]["creationDate"] = e["eventTime"]
            if e["eventName"] == "ConsoleLogin":  # a console session: no access key in the sign-in event
                ui["accessKeyId"] = ""
            e["userIdentity"] = ui
        elif (ui.get("sessionContext") or {}).get("sessionIssuer", {}).get("arn") == old_arn:
            # a session the attacker minted (GetFederationToken): its issuer is the new identity
            e = copy.deepcopy(e)
            issuer = {"type": "Root" if kind == "root" else "IAMUser", "principalId": new["principalId"],
                      "arn": new["arn"], "accountId": account}
            if kind != "root":
                issuer["userName"] = new["userName"]
            e["userIdentity"]["sessionContext"]["sessionIssuer"] = issuer
        else:
            e = copy.deepcopy(e)
        out.append(e)
    return out


# --- singular and batch forms ---------------------------------------------------------------------

def _derived(e: dict, seed: str, n: int, name: str, params: dict | None, response=None) -> dict:
    d = copy.deepcopy(e)
    d["eventID"] = new_id(seed, f"{e['eventID']}#{name}#{n}")
    d["requestID"] = new_id(seed + "|req", f"{e['eventID']}#{name}#{n}")
    d["eventName"] = name
    d["requestParameters"] = params
    d["responseElements"] = response
    d.pop("resources", None)
    return d


def _secret_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-Ab12Cd"


def forms(technique: str, events: list[dict], malicious: set[str], seed: str) -> dict[str, tuple[list[dict], dict]]:
    """Other shapes of the same API: form name -> (events, attack map). Empty when the API has none."""
    out: dict[str, tuple[list[dict], dict]] = {}
    attack = [e for e in events if e["eventID"] in malicious]
    rest = [e for e in events if e["eventID"] not in malicious]

    def build(name: str, pieces: list[tuple[dict, tuple[str, ...]]]) -> None:
        out[name] = (rest + [p for p, _ in pieces], {p["eventID"]: src for p, src in pieces})

    if technique.endswith("secretsmanager-retrieve-secrets"):
        # the same 20 secrets in two BatchGetSecretValue calls of 10 (the API takes up to 20 ids)
        pieces = []
        for n in range(0, len(attack), 10):
            chunk = sorted(attack, key=lambda e: e["eventTime"])[n:n + 10]
            ids = [c["requestParameters"]["secretId"] for c in chunk]
            pieces.append((_derived(chunk[0], seed, n, "BatchGetSecretValue", {"secretIdList": ids}),
                           tuple(c["eventID"] for c in chunk)))
        build("BatchGetSecretValue", pieces)
    elif technique.endswith("secretsmanager-batch-retrieve-secrets"):
        # each batch of 10 (Stratus's batch size) as 10 GetSecretValue calls, one per secret
        pieces = []
        for b, e in enumerate(sorted(attack, key=lambda e: e["eventTime"])):
            for i in range(10):
                name = f"stratus-red-team-batch-secret-{b * 10 + i}"
                arn = _secret_arn(e["awsRegion"], e["recipientAccountId"], name)
                pieces.append((_derived(e, seed, b * 10 + i, "GetSecretValue", {"secretId": arn}), (e["eventID"],)))
        build("GetSecretValue", pieces)
    elif technique.endswith("ssm-retrieve-securestring-parameters"):
        single, by_path = [], []
        for b, e in enumerate(sorted(attack, key=lambda e: e["eventTime"])):
            for i, name in enumerate(e["requestParameters"]["names"]):
                single.append((_derived(e, seed, b * 100 + i, "GetParameter", {"name": name, "withDecryption": True}),
                               (e["eventID"],)))
            by_path.append((_derived(e, seed, b, "GetParametersByPath",
                                     {"path": "/credentials/stratus-red-team", "recursive": True,
                                      "withDecryption": True, **({"nextToken": "HIDDEN_DUE_TO_SECURITY_REASONS"}
                                                                  if b else {})}), (e["eventID"],)))
        build("GetParameter", single)
        build("GetParametersByPath", by_path)
    elif technique.endswith("bedrock-invoke-model"):
        for name in ("InvokeModelWithResponseStream", "Converse", "ConverseStream"):
            build(name, [(_derived(e, seed, 0, name, e["requestParameters"]), (e["eventID"],)) for e in attack])
    elif technique.endswith("iam-create-admin-user") or technique.endswith("iam-create-backdoor-role"):
        admin = json.dumps({"Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
        pieces = []
        for e in attack:
            if e["eventName"] in ("AttachUserPolicy", "AttachRolePolicy"):
                who = "userName" if e["eventName"] == "AttachUserPolicy" else "roleName"
                name = "PutUserPolicy" if who == "userName" else "PutRolePolicy"
                params = {who: e["requestParameters"][who], "policyName": "inline-admin", "policyDocument": admin}
                pieces.append((_derived(e, seed, 0, name, params), (e["eventID"],)))
            else:
                pieces.append((copy.deepcopy(e), (e["eventID"],)))
        build("inline policy", pieces)
    elif technique.endswith("rds-share-snapshot"):
        pieces = []
        for e in attack:
            p = e["requestParameters"]
            params = {"dBClusterSnapshotIdentifier": p["dBSnapshotIdentifier"], "attributeName": p["attributeName"],
                      "valuesToAdd": p["valuesToAdd"]}
            response = {"dBClusterSnapshotIdentifier": p["dBSnapshotIdentifier"], "dBClusterSnapshotAttributes": [
                {"attributeName": p["attributeName"], "attributeValues": p["valuesToAdd"]}]}
            pieces.append((_derived(e, seed, 0, "ModifyDBClusterSnapshotAttribute", params, response), (e["eventID"],)))
        build("ModifyDBClusterSnapshotAttribute", pieces)
    elif technique.endswith("ec2-share-ami"):
        pieces = []
        for e in attack:
            params = copy.deepcopy(e["requestParameters"])
            params["launchPermission"] = {"add": {"items": [{"group": "all"}]}}
            pieces.append((_derived(e, seed, 0, e["eventName"], params, e["responseElements"]), (e["eventID"],)))
        build("launchPermission group all", pieces)
    elif technique.endswith("ec2-share-ebs-snapshot"):
        pieces = []
        for e in attack:
            params = copy.deepcopy(e["requestParameters"])
            params["createVolumePermission"] = {"add": {"items": [{"group": "all"}]}}
            pieces.append((_derived(e, seed, 0, e["eventName"], params, e["responseElements"]), (e["eventID"],)))
        build("createVolumePermission group all", pieces)
    elif technique.endswith("vpc-remove-flow-logs"):
        # one call deleting several flow logs (the request's FlowLogId list)
        pieces = []
        for e in attack:
            first = e["requestParameters"]["DeleteFlowLogsRequest"]["FlowLogId"]
            ids = [first, {"content": "fl-0a1b2c3d4e5f60718", "tag": 2}, {"content": "fl-0f1e2d3c4b5a69788", "tag": 3}]
            params = {"DeleteFlowLogsRequest": {"FlowLogId": ids}}
            pieces.append((_derived(e, seed, 0, e["eventName"], params, e["responseElements"]), (e["eventID"],)))
        build("several FlowLogIds", pieces)
    elif technique.endswith("lambda-backdoor-function"):
        # the public function URL form: lambda:InvokeFunctionUrl for everyone, no auth
        pieces = []
        for e in attack:
            params = {**e["requestParameters"], "action": "lambda:InvokeFunctionUrl", "functionUrlAuthType": "NONE"}
            statement = json.loads(e["responseElements"]["statement"])
            statement["Action"] = "lambda:InvokeFunctionUrl"
            statement["Condition"] = {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}
            response = {"statement": json.dumps(statement, separators=(",", ":"))}
            pieces.append((_derived(e, seed, 0, e["eventName"], params, response), (e["eventID"],)))
        build("InvokeFunctionUrl", pieces)
    elif technique.endswith("ec2-security-group-open-port-22-ingress"):
        ipv4 = {"ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}}
        ipv6 = {"ipRanges": {}, "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]}}
        for label, ranges in (("ipPermissions IPv4", ipv4), ("ipPermissions IPv6", ipv6)):
            pieces = []
            for e in attack:
                p = e["requestParameters"]
                perm = {"ipProtocol": "tcp", "fromPort": p["fromPort"], "toPort": p["toPort"], "groups": {},
                        "prefixListIds": {}, **ranges}
                params = {"groupId": p["groupId"], "ipPermissions": {"items": [perm]}}
                pieces.append((_derived(e, seed, 0, e["eventName"], params, e["responseElements"]), (e["eventID"],)))
            build(label, pieces)
    elif technique.endswith("ec2-user-data"):
        pieces = []
        for e in attack:
            params = {"instanceId": e["requestParameters"]["instanceId"], "attribute": "userData",
                      "value": "<sensitiveDataRemoved>"}
            pieces.append((_derived(e, seed, 0, e["eventName"], params, e["responseElements"]), (e["eventID"],)))
        build("attribute=userData", pieces)
    elif technique.endswith("cloudtrail-event-selectors"):
        pieces = []
        for e in attack:
            params = {"trailName": e["requestParameters"]["trailName"], "advancedEventSelectors": [
                {"name": "data events only", "fieldSelectors": [
                    {"field": "eventCategory", "equals": ["Data"]},
                    {"field": "resources.type", "equals": ["AWS::S3::Object"]}]}]}
            pieces.append((_derived(e, seed, 0, e["eventName"], params, None), (e["eventID"],)))
        build("advancedEventSelectors", pieces)
    elif technique.endswith("dns-delete-logs"):
        pieces = []
        for e in attack:
            config = e["requestParameters"].get("resolverQueryLogConfigId", "rqlc-0123456789abcdef")
            params = {"resolverQueryLogConfigId": config, "resourceId": "vpc-0a1b2c3d4e5f60718"}
            pieces.append((_derived(e, seed, 0, "DisassociateResolverQueryLogConfig", params, None), (e["eventID"],)))
        build("DisassociateResolverQueryLogConfig", pieces)
    return out


# --- failures mixed in ----------------------------------------------------------------------------

_DENIED = {"ec2.amazonaws.com": "Client.UnauthorizedOperation"}


def with_failures(events: list[dict], malicious: set[str], seed: str) -> list[dict]:
    """Before each attack call, the same call failing (as an attacker probing permissions would).

    sts:GetCallerIdentity is left alone: no policy can deny it (STS API reference). A failed console
    sign-in has the shape of the CloudTrail guide's "IAM user, unsuccessful sign-in" example.
    """
    out = []
    for e in events:
        if e["eventID"] in malicious and e["eventName"] != "GetCallerIdentity":
            f = copy.deepcopy(e)
            f["eventID"] = new_id(seed, e["eventID"] + "#failed")
            f["eventTime"] = fmt_time(parse_time(e["eventTime"]) - dt.timedelta(seconds=1))
            if e["eventName"] == "ConsoleLogin":
                f["errorMessage"] = "Failed authentication"
                f["responseElements"] = {"ConsoleLogin": "Failure"}
                if f["userIdentity"].get("type") == "IAMUser":
                    f["userIdentity"].pop("arn", None)
                out.append(f)
                out.append(copy.deepcopy(e))
                continue
            f["errorCode"] = _DENIED.get(e["eventSource"], "AccessDenied")
            action = e["eventSource"].split(".")[0] + ":" + e["eventName"]
            f["errorMessage"] = (f"User: {e['userIdentity'].get('arn', '')} is not authorized to perform: {action} "
                                 "because no identity-based policy allows the action")
            f["responseElements"] = None
            out.append(f)
        out.append(copy.deepcopy(e))
    return out


# --- the variants of one recording -------------------------------------------------------------------

def midpoint(events: list[dict], malicious: set[str]) -> dt.datetime:
    """The time of the middle attack call: cutting there leaves attack calls on both sides."""
    times = sorted(parse_time(e["eventTime"]) for e in events if e["eventID"] in malicious)
    return times[len(times) // 2]


def variants(technique: str, events: list[dict], malicious: Iterable[str], *,
             noise: list[dict] | None = None) -> list[Variant]:
    """Every applicable variant of one recording, before placement (place() gives each its day and account)."""
    mal = set(malicious)
    base = identity_map(events, mal)
    out: list[Variant] = []

    def add(cls: str, evs: list[dict], attack: dict, name: str = "", **kw) -> None:
        out.append(Variant(technique, cls, name or cls, evs, attack, **kw))

    for kind in IDENTITY:
        if (technique, kind) not in NOT_APPLICABLE:
            add(kind, as_identity(events, mal, kind, f"{technique}|{kind}"), dict(base))
    if (technique, "api_form") not in NOT_APPLICABLE:
        for form, (evs, attack) in forms(technique, events, mal, f"{technique}|form").items():
            add("api_form", evs, attack, f"api_form:{form}")
    if (technique, "account_region") not in NOT_APPLICABLE:
        region = region_of(events, mal)
        add("account_region", [replace_text(e, region, "eu-north-1") for e in events], dict(base))
    if (technique, "failed_calls") not in NOT_APPLICABLE:
        add("failed_calls", with_failures(events, mal, f"{technique}|failed"), dict(base))
    for cls in ("window_edge", "midnight"):
        if (technique, cls) not in NOT_APPLICABLE:
            add(cls, [copy.deepcopy(e) for e in events], dict(base), split_at=midpoint(events, mal))
    if (technique, "noise") not in NOT_APPLICABLE and noise:
        add("noise", interleave(events, noise, region_of(events, mal)), dict(base))
    return out


def interleave(events: list[dict], noise: list[dict], region: str) -> list[dict]:
    """The demo's background spread over the attack's hour, in the attack's account and region."""
    account = account_of(events)
    start = min(parse_time(e["eventTime"]) for e in events) - dt.timedelta(minutes=30)
    first = parse_time(noise[0]["eventTime"])
    span = (parse_time(noise[-1]["eventTime"]) - first).total_seconds() or 1.0
    out = [copy.deepcopy(e) for e in events]
    for n in noise:
        e = copy.deepcopy(n)
        for acct in {n.get("recipientAccountId"), (n.get("userIdentity") or {}).get("accountId")} - {None, ""}:
            e = replace_text(e, acct, account)
        offset = (parse_time(n["eventTime"]) - first).total_seconds() / span * 3600
        e["eventTime"] = fmt_time(start + dt.timedelta(seconds=int(offset)))
        e["awsRegion"] = region
        out.append(e)
    return out


def place(v: Variant, index: int, origin: dt.datetime, technique_index: int) -> Variant:
    """Give a variant its own account and day (days 3*index.. after origin) and new eventIDs.

    Own account and day keep variants of one technique from meeting in one finding, so one store and
    one hunt serve them all. window_edge / midnight are moved so the cut falls on the day's edge.
    """
    old_account = account_of(v.events)
    account = f"{4 + technique_index % 5}{technique_index:03d}{index:08d}"
    evs = [replace_text(e, old_account, account) for e in v.events]
    day = origin + dt.timedelta(days=3 * index)
    if v.split_at is not None:
        # midnight: the cut on 00:00 of the variant's second day; window_edge: on 12:00, a report's edge
        target = day + dt.timedelta(days=1, hours=12 if v.cls == "window_edge" else 0)
        delta = target - v.split_at
    else:
        first = min(parse_time(e["eventTime"]) for e in evs)
        delta = (day + (first - first.replace(hour=0, minute=0, second=0, microsecond=0))) - first
    evs = shift(evs, delta)
    evs, attack = renumber(evs, v.attack, f"{v.technique}|{v.name}|{index}")
    split = v.split_at + delta if v.split_at is not None else None
    return Variant(v.technique, v.cls, v.name, evs, attack, split)

