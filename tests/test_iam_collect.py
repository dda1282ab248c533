"""Read-only IAM collection against moto, with model-validated fakes where moto has no implementation.

moto 5.2.5 implements IAM (authorization details, credential report, access keys, virtual MFA
devices), STS
AssumeRole (with per-account backends), CloudTrail trails, GuardDuty detectors and the S3
Control public access block. It lacks IAM Access Advisor (Generate/GetServiceLastAccessedDetails)
and Access Analyzer, so ``FakeAws`` answers those from a ``before-call`` handler, checking
every canned response against botocore's output shape as botocore's Stubber does. Time is
virtual (``VirtualClock``): polling, timeouts and backoff never really wait.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters
from moto import mock_aws

from trailbook import aws as tb_aws
from trailbook.aws import ReadOnlyViolation, RetryPolicy, iam_action, install_read_only_guard
from trailbook.aws.policy import __doc__ as POLICY_DOC
from trailbook.iam import CollectSettings, SnapshotError, collect_snapshot, load_snapshot

READ_ONLY_OPERATIONS = tb_aws.ALLOWED["collect"]
from trailbook.iam.snapshot import AccountData, write_snapshot

HOME = "us-east-1"
MOTO_ACCOUNT = "123456789012"  # moto's account for the environment credentials
MEMBER_A, MEMBER_B = "111111111111", "222222222222"
UTC = timezone.utc
USED_AT = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
POLL = 5.0
SETTINGS = CollectSettings(
    poll_interval_s=POLL, job_timeout_s=30.0, report_timeout_s=60.0,
    retry=RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=8.0),
)


# --- test doubles -------------------------------------------------------------------------

class VirtualClock:
    """Monotonic time that only sleeping advances."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def now(self) -> datetime:
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(seconds=self.t)


@dataclass
class JobScript:
    """How one Access Advisor job behaves: its status on successive polls, then its pages."""

    statuses: list[str] = field(default_factory=lambda: ["COMPLETED"])
    pages: list[list[dict[str, Any]]] | None = None  # None: one default page
    error: dict[str, str] | None = None


def services_page(granularity: str, namespace: str = "s3") -> list[dict[str, Any]]:
    """One page of ServicesLastAccessed, shaped as botocore returns it."""
    service: dict[str, Any] = {
        "ServiceName": f"Amazon {namespace.upper()}",
        "ServiceNamespace": namespace,
        "LastAuthenticated": USED_AT,
        "LastAuthenticatedEntity": f"arn:aws:iam::{MOTO_ACCOUNT}:user/alice",
        "LastAuthenticatedRegion": "eu-west-1",
        "TotalAuthenticatedEntities": 1,
    }
    if granularity == "ACTION_LEVEL":
        service["TrackedActionsLastAccessed"] = [
            {"ActionName": "GetObject", "LastAccessedEntity": f"arn:aws:iam::{MOTO_ACCOUNT}:user/alice",
             "LastAccessedTime": USED_AT, "LastAccessedRegion": "eu-west-1"},
            {"ActionName": "PutObject"},  # tracked, never used
        ]
    return [service]


def _respond(status: int, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    parsed = {**parsed, "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "fake"}}
    return AWSResponse("https://fake.invalid/", status, {}, None), parsed


class FakeAws:
    """Answers what moto lacks, injects throttling and failures, and records every call.

    Installed per session (``install``), so it also covers the sessions the collector makes
    from assumed-role credentials.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []  # (service, operation, api params)
        self.scripts: dict[str, JobScript] = {}  # by entity ARN
        self.jobs: dict[str, dict[str, Any]] = {}
        self.throttle: dict[str, int] = {}  # operation -> Throttling errors still to return
        self.failures: list[tuple[str, Callable[[dict[str, Any]], bool], str]] = []  # (op, when, code)
        self.overrides: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self.analyzers: dict[str, list[dict[str, Any]]] = {}  # by region
        self.findings: dict[str, list[list[dict[str, Any]]]] = {}  # analyzer ARN -> pages
        self.sessions: list[boto3.Session] = []

    def install(self, session: boto3.Session) -> None:
        self.sessions.append(session)
        session.events.register("before-parameter-build", self._capture)
        session.events.register("before-call", self._answer)

    def ops(self, operation: str) -> list[dict[str, Any]]:
        return [params for _, op, params in self.calls if op == operation]

    def _capture(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["fake_params"] = copy.deepcopy(params)
        self.calls.append((model.service_model.service_name, model.name, context["fake_params"]))

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        op, params = model.name, context["fake_params"]
        if self.throttle.get(op, 0) > 0:
            self.throttle[op] -= 1
            return _respond(400, {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}})
        for failing_op, when, code in self.failures:
            if failing_op == op and when(params):
                return _respond(403, {"Error": {"Code": code, "Message": f"injected {code}"}})
        handler = self.overrides.get(op) or {
            "GenerateServiceLastAccessedDetails": self._generate,
            "GetServiceLastAccessedDetails": self._get_details,
            "ListAnalyzers": lambda p: self._list_analyzers(context["client_region"], p),
            "ListFindingsV2": self._list_findings,
        }.get(op)
        if handler is None:
            return None  # moto answers
        parsed = handler(params)
        try:
            validate_parameters(parsed, model.output_shape)
        except ParamValidationError as error:
            raise AssertionError(f"fake {op} response does not match the botocore model: {error}") from error
        return _respond(200, parsed)

    def _generate(self, params: dict[str, Any]) -> dict[str, Any]:
        job_id = str(uuid.UUID(int=len(self.jobs) + 1))  # 36 characters, as botocore requires
        self.jobs[job_id] = {"arn": params["Arn"], "granularity": params.get("Granularity", "SERVICE_LEVEL"), "polls": 0}
        return {"JobId": job_id}

    def _get_details(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self.jobs[params["JobId"]]
        script = self.scripts.get(job["arn"], JobScript())
        pages = script.pages if script.pages is not None else [services_page(job["granularity"])]
        marker = params.get("Marker")
        if marker is None:
            status = script.statuses[min(job["polls"], len(script.statuses) - 1)]
            job["polls"] += 1
            index = 0
        else:
            status, index = "COMPLETED", int(marker.removeprefix("page-"))
        response: dict[str, Any] = {
            "JobStatus": status,
            "JobType": job["granularity"],
            "JobCreationDate": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "JobCompletionDate": datetime(2026, 1, 2, 3, 4, 9, tzinfo=UTC),
            "ServicesLastAccessed": pages[index] if status == "COMPLETED" else [],
            "IsTruncated": status == "COMPLETED" and index + 1 < len(pages),
        }
        if response["IsTruncated"]:
            response["Marker"] = f"page-{index + 1}"
        if status == "FAILED":
            response["Error"] = script.error or {"Message": "failed", "Code": "InternalError"}
        return response

    def _list_analyzers(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"analyzers": self.analyzers.get(region, [])}

    def _list_findings(self, params: dict[str, Any]) -> dict[str, Any]:
        pages = self.findings.get(params["analyzerArn"], [[]])
        index = int(params.get("nextToken", "token-0").removeprefix("token-"))
        response: dict[str, Any] = {"findings": pages[index]}
        if index + 1 < len(pages):
            response["nextToken"] = f"token-{index + 1}"
        return response


class ReadOnlyCallLog:
    """The test's own read-only proof: a before-call hook on every client of every session."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def install(self, session: boto3.Session) -> None:
        # First, so it sees calls that a fake answers from a later before-call handler.
        session.events.register_first("before-call", self._check)

    def _check(self, model: Any, **_: Any) -> None:
        service, operation = model.service_model.service_name, model.name
        self.calls.append((service, operation))
        if operation not in READ_ONLY_OPERATIONS.get(service, ()):
            pytest.fail(f"collector called {service}:{operation}, which is not on the read-only allow-list")


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", HOME)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    with mock_aws():
        yield


def policy(*actions: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}


TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@dataclass
class World:
    account: str
    alice_keys: list[str]
    arns: dict[str, str]


def build_world(session: boto3.Session, account: str, *, prefix: str = "") -> World:
    """IAM principals, a trail and a GuardDuty detector, made in moto *outside* the collector."""
    iam = session.client("iam", region_name=HOME)
    alice, bob = f"{prefix}alice", f"{prefix}bob"
    iam.create_user(UserName=alice)
    iam.create_user(UserName=bob)
    iam.create_login_profile(UserName=bob, Password="Correct-Horse-9")
    keys = [iam.create_access_key(UserName=alice)["AccessKey"] for _ in range(2)]
    iam.put_user_policy(UserName=alice, PolicyName="inline-s3", PolicyDocument=json.dumps(policy("s3:GetObject")))
    group = iam.create_group(GroupName=f"{prefix}devs")["Group"]
    iam.add_user_to_group(GroupName=f"{prefix}devs", UserName=alice)
    managed = iam.create_policy(PolicyName=f"{prefix}s3-read", PolicyDocument=json.dumps(policy("s3:List*")))["Policy"]
    iam.attach_group_policy(GroupName=f"{prefix}devs", PolicyArn=managed["Arn"])
    role = iam.create_role(RoleName=f"{prefix}app-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    iam.put_role_policy(RoleName=f"{prefix}app-role", PolicyName="inline-kms",
                        PolicyDocument=json.dumps(policy("kms:Decrypt")))
    # Use alice's first key once, so GetAccessKeyLastUsed has something to report.
    boto3.client("sts", region_name=HOME, aws_access_key_id=keys[0]["AccessKeyId"],
                 aws_secret_access_key=keys[0]["SecretAccessKey"]).get_caller_identity()

    bucket = f"{prefix}trail-logs-{account}"
    session.client("s3", region_name=HOME).create_bucket(Bucket=bucket)
    cloudtrail = session.client("cloudtrail", region_name=HOME)
    cloudtrail.create_trail(Name=f"{prefix}org-trail", S3BucketName=bucket, IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name=f"{prefix}org-trail")
    session.client("guardduty", region_name=HOME).create_detector(Enable=True)
    return World(
        account=account,
        alice_keys=[k["AccessKeyId"] for k in keys],
        arns={
            "alice": f"arn:aws:iam::{account}:user/{alice}", "bob": f"arn:aws:iam::{account}:user/{bob}",
            "group": group["Arn"], "policy": managed["Arn"], "role": role["Arn"],
        },
    )


def member_session(account: str) -> boto3.Session:
    """Setup credentials inside a member account (moto maps assumed-role keys to the account)."""
    creds = boto3.client("sts", region_name=HOME).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="test-setup")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=HOME)


def collect(out: Path, fake: FakeAws, log: ReadOnlyCallLog | None = None, **kwargs: Any) -> tuple[Path, VirtualClock]:
    clock = VirtualClock()
    log = log or ReadOnlyCallLog()

    def hook(session: boto3.Session) -> None:
        log.install(session)
        fake.install(session)

    kwargs.setdefault("settings", SETTINGS)
    path = collect_snapshot(out, session=boto3.Session(region_name=HOME), session_hook=hook, clock=clock,
                            rng=random.Random(7), **kwargs)
    return path, clock


def add_analyzers(fake: FakeAws, account: str) -> list[dict[str, Any]]:
    active = {"arn": f"arn:aws:access-analyzer:{HOME}:{account}:analyzer/unused", "name": "unused",
              "type": "ACCOUNT_UNUSED_ACCESS", "createdAt": USED_AT, "status": "ACTIVE"}
    disabled = {"arn": f"arn:aws:access-analyzer:{HOME}:{account}:analyzer/old", "name": "old",
                "type": "ACCOUNT", "createdAt": USED_AT, "status": "DISABLED"}
    fake.analyzers[HOME] = [active, disabled]
    finding = {"analyzedAt": USED_AT, "createdAt": USED_AT, "updatedAt": USED_AT, "status": "ACTIVE",
               "resourceType": "AWS::IAM::User", "resourceOwnerAccount": account}
    fake.findings[active["arn"]] = [
        [{**finding, "id": "f-1", "resource": f"arn:aws:iam::{account}:user/bob", "findingType": "UnusedIAMUserPassword"}],
        [{**finding, "id": "f-2", "resource": f"arn:aws:iam::{account}:role/app-role", "findingType": "UnusedIAMRole"}],
    ]
    return [active, disabled]


# --- tests --------------------------------------------------------------------------------

def add_virtual_mfa(iam: Any, user: str) -> tuple[str, str]:
    """A virtual MFA device enabled for ``user`` and a spare one never assigned; their serials."""
    assigned = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName=user, SerialNumber=assigned, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")
    spare = iam.create_virtual_mfa_device(VirtualMFADeviceName="spare")["VirtualMFADevice"]["SerialNumber"]
    return assigned, spare


def test_single_account_round_trip(aws: None, tmp_path: Path) -> None:
    world = build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    bob_device, spare_device = add_virtual_mfa(boto3.client("iam", region_name=HOME), "bob")
    fake, log = FakeAws(), ReadOnlyCallLog()
    analyzers = add_analyzers(fake, MOTO_ACCOUNT)
    path, clock = collect(tmp_path / "out", fake, log)

    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # VirtualClock.now() at t=0
    assert clock.t > 0 and path == tmp_path / "out" / "iam-2026-01-02T030405Z"
    snap = load_snapshot(path)
    assert (snap.accounts, snap.source, snap.errors) == ((MOTO_ACCOUNT,), "live", [])
    assert snap.collected_at == started
    manifest = json.loads((path / "snapshot.json").read_text())
    assert manifest["format"] == "trailbook-iam-snapshot/1" and manifest["collected_at"].endswith("Z")
    assert sorted(p.name for p in (path / MOTO_ACCOUNT).iterdir()) == [
        "access_keys.json", "authorization_details.json", "credential_report.csv", "credential_report.json",
        "posture.json", "service_last_accessed.json", "virtual_mfa_devices.json"]

    # Credential report: stored byte-for-byte as AWS (moto) returns it, and parseable.
    direct = boto3.client("iam", region_name=HOME).get_credential_report()
    assert snap.credential_report_csv(MOTO_ACCOUNT) == direct["Content"].decode()
    assert snap.credential_report_info(MOTO_ACCOUNT) == {
        "GeneratedTime": direct["GeneratedTime"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ReportFormat": "text/csv"}
    report = snap.credential_report(MOTO_ACCOUNT)
    assert sorted(report["user"]) == ["alice", "bob"]
    assert report.set_index("user").loc["bob", "password_enabled"] == True  # noqa: E712 (pandas boolean)

    # Granted permissions: every entity type, documents decoded to JSON objects.
    details = snap.authorization_details(MOTO_ACCOUNT)
    assert sorted(u["Arn"] for u in details["UserDetailList"]) == sorted([world.arns["alice"], world.arns["bob"]])
    assert [g["Arn"] for g in details["GroupDetailList"]] == [world.arns["group"]]
    assert [r["Arn"] for r in details["RoleDetailList"]] == [world.arns["role"]]
    alice = next(u for u in details["UserDetailList"] if u["Arn"] == world.arns["alice"])
    assert alice["UserPolicyList"][0]["PolicyDocument"] == policy("s3:GetObject")
    role = details["RoleDetailList"][0]
    assert role["AssumeRolePolicyDocument"] == TRUST
    assert role["RolePolicyList"][0]["PolicyDocument"] == policy("kms:Decrypt")
    managed = next(p for p in details["Policies"] if p["Arn"] == world.arns["policy"])
    assert managed["PolicyVersionList"][0]["Document"] == policy("s3:List*")

    # Access Advisor: one ACTION_LEVEL job per user, group, role and customer-managed policy.
    generated = fake.ops("GenerateServiceLastAccessedDetails")
    assert sorted(p["Arn"] for p in generated) == sorted(world.arns.values())
    assert {p["Granularity"] for p in generated} == {"ACTION_LEVEL"}
    # All jobs were started before the first one was read.
    order = [op for _, op, _ in fake.calls if op.endswith("ServiceLastAccessedDetails")]
    assert order[:5] == ["GenerateServiceLastAccessedDetails"] * 5 and set(order[5:]) == {"GetServiceLastAccessedDetails"}
    sla = snap.service_last_accessed(MOTO_ACCOUNT)
    assert sorted(sla) == sorted(world.arns.values())
    entry = sla[world.arns["alice"]]
    assert (entry["JobType"], entry["JobStatus"], entry["JobCreationDate"]) == ("ACTION_LEVEL", "COMPLETED", "2026-01-02T03:04:05Z")
    service = entry["ServicesLastAccessed"][0]
    assert service["LastAuthenticated"] == "2025-05-01T12:00:00Z"
    assert service["TrackedActionsLastAccessed"] == [
        {"ActionName": "GetObject", "LastAccessedEntity": world.arns["alice"],
         "LastAccessedTime": "2025-05-01T12:00:00Z", "LastAccessedRegion": "eu-west-1"},
        {"ActionName": "PutObject"}]

    # Access keys, with last use as moto tracked it.
    keys = {k["AccessKeyId"]: k for k in snap.access_keys(MOTO_ACCOUNT)}
    assert sorted(keys) == sorted(world.alice_keys)
    used, unused = keys[world.alice_keys[0]], keys[world.alice_keys[1]]
    assert (used["UserName"], used["Status"], used["LastUsedServiceName"], used["LastUsedRegion"]) == ("alice", "Active", "sts", HOME)
    assert used["LastUsedDate"].endswith("Z") and used["CreateDate"].endswith("Z")
    assert (unused["LastUsedDate"], unused["LastUsedServiceName"], unused["LastUsedRegion"]) == (None, "N/A", "N/A")

    # Virtual MFA devices: assigned and unassigned, with whom they belong to; the TOTP seed and
    # QR code (which moto returns) are never stored.
    devices = {d["SerialNumber"]: d for d in snap.virtual_mfa_devices(MOTO_ACCOUNT)}
    assert sorted(devices) == sorted([bob_device, spare_device])
    assert bob_device == f"arn:aws:iam::{MOTO_ACCOUNT}:mfa/bob"
    assert devices[bob_device]["User"]["Arn"] == world.arns["bob"]
    assert devices[bob_device]["EnableDate"].endswith("Z") and devices[bob_device]["User"]["CreateDate"].endswith("Z")
    assert "User" not in devices[spare_device] and "EnableDate" not in devices[spare_device]
    assert all(not {"Base32StringSeed", "QRCodePNG"} & set(d) for d in devices.values())
    assert "Base32StringSeed" in boto3.client("iam", region_name=HOME).list_virtual_mfa_devices()["VirtualMFADevices"][0]
    assert fake.ops("ListVirtualMFADevices") == [{}]  # AssignmentStatus defaults to Any

    # Posture: regions in use = home + where Access Advisor saw activity (eu-west-1).
    posture = snap.posture(MOTO_ACCOUNT)
    assert posture["regions_in_use"] == ["eu-west-1", HOME]
    trail_arn = f"arn:aws:cloudtrail:{HOME}:{MOTO_ACCOUNT}:trail/org-trail"
    assert [t["TrailARN"] for t in posture["trails"]] == [trail_arn]
    assert posture["trail_status"][trail_arn]["IsLogging"] is True
    us = posture["guardduty"][HOME]
    assert len(us["DetectorIds"]) == 1 and us["detectors"][us["DetectorIds"][0]]["Status"] == "ENABLED"
    assert posture["guardduty"]["eu-west-1"] == {"DetectorIds": [], "detectors": {}}
    assert posture["s3_public_access_block"] is None  # NoSuchPublicAccessBlockConfiguration
    assert [a["arn"] for a in posture["access_analyzers"]] == [a["arn"] for a in analyzers]
    assert [f["id"] for f in posture["access_analyzer_findings"]] == ["f-1", "f-2"]  # two nextToken pages
    listed = fake.ops("ListFindingsV2")
    assert [p["analyzerArn"] for p in listed] == [analyzers[0]["arn"]] * 2  # the DISABLED one is skipped
    assert all(p["filter"] == {"status": {"eq": ["ACTIVE"]}} for p in listed)

    # Read-only proof: every call was allow-listed, and every allow-listed read was exercised.
    # (AssumeRole is for several accounts; ListAccounts only answers inside an organization: both have own tests.)
    assert {op for _, op in log.calls} == set().union(*READ_ONLY_OPERATIONS.values()) - {"AssumeRole", "ListAccounts"}


def test_service_last_accessed_follows_markers(aws: None, tmp_path: Path) -> None:
    world = build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    fake = FakeAws()
    pages = [services_page("ACTION_LEVEL", ns) for ns in ("s3", "kms", "ec2")]
    fake.scripts[world.arns["role"]] = JobScript(pages=pages)
    path, _ = collect(tmp_path, fake)

    merged = load_snapshot(path).service_last_accessed(MOTO_ACCOUNT)[world.arns["role"]]["ServicesLastAccessed"]
    assert [s["ServiceNamespace"] for s in merged] == ["s3", "kms", "ec2"]
    job_id = next(j for j, v in fake.jobs.items() if v["arn"] == world.arns["role"])
    reads = [p.get("Marker") for p in fake.ops("GetServiceLastAccessedDetails") if p["JobId"] == job_id]
    assert reads == [None, "page-1", "page-2"]


def test_authorization_details_pages_are_merged_and_bad_documents_kept(aws: None, tmp_path: Path) -> None:
    world = build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    real = boto3.client("iam", region_name=HOME).get_account_authorization_details()
    # On the wire policy documents are URL-encoded JSON strings (botocore's model says string).
    for entity in real["UserDetailList"] + real["GroupDetailList"] + real["RoleDetailList"]:
        for inline in entity.get("UserPolicyList", []) + entity.get("GroupPolicyList", []) + entity.get("RolePolicyList", []):
            inline["PolicyDocument"] = quote(json.dumps(inline["PolicyDocument"]))
        if "AssumeRolePolicyDocument" in entity:
            entity["AssumeRolePolicyDocument"] = quote(json.dumps(entity["AssumeRolePolicyDocument"]))
    for version in (v for p in real["Policies"] for v in p["PolicyVersionList"]):
        version["Document"] = quote(json.dumps(version["Document"]))
    users, rest = real["UserDetailList"], {k: real[k] for k in ("GroupDetailList", "RoleDetailList", "Policies")}
    bob = next(u for u in users if u["UserName"] == "bob")
    bob["UserPolicyList"] = [{"PolicyName": "broken", "PolicyDocument": quote("{not json")}]

    def two_pages(params: dict[str, Any]) -> dict[str, Any]:
        if params.get("Marker") is None:
            return {"UserDetailList": users, "IsTruncated": True, "Marker": "after-users"}
        return {**rest, "IsTruncated": False}

    fake = FakeAws()
    fake.overrides["GetAccountAuthorizationDetails"] = two_pages
    path, _ = collect(tmp_path, fake)

    assert [p.get("Marker") for p in fake.ops("GetAccountAuthorizationDetails")] == [None, "after-users"]
    assert all(p["Filter"] == ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]
               for p in fake.ops("GetAccountAuthorizationDetails"))
    snap = load_snapshot(path)
    details = snap.authorization_details(MOTO_ACCOUNT)
    assert sorted(u["Arn"] for u in details["UserDetailList"]) == sorted([world.arns["alice"], world.arns["bob"]])
    assert [r["Arn"] for r in details["RoleDetailList"]] == [world.arns["role"]]
    by_name = {u["UserName"]: u for u in details["UserDetailList"]}
    assert by_name["alice"]["UserPolicyList"][0]["PolicyDocument"] == policy("s3:GetObject")  # decoded
    assert details["RoleDetailList"][0]["AssumeRolePolicyDocument"] == TRUST
    assert by_name["bob"]["UserPolicyList"][0]["PolicyDocument"] == quote("{not json")  # kept, as AWS sent it
    assert [(e["call"], "broken" in e["message"]) for e in snap.errors] == [("GetAccountAuthorizationDetails", True)]


def test_virtual_mfa_devices_follow_markers(aws: None, tmp_path: Path) -> None:
    world = build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    created = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    def device(name: str) -> dict[str, Any]:
        user = {"Path": "/", "UserName": name, "UserId": f"AIDA{name.upper():0<17}", "CreateDate": created,
                "Arn": f"arn:aws:iam::{MOTO_ACCOUNT}:user/{name}"}
        return {"SerialNumber": f"arn:aws:iam::{MOTO_ACCOUNT}:mfa/{name}", "User": user, "EnableDate": created,
                "Base32StringSeed": b"SEEDSEEDSEEDSEED", "QRCodePNG": b"\x89PNG"}

    def two_pages(params: dict[str, Any]) -> dict[str, Any]:
        if params.get("Marker") is None:
            return {"VirtualMFADevices": [device("alice")], "IsTruncated": True, "Marker": "after-alice"}
        return {"VirtualMFADevices": [device("bob")], "IsTruncated": False}

    fake = FakeAws()
    fake.overrides["ListVirtualMFADevices"] = two_pages
    path, _ = collect(tmp_path, fake)

    assert [p.get("Marker") for p in fake.ops("ListVirtualMFADevices")] == [None, "after-alice"]
    snap = load_snapshot(path)
    assert snap.errors == []
    stored = snap.virtual_mfa_devices(MOTO_ACCOUNT)
    assert [d["User"]["Arn"] for d in stored] == [world.arns["alice"], world.arns["bob"]]
    assert stored[0] == {"SerialNumber": f"arn:aws:iam::{MOTO_ACCOUNT}:mfa/alice", "EnableDate": "2025-01-02T03:04:05Z",
                         "User": {"Path": "/", "UserName": "alice", "UserId": "AIDAALICE000000000000",
                                  "CreateDate": "2025-01-02T03:04:05Z", "Arn": world.arns["alice"]}}


def test_failed_virtual_mfa_listing_is_absent_and_recorded(aws: None, tmp_path: Path) -> None:
    build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    fake = FakeAws()
    fake.failures.append(("ListVirtualMFADevices", lambda p: True, "AccessDenied"))
    path, _ = collect(tmp_path, fake)

    snap = load_snapshot(path)
    assert [(e["call"], "AccessDenied" in e["message"]) for e in snap.errors] == [("ListVirtualMFADevices", True)]
    assert not (path / MOTO_ACCOUNT / "virtual_mfa_devices.json").exists()
    with pytest.raises(SnapshotError, match="virtual_mfa_devices.json was not collected.*AccessDenied"):
        snap.virtual_mfa_devices(MOTO_ACCOUNT)
    assert len(snap.access_keys(MOTO_ACCOUNT)) == 2  # the rest was collected


def test_throttling_backs_off_then_succeeds(aws: None, tmp_path: Path) -> None:
    world = build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    fake = FakeAws()
    fake.throttle = {"GenerateServiceLastAccessedDetails": 2, "GetServiceLastAccessedDetails": 1}
    path, clock = collect(tmp_path, fake)

    snap = load_snapshot(path)
    assert snap.errors == []
    assert sorted(snap.service_last_accessed(MOTO_ACCOUNT)) == sorted(world.arns.values())
    backoffs = [s for s in clock.sleeps if s != POLL]
    retry = SETTINGS.retry
    # Two throttles on one call (attempts 0 and 1), then one on another call (attempt 0).
    ceilings = [retry.base_delay_s, retry.base_delay_s * 2, retry.base_delay_s]
    assert len(backoffs) == 3
    for slept, ceiling in zip(backoffs, ceilings):
        assert ceiling / 2 <= slept <= ceiling


def test_throttling_retries_are_bounded(aws: None, tmp_path: Path) -> None:
    world = build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    fake = FakeAws()
    fake.throttle = {"GetServiceLastAccessedDetails": SETTINGS.retry.max_attempts}  # exhausts the first job
    path, _ = collect(tmp_path, fake)

    snap = load_snapshot(path)
    first_arn = fake.jobs[str(uuid.UUID(int=1))]["arn"]
    assert [(e["call"], first_arn in e["message"], "Throttling" in e["message"]) for e in snap.errors] == [
        ("GetServiceLastAccessedDetails", True, True)]
    assert first_arn not in snap.service_last_accessed(MOTO_ACCOUNT)
    assert len(snap.service_last_accessed(MOTO_ACCOUNT)) == len(world.arns) - 1
    first_reads = [p for p in fake.ops("GetServiceLastAccessedDetails") if p["JobId"] == str(uuid.UUID(int=1))]
    assert len(first_reads) == SETTINGS.retry.max_attempts


def test_failed_job_is_recorded_not_fatal(aws: None, tmp_path: Path) -> None:
    world = build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    fake = FakeAws()
    fake.scripts[world.arns["group"]] = JobScript(
        statuses=["IN_PROGRESS", "FAILED"], error={"Code": "ServiceFailure", "Message": "entity vanished"})
    path, _ = collect(tmp_path, fake)

    snap = load_snapshot(path)
    assert len(snap.errors) == 1
    error = snap.errors[0]
    assert (error["account"], error["call"]) == (MOTO_ACCOUNT, "GetServiceLastAccessedDetails")
    assert world.arns["group"] in error["message"] and "FAILED" in error["message"]
    assert "ServiceFailure: entity vanished" in error["message"]
    sla = snap.service_last_accessed(MOTO_ACCOUNT)
    assert sorted(sla) == sorted(a for k, a in world.arns.items() if k != "group")
    assert snap.errors_for(MOTO_ACCOUNT) == snap.errors


def test_job_timeout_is_recorded_and_slow_jobs_are_polled(aws: None, tmp_path: Path) -> None:
    world = build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    fake = FakeAws()
    fake.scripts[world.arns["role"]] = JobScript(statuses=["IN_PROGRESS"])  # never finishes
    fake.scripts[world.arns["bob"]] = JobScript(statuses=["IN_PROGRESS", "IN_PROGRESS", "COMPLETED"])
    path, clock = collect(tmp_path, fake)

    snap = load_snapshot(path)
    assert [(e["call"], world.arns["role"] in e["message"], "IN_PROGRESS after 30 s" in e["message"])
            for e in snap.errors] == [("GetServiceLastAccessedDetails", True, True)]
    sla = snap.service_last_accessed(MOTO_ACCOUNT)
    assert world.arns["role"] not in sla
    assert sla[world.arns["bob"]]["JobStatus"] == "COMPLETED"
    polls = {arn: sum(1 for p in fake.ops("GetServiceLastAccessedDetails") if fake.jobs[p["JobId"]]["arn"] == arn)
             for arn in (world.arns["role"], world.arns["bob"])}
    assert polls[world.arns["bob"]] == 3
    # Polled every POLL seconds until the 30-s deadline: more than once, never past it by a poll.
    assert 2 <= polls[world.arns["role"]] <= SETTINGS.job_timeout_s / POLL + 1
    assert clock.t >= SETTINGS.job_timeout_s


def test_service_level_granularity(aws: None, tmp_path: Path) -> None:
    world = build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    fake = FakeAws()
    path, _ = collect(tmp_path, fake, granularity="SERVICE_LEVEL")

    assert {p["Granularity"] for p in fake.ops("GenerateServiceLastAccessedDetails")} == {"SERVICE_LEVEL"}
    entry = load_snapshot(path).service_last_accessed(MOTO_ACCOUNT)[world.arns["alice"]]
    assert entry["JobType"] == "SERVICE_LEVEL"
    assert all("TrackedActionsLastAccessed" not in s for s in entry["ServicesLastAccessed"])


def test_multi_account_assumes_the_role_in_each(aws: None, tmp_path: Path) -> None:
    worlds = {acct: build_world(member_session(acct), acct, prefix=f"a{acct[0]}-") for acct in (MEMBER_A, MEMBER_B)}
    member_session(MEMBER_A).client("s3control", region_name=HOME).put_public_access_block(
        AccountId=MEMBER_A, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    fake, log = FakeAws(), ReadOnlyCallLog()
    path, _ = collect(tmp_path, fake, log, accounts=[MEMBER_A, MEMBER_B], role_name="trailbook-reader",
                      external_id="ext-1234")

    assume = fake.ops("AssumeRole")
    assert [p["RoleArn"] for p in assume] == [f"arn:aws:iam::{a}:role/trailbook-reader" for a in (MEMBER_A, MEMBER_B)]
    assert {(p["RoleSessionName"], p["ExternalId"]) for p in assume} == {("trailbook-iam-collect", "ext-1234")}
    assert [s for s, op in log.calls if s == "sts"] == ["sts", "sts"]  # AssumeRole is the only STS call
    assert len(fake.sessions) == 3  # base + one per account, each hooked
    snap = load_snapshot(path)
    assert snap.accounts == (MEMBER_A, MEMBER_B) and snap.errors == []
    for account, world in worlds.items():
        users = sorted(u["Arn"] for u in snap.authorization_details(account)["UserDetailList"])
        assert users == sorted([world.arns["alice"], world.arns["bob"]])
        assert sorted(snap.service_last_accessed(account)) == sorted(world.arns.values())
        assert sorted(k["AccessKeyId"] for k in snap.access_keys(account)) == sorted(world.alice_keys)
        assert set(snap.credential_report(account)["arn"].str.slice(13, 25)) == {account}
    assert snap.posture(MEMBER_A)["s3_public_access_block"]["BlockPublicPolicy"] is True
    assert snap.posture(MEMBER_B)["s3_public_access_block"] is None


def test_failed_assume_role_skips_only_that_account(aws: None, tmp_path: Path) -> None:
    build_world(member_session(MEMBER_A), MEMBER_A)
    fake = FakeAws()
    fake.failures.append(("AssumeRole", lambda p: MEMBER_B in p["RoleArn"], "AccessDenied"))
    path, _ = collect(tmp_path, fake, accounts=[MEMBER_A, MEMBER_B], role_name="reader")

    snap = load_snapshot(path)
    assert snap.accounts == (MEMBER_A,)
    assert [(e["account"], e["call"], "AccessDenied" in e["message"]) for e in snap.errors] == [
        (MEMBER_B, "AssumeRole", True)]


def test_posture_failures_are_absent_not_null(aws: None, tmp_path: Path) -> None:
    build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    fake = FakeAws()
    fake.failures += [("GetPublicAccessBlock", lambda p: True, "AccessDenied"),
                      ("ListDetectors", lambda p: True, "AccessDenied")]
    path, _ = collect(tmp_path, fake, regions=[HOME])

    snap = load_snapshot(path)
    posture = snap.posture(MOTO_ACCOUNT)
    assert "s3_public_access_block" not in posture and posture["guardduty"] == {}
    assert posture["regions_in_use"] == [HOME]  # explicit regions are used as given
    assert sorted(e["call"] for e in snap.errors) == ["GetPublicAccessBlock", "ListDetectors"]


def test_credential_report_that_never_completes_is_an_error(aws: None, tmp_path: Path) -> None:
    build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    fake = FakeAws()
    fake.overrides["GenerateCredentialReport"] = lambda p: {"State": "INPROGRESS", "Description": "working"}
    path, _ = collect(tmp_path, fake, accounts=[MOTO_ACCOUNT])

    snap = load_snapshot(path)
    assert [(e["call"], "still INPROGRESS" in e["message"]) for e in snap.errors] == [("GetCredentialReport", True)]
    with pytest.raises(SnapshotError, match="credential_report.csv was not collected.*still INPROGRESS"):
        snap.credential_report(MOTO_ACCOUNT)
    assert len(snap.authorization_details(MOTO_ACCOUNT)["UserDetailList"]) == 2  # the rest was collected


def test_read_only_guard_refuses_mutating_calls(aws: None) -> None:
    session = boto3.Session(region_name=HOME)
    install_read_only_guard(session, "collect")
    iam = session.client("iam")
    with pytest.raises(ReadOnlyViolation, match="iam:CreateUser"):
        iam.create_user(UserName="mallory")
    with pytest.raises(ReadOnlyViolation, match="iam:ListUsers"):
        iam.list_users()  # reads that the collector does not need are refused too
    assert iam.get_account_authorization_details()["UserDetailList"] == []
    assert boto3.client("iam", region_name=HOME).list_users()["Users"] == []  # nothing was created


def test_call_log_fails_the_test_on_an_unlisted_call(aws: None) -> None:
    session = boto3.Session(region_name=HOME)
    log = ReadOnlyCallLog()
    log.install(session)  # no library guard here: the test hook alone must catch it
    with pytest.raises(pytest.fail.Exception, match="iam:CreateUser"):
        session.client("iam").create_user(UserName="mallory")
    assert log.calls == [("iam", "CreateUser")]


def test_required_iam_policy_matches_the_allow_list() -> None:
    document = tb_aws.required_iam_policy("collect")
    [statement] = document["Statement"]
    expected = {iam_action(s, o) for s, ops in READ_ONLY_OPERATIONS.items() for o in ops if s != "sts"}
    assert set(statement["Action"]) == expected and statement["Effect"] == "Allow"
    assert "access-analyzer:ListFindings" in expected and "s3:GetAccountPublicAccessBlock" in expected
    assert "iam:ListVirtualMFADevices" in expected
    assert all(action in POLICY_DOC for action in expected)  # documented exactly
    assume = tb_aws.required_iam_policy("collect", role_name="trailbook-reader")["Statement"][1]
    assert (assume["Action"], assume["Resource"]) == (["sts:AssumeRole"], "arn:aws:iam::*:role/trailbook-reader")


def test_fakes_reject_responses_that_break_the_botocore_model(aws: None) -> None:
    fake = FakeAws()
    fake.overrides["GetServiceLastAccessedDetails"] = lambda p: {"JobStatus": "COMPLETED", "ServicesLastAccessed": [
        {"ServiceName": "S3", "ServiceNamespace": "s3", "LastAuthenticated": "yesterday"}]}
    session = boto3.Session(region_name=HOME)
    fake.install(session)
    with pytest.raises(AssertionError, match="does not match the botocore model"):
        session.client("iam").get_service_last_accessed_details(JobId=str(uuid.UUID(int=9)))


@pytest.mark.parametrize("kwargs, message", [
    ({"role_name": "reader"}, "without accounts"),
    ({"accounts": [MEMBER_A, MEMBER_B]}, "needs role_name"),
    ({"accounts": ["12345"], "role_name": "reader"}, "not an AWS account id"),
    ({"accounts": [MEMBER_A, MEMBER_A], "role_name": "reader"}, "twice"),
    ({"regions": ["moon-1"]}, "region names"),
    ({"granularity": "RESOURCE_LEVEL"}, "granularity"),
])
def test_bad_arguments_fail_before_any_call(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        collect_snapshot(tmp_path, session=boto3.Session(region_name=HOME, aws_access_key_id="x",
                                                         aws_secret_access_key="y"), **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_snapshot_writer_and_loader_checks(tmp_path: Path) -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    data = AccountData(access_keys=[{"UserName": "u", "AccessKeyId": "AKIA0000000000000000", "Status": "Active",
                                     "CreateDate": datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))),
                                     "LastUsedDate": None, "LastUsedServiceName": "N/A", "LastUsedRegion": "N/A"}])
    path = write_snapshot(tmp_path, {MEMBER_A: data}, source="demo", collected_at=when,
                          errors=[{"account": MEMBER_A, "call": "GetCredentialReport", "message": "AccessDenied"}])
    assert path.name == "iam-2026-03-04T050607Z"
    snap = load_snapshot(path)
    assert snap.access_keys(MEMBER_A)[0]["CreateDate"] == "2025-12-31T22:00:00Z"  # converted to UTC
    with pytest.raises(SnapshotError, match="not collected.*GetCredentialReport: AccessDenied"):
        snap.credential_report(MEMBER_A)
    with pytest.raises(KeyError, match=MEMBER_B):
        snap.posture(MEMBER_B)
    with pytest.raises(FileExistsError):
        write_snapshot(tmp_path, {MEMBER_A: data}, source="demo", collected_at=when)
    with pytest.raises(ValueError, match="source"):
        write_snapshot(tmp_path / "x", {}, source="guess", collected_at=when)  # type: ignore[arg-type]

    manifest = json.loads((path / "snapshot.json").read_text())
    (path / "snapshot.json").write_text(json.dumps({**manifest, "format": "trailbook-iam-snapshot/0"}))
    with pytest.raises(SnapshotError, match="format"):
        load_snapshot(path)
    (path / "snapshot.json").write_text(json.dumps({**manifest, "accounts": [MEMBER_B]}))
    with pytest.raises(SnapshotError, match=f"{MEMBER_B}.*missing"):
        load_snapshot(path)
    with pytest.raises(SnapshotError, match="not an IAM snapshot"):
        load_snapshot(tmp_path)


# --- the organization ----------------------------------------------------------------------

def _organization_with_members(*names: str) -> tuple[str, list[str]]:
    """An organization made in moto with these member accounts; its id and every account id, read back
    through boto3 directly (the test's own view, not the collector's)."""
    org = boto3.client("organizations", region_name=HOME)
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    for name in names:
        org.create_account(Email=f"{name}@example.com", AccountName=name)
    listed = [a["Id"] for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"]]
    return org_id, sorted(listed)


def test_the_organization_and_its_accounts_are_recorded(aws: None, tmp_path: Path) -> None:
    build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    org_id, members = _organization_with_members("prod", "logs")
    assert len(members) == 3 and MOTO_ACCOUNT in members  # the management account and two members
    log = ReadOnlyCallLog()
    path, _ = collect(tmp_path, FakeAws(), log)
    snap = load_snapshot(path)
    assert snap.errors == []
    assert snap.organization == {"id": org_id, "accounts": members}
    assert snap.organization_id == org_id and snap.organization_accounts == tuple(members)
    assert ("organizations", "ListAccounts") in log.calls


def test_an_account_outside_any_organization_records_none_and_no_error(aws: None, tmp_path: Path) -> None:
    build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    path, _ = collect(tmp_path, FakeAws())
    snap = load_snapshot(path)
    assert snap.organization is None and snap.errors == []
    assert snap.organization_accounts == (MOTO_ACCOUNT,)
    assert "organization" not in json.loads((path / "snapshot.json").read_text())


def test_a_member_that_cannot_list_accounts_keeps_the_organization_id(aws: None, tmp_path: Path) -> None:
    build_world(boto3.Session(region_name=HOME), MOTO_ACCOUNT)
    org_id, _ = _organization_with_members("prod")
    fake = FakeAws()
    fake.failures.append(("ListAccounts", lambda p: True, "AccessDeniedException"))
    path, _ = collect(tmp_path, fake)
    snap = load_snapshot(path)
    assert snap.organization == {"id": org_id, "accounts": []}
    assert snap.organization_accounts == (MOTO_ACCOUNT,)
    assert [(e["call"], "AccessDenied" in e["message"]) for e in snap.errors] == [("ListAccounts", True)]


@pytest.mark.parametrize("organization,message", [
    ({"id": "not-an-org", "accounts": []}, "organization must be"),
    ({"id": "o-abcdefghij", "accounts": ["12345"]}, "12345"),
    ({"id": "o-abcdefghij"}, "organization must be"),
])
def test_a_bad_organization_in_snapshot_json_is_refused(tmp_path: Path, organization: dict, message: str) -> None:
    path = write_snapshot(tmp_path, {MEMBER_A: AccountData()}, source="live",
                          collected_at=datetime(2026, 1, 2, tzinfo=UTC))
    manifest = json.loads((path / "snapshot.json").read_text())
    (path / "snapshot.json").write_text(json.dumps({**manifest, "organization": organization}))
    with pytest.raises(SnapshotError, match=message):
        load_snapshot(path)
