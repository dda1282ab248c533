"""The injected incidents: fixed times in the detection week, the exact events an attacker's
actions leave, and the ground truth the manifest records for each.

Story: Friday a password spray; Saturday a brute force on carol (no MFA) that succeeds;
Sunday a root console sign-in without MFA; Monday night ci-deploy's leaked key is used from a
new address — whoami, recon, denied probing, self-escalation to admin, a backdoor user, GPU
instances in a region the account never used, a public bucket policy, GuardDuty deleted and
finally the org trail stopped. Nothing is logged until alice restarts the trail at 13:37.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from typing import Any, TypedDict

from . import ids, records
from .catalog import api
from .usage import Usage
from .window import aws_text_time, epoch, iso
from .world import ADMIN_POLICY_ARN, DEV, OFFICE_NYC, PROD, UA, AccessKey, User, World, doc

SPRAY_IP = "45.155.205.91"
BRUTE_IP = "185.220.101.34"
ROOT_IP = "185.220.101.47"
LEAK_IP = "45.155.205.233"
ATTACKER_UA = ("Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/linux#6.5.0-44-generic md/arch#x86_64 lang/python#3.11.9 "
               "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.11")
KALI_UA = ("aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.8 "
           "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#kali.2024 md/prompt#off "
           "md/command#s3api.list-buckets")
SPRAY_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Safari/537.36")
BRUTE_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ROOT_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/124.0.0.0 Safari/537.36")

PUBLIC_BUCKET = "acme-prod-customer-exports"
BACKDOOR_USER = "svc-backup"
ESCALATION_POLICY = "ci-deploy-ops"
MINING_REGION = "ap-southeast-1"
QUOTA_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", MINING_REGION, "sa-east-1"]
RECON_REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1"]

# Fixed times (UTC), all in the detection week.
SPRAY_AT = epoch(2026, 10, 23, 3, 10, 4)
BRUTE_AT = epoch(2026, 10, 24, 2, 14, 9)
ROOT_AT = epoch(2026, 10, 25, 4, 40, 12)
LEAK_AT = epoch(2026, 10, 26, 1, 12, 7)
STOP_AT = epoch(2026, 10, 26, 3, 14, 22)
RESTART_AT = epoch(2026, 10, 26, 13, 37, 5)
ALICE_LOGIN_AT = epoch(2026, 10, 26, 13, 35, 40)   # inside the gap: IAM knows it, CloudTrail does not
LOGGING_GAP = (STOP_AT + 1, RESTART_AT)             # [start, end): nothing is delivered


class Caller(TypedDict):
    """Who makes a call: passed as **caller to `_Recorder.call`."""

    identity: dict
    ip: str
    ua: str


@dataclass
class Incident:
    id: str
    description: str
    account_id: str
    principal_arn: str | None
    access_key_id: str | None
    source_ip: str
    events: list[tuple[int, dict]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    listed: bool = True   # False: delivered events that are not an incident (the defenders' response)

    def manifest(self) -> dict[str, Any]:
        times = [t for t, _ in self.events]
        return {
            "id": self.id, "description": self.description, "account_id": self.account_id,
            "principal_arn": self.principal_arn, "access_key_id": self.access_key_id, "source_ip": self.source_ip,
            "first_event_time": iso(min(times)), "last_event_time": iso(max(times)),
            "event_ids": [r["eventID"] for _, r in self.events],
            "event_names": [r["eventName"] for _, r in self.events],
            **self.details,
        }


class _Recorder:
    """Builds incident records and books what they use, so the IAM snapshot agrees."""

    def __init__(self, world: World, usage: Usage, rng: random.Random):
        self.world, self.usage, self.rng = world, usage, rng

    def call(self, inc: Incident, t: int, key: str, region: str, *, identity: dict, ip: str, ua: str,
             params: Any = "default", response: Any = None, resources: list | None = None, denied: bool = False,
             error: tuple[str, str] | None = None, entity: str | None = None, console: bool = False) -> dict:
        a = api(key)
        account = identity.get("accountId", PROD)
        if params == "default":
            res = self.world.accounts[account].resources
            params, resources = a.params(res, self.rng, region) if a.params else (None, None)
        if denied:
            error = records.denial(a, entity or identity.get("arn", ""), region, account)
        rec = records.api_call(self.rng, t=t, identity=identity, account=account, region=region, api=a, ip=ip, ua=ua,
                               params=params, resources=resources, response=response, error=error, console=console)
        inc.events.append((t, rec))
        key_id = identity.get("accessKeyId") or None
        self.usage.call(entity or _entity_of(identity), key_id, a, region, t)
        return rec

    def login(self, inc: Incident, t: int, *, ip: str, ua: str, success: bool, mfa_used: bool,
              user: User | None = None, user_name: str | None = None, root: bool = False) -> dict:
        rec = records.console_login(self.rng, t=t, account=PROD, ip=ip, ua=ua, success=success, mfa_used=mfa_used,
                                    user=user, user_name=user_name, root=root)
        inc.events.append((t, rec))
        if success:
            self.usage.sign_in(user.arn if user else f"arn:aws:iam::{PROD}:root", t)
        return rec


def _entity_of(identity: dict) -> str | None:
    if identity.get("type") == "AssumedRole":
        return identity["sessionContext"]["sessionIssuer"]["arn"]
    return identity.get("arn")


def build_incidents(world: World, usage: Usage, seed: int) -> list[Incident]:
    """Every incident's records (in time order) and manifest entry; mutates the world where the
    attacker changed IAM (escalation, backdoor user), so the snapshot shows the aftermath."""
    rng = random.Random(f"trailbook-demo:{seed}:incidents")
    rec = _Recorder(world, usage, rng)
    prod = world.accounts[PROD]
    users = prod.users
    out: list[Incident] = []

    # 3. Password spray: one address, many user names (two of them not IAM users, so AWS hides them).
    spray = Incident("password_spray", "One external address fails console sign-in against nine user names "
                     "(seven real, two not IAM users and logged as HIDDEN_DUE_TO_SECURITY_REASONS) in 18 minutes",
                     PROD, None, None, SPRAY_IP)
    names = ["admin", "alice", "bob", "carol", "test", "dave", "ci-deploy", "svc-reporting", "legacy-backup",
             "alice", "carol", "admin", "bob", "dave"]
    for n, name in enumerate(names):
        user = users.get(name)
        rec.login(spray, SPRAY_AT + n * 76 + rng.randrange(20), ip=SPRAY_IP, ua=SPRAY_UA, success=False, mfa_used=False,
                  user=user, user_name=None if user else name)
    spray.details["attempted_user_names"] = sorted(set(names))
    out.append(spray)

    # 2. Brute force on carol (password, no MFA), then success and a little browsing.
    carol = users["carol"]
    brute = Incident("brute_force_then_success", "15 failed console sign-ins for carol from one external address "
                     "within 9 minutes, then a successful sign-in without MFA and console activity",
                     PROD, carol.arn, None, BRUTE_IP)
    t = BRUTE_AT
    for _ in range(15):
        rec.login(brute, t, ip=BRUTE_IP, ua=BRUTE_UA, success=False, mfa_used=False, user=carol)
        t += 31 + rng.randrange(8)
    t += 25
    rec.login(brute, t, ip=BRUTE_IP, ua=BRUTE_UA, success=True, mfa_used=False, user=carol)
    session_key = ids.access_key_id(rng, "ASIA")
    identity = records.console_user_identity(carol, session_key, t, mfa=False)
    for gap, key in ((48, "s3:ListBuckets"), (21, "s3:GetBucketLocation"), (35, "ec2:DescribeInstances")):
        t += gap
        rec.call(brute, t, key, "us-east-1", identity=identity, ip=BRUTE_IP, ua=BRUTE_UA, console=True)
    brute.details["session_access_key_id"] = session_key
    out.append(brute)

    # 1. Root console sign-in without MFA from an unusual address, then a look around.
    root_arn = f"arn:aws:iam::{PROD}:root"
    root = Incident("root_console_login_no_mfa", "Root console sign-in without MFA from an external address, "
                    "followed by root API calls", PROD, root_arn, None, ROOT_IP)
    rec.login(root, ROOT_AT, ip=ROOT_IP, ua=ROOT_UA, success=True, mfa_used=False, root=True)
    session_key = ids.access_key_id(rng, "ASIA")
    identity = records.root_identity(PROD, session_key, ROOT_AT)
    t = ROOT_AT
    for gap, key in ((53, "iam:GetAccountSummary"), (25, "iam:ListUsers"), (41, "iam:GetAccountPasswordPolicy"),
                     (37, "s3:ListBuckets"), (66, "iam:ListUsers")):
        t += gap
        params = {"Host": "s3.us-east-1.amazonaws.com"} if key.startswith("s3:") else None
        rec.call(root, t, key, "us-east-1", identity=identity, ip=ROOT_IP, ua=ROOT_UA, params=params, console=True,
                 entity=root_arn)
    root.details["session_access_key_id"] = session_key
    out.append(root)

    out.extend(_leaked_key(world, rec, rng))
    return out


def _leaked_key(world: World, rec: _Recorder, rng: random.Random) -> list[Incident]:
    prod = world.accounts[PROD]
    res = prod.resources
    ci = prod.users["ci-deploy"]
    key = ci.keys[0].id
    me = records.iam_user_identity(ci, key)
    kw: Caller = {"identity": me, "ip": LEAK_IP, "ua": ATTACKER_UA}

    def make(incident_id: str, text: str) -> Incident:
        return Incident(incident_id, text, PROD, ci.arn, key, LEAK_IP)

    out: list[Incident] = []

    first = make("leaked_key_first_use", "ci-deploy's long-term key used for the first time from a new external "
                 "address and a new user agent: GetCallerIdentity")
    rec.call(first, LEAK_AT, "sts:GetCallerIdentity", "us-east-1", **kw)
    out.append(first)

    recon = make("leaked_key_recon", "A burst of List/Describe/Get calls across 10 services and 6 regions "
                 "in 13 minutes from the leaked key")
    calls = [("iam:ListUsers", "us-east-1"), ("iam:ListRoles", "us-east-1"), ("iam:ListPolicies", "us-east-1"),
             ("iam:ListGroups", "us-east-1"), ("iam:ListAttachedUserPolicies", "us-east-1"),
             ("iam:ListUserPolicies", "us-east-1"), ("s3:ListBuckets", "us-east-1")]
    calls += [(k, "us-east-1") for k in ("s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketLocation")] * 2
    for region in RECON_REGIONS:
        calls += [("ec2:DescribeInstances", region), ("ec2:DescribeSecurityGroups", region),
                  ("lambda:ListFunctions20150331", region), ("dynamodb:ListTables", region),
                  ("rds:DescribeDBInstances", region)]
    calls += [("sns:ListTopics", "us-east-1"), ("sns:ListTopics", "us-west-2"), ("logs:DescribeLogGroups", "us-east-1"),
              ("logs:DescribeLogGroups", "us-west-2"), ("monitoring:DescribeAlarms", "us-east-1")]
    t = LEAK_AT + 173
    for call_key, region in calls:
        own = call_key in ("iam:ListAttachedUserPolicies", "iam:ListUserPolicies")  # "what can I do?"
        rec.call(recon, t, call_key, region, **kw, params={"userName": ci.name} if own else "default")
        t += 13 + rng.randrange(5)
    out.append(recon)

    denied = make("leaked_key_access_denied_burst", "13 distinct API calls denied (AccessDenied / "
                  "Client.UnauthorizedOperation) within 9 minutes: the attacker probing the key's limits")
    t = epoch(2026, 10, 26, 1, 31, 2)
    probes: list[tuple[str, str, Any]] = [
        ("iam:GetAccountAuthorizationDetails", "us-east-1", None), ("iam:GetAccountSummary", "us-east-1", None),
        ("secretsmanager:ListSecrets", "us-east-1", None), ("secretsmanager:GetSecretValue", "us-east-1", None),
        ("ec2:GetPasswordData", "us-east-1", {"instanceId": res.instances["us-east-1"][0]}),
        ("iam:GetLoginProfile", "us-east-1", None), ("iam:GetAccountPasswordPolicy", "us-east-1", None),
        ("ec2:CreateKeyPair", "us-east-1", {"keyName": "ops-recovery", "keyType": "rsa", "keyFormat": "pem"}),
        ("guardduty:ListDetectors", "us-east-1", None), ("sts:AssumeRole", "us-east-1", None),
        ("ec2:ModifyInstanceAttribute", "us-east-1", {"instanceId": res.instances["us-east-1"][1],
                                                       "userData": "<sensitiveDataRemoved>"}),
        ("lambda:AddPermission20150331v2", "us-east-1", None), ("iam:CreateLoginProfile", "us-east-1", None),
    ]
    for call_key, region, params in probes:
        error = None
        if call_key == "sts:AssumeRole":
            error = ("AccessDenied", f"User: {ci.arn} is not authorized to perform: sts:AssumeRole on resource: "
                                     f"arn:aws:iam::{DEV}:role/OrganizationAccountAccessRole")
        rec.call(denied, t, call_key, region, **kw, params=params, denied=error is None, error=error)
        t += 35 + rng.randrange(12)
    out.append(denied)

    # Privilege escalation: the key's own IAM rights make it an administrator.
    escalation = make("leaked_key_privilege_escalation", "The leaked key attaches AdministratorAccess to its own "
                      "user and adds an inline policy allowing * on *")
    t = epoch(2026, 10, 26, 1, 44, 10)
    rec.call(escalation, t, "iam:AttachUserPolicy", "us-east-1", **kw,
             params={"userName": ci.name, "policyArn": ADMIN_POLICY_ARN})
    inline = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    rec.call(escalation, t + 52, "iam:PutUserPolicy", "us-east-1", **kw,
             params={"userName": ci.name, "policyName": ESCALATION_POLICY,
                     "policyDocument": json.dumps(inline, indent=4)})
    ci.attached.append(ADMIN_POLICY_ARN)
    ci.inline[ESCALATION_POLICY] = inline
    escalation.details["policy_arn"] = ADMIN_POLICY_ARN
    escalation.details["inline_policy_name"] = ESCALATION_POLICY
    out.append(escalation)

    # Persistence: a backdoor administrator with its own key, used at once from the same address.
    persistence = make("leaked_key_persistence", f"The leaked key creates user {BACKDOOR_USER}, makes it an "
                       "administrator, creates an access key for it, and that key is used from the same address")
    t = epoch(2026, 10, 26, 1, 52, 30)
    backdoor = User(PROD, BACKDOOR_USER, ids.unique_id(world.rng, "AIDA"), t, attached=[ADMIN_POLICY_ARN])
    rec.call(persistence, t, "iam:CreateUser", "us-east-1", **kw, params={"userName": BACKDOOR_USER},
             response={"user": {"path": "/", "userName": BACKDOOR_USER, "userId": backdoor.user_id, "arn": backdoor.arn,
                                "createDate": aws_text_time(t)}})
    rec.call(persistence, t + 41, "iam:AttachUserPolicy", "us-east-1", **kw,
             params={"userName": BACKDOOR_USER, "policyArn": ADMIN_POLICY_ARN})
    new_key = ids.access_key_id(world.rng, "AKIA")
    key_created = t + 92
    rec.call(persistence, key_created, "iam:CreateAccessKey", "us-east-1", **kw, params={"userName": BACKDOOR_USER},
             response={"accessKey": {"userName": BACKDOOR_USER, "accessKeyId": new_key, "status": "Active",
                                     "createDate": aws_text_time(key_created)}})
    backdoor.keys.append(AccessKey(new_key, BACKDOOR_USER, "Active", key_created))
    prod.users[BACKDOOR_USER] = backdoor
    them: Caller = {"identity": records.iam_user_identity(backdoor, new_key), "ip": LEAK_IP, "ua": ATTACKER_UA}
    t = epoch(2026, 10, 26, 2, 3, 40)
    for gap, call_key in ((0, "sts:GetCallerIdentity"), (35, "s3:ListBuckets"), (37, "iam:ListUsers")):
        t += gap
        rec.call(persistence, t, call_key, "us-east-1", **them)
    persistence.details.update(created_user_arn=backdoor.arn, created_access_key_id=new_key)
    out.append(persistence)

    # Crypto-mining: vCPU quota probes across regions, then GPU instances in a region never used.
    mining = make("leaked_key_cryptomining", f"Service-quota probes for L-1216C47A in {len(QUOTA_REGIONS)} regions, "
                  f"then GPU RunInstances (maxCount >= 10) in {MINING_REGION}, a region the account never used; "
                  "some fail (VcpuLimitExceeded, explicit SCP deny), one launches four p3.2xlarge")
    t = epoch(2026, 10, 26, 2, 20, 3)
    for region in QUOTA_REGIONS:
        rec.call(mining, t, "servicequotas:GetServiceQuota", region, **kw)
        t += 17 + rng.randrange(6)
    vcpu = ("VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit of 32 allows for "
            "the instance bucket that the specified instance type belongs to. Please visit "
            "http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.")
    scp = ("Client.UnauthorizedOperation", f"You are not authorized to perform this operation. User: {ci.arn} is not "
           f"authorized to perform: ec2:RunInstances on resource: "
           f"arn:aws:ec2:{MINING_REGION}:{PROD}:instance/* with an "
           "explicit deny in a service control policy. Encoded authorization failure message: "
           # An opaque blob (decoded by sts:DecodeAuthorizationMessage), not a session token.
           + base64.urlsafe_b64encode(rng.randbytes(96)).decode().rstrip("="))
    launches = [(epoch(2026, 10, 26, 2, 31, 10), "p3.2xlarge", 10, 20, vcpu),
                (epoch(2026, 10, 26, 2, 32, 5), "g4dn.12xlarge", 1, 10, scp),
                (epoch(2026, 10, 26, 2, 33, 40), "p3.2xlarge", 1, 10, None),
                (epoch(2026, 10, 26, 2, 36, 2), "p3.2xlarge", 1, 10, vcpu)]
    launched: list[str] = []
    for t, itype, lo, hi, error in launches:
        params = {"instancesSet": {"items": [{"imageId": "ami-0e4b5c1d2a3f60789", "minCount": lo, "maxCount": hi}]},
                  "instanceType": itype, "blockDeviceMapping": {}, "monitoring": {"enabled": False},
                  "disableApiTermination": False, "disableApiStop": False, "clientToken": ids.uuid4(rng),
                  "userData": "<sensitiveDataRemoved>"}
        response = None
        if error is None:
            items = []
            for _ in range(4):
                instance = ids.hex_id(rng, "i-0")
                launched.append(instance)
                items.append({"instanceId": instance, "imageId": "ami-0e4b5c1d2a3f60789", "instanceType": itype,
                              "currentState": {"code": 0, "name": "pending"},
                              "placement": {"availabilityZone": f"{MINING_REGION}a", "tenancy": "default"}})
            response = {"requestId": ids.uuid4(rng), "reservationId": ids.hex_id(rng, "r-0"), "ownerId": PROD,
                        "groupSet": {}, "instancesSet": {"items": items}}
        rec.call(mining, t, "ec2:RunInstances", MINING_REGION, **kw, params=params, response=response, error=error)
    mining.details.update(region=MINING_REGION, quota_regions=QUOTA_REGIONS, launched_instance_ids=launched)
    out.append(mining)

    kali = make("leaked_key_kali_user_agent", "One call from the leaked key with a Kali Linux aws-cli user agent")
    rec.call(kali, epoch(2026, 10, 26, 2, 58, 31), "s3:ListBuckets", "us-east-1", identity=me, ip=LEAK_IP, ua=KALI_UA)
    kali.details["user_agent"] = KALI_UA
    out.append(kali)

    bucket = make("public_bucket_policy",
                  f"PutBucketPolicy on {PUBLIC_BUCKET} granting s3:GetObject to Principal \"*\"")
    policy = {"Version": "2012-10-17",
              "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                             "Resource": f"arn:aws:s3:::{PUBLIC_BUCKET}/*"}]}
    rec.call(bucket, epoch(2026, 10, 26, 3, 5, 12), "s3:PutBucketPolicy", "us-east-1", **kw,
             params={"bucketPolicy": policy, "bucketName": PUBLIC_BUCKET,
                     "Host": f"{PUBLIC_BUCKET}.s3.us-east-1.amazonaws.com", "policy": ""},
             resources=[{"accountId": PROD, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{PUBLIC_BUCKET}"}])
    bucket.details["bucket"] = PUBLIC_BUCKET
    out.append(bucket)

    guardduty = make("guardduty_deleted", "GuardDuty detector in us-east-1 deleted by the leaked key")
    rec.call(guardduty, epoch(2026, 10, 26, 3, 9, 40), "guardduty:DeleteDetector", "us-east-1", **kw)
    guardduty.details["detector_id"] = res.detector_id("us-east-1")
    out.append(guardduty)

    stopped = make("cloudtrail_stopped", "StopLogging on the organization trail by the leaked key; nothing is "
                   "logged until alice restarts it at 13:37 UTC")
    rec.call(stopped, STOP_AT, "cloudtrail:StopLogging", "us-east-1", **kw)
    # Recovery (alice, console, MFA): her sign-in falls in the gap, so only the calls after StartLogging are logged.
    alice = prod.users["alice"]
    rec.usage.sign_in(alice.arn, ALICE_LOGIN_AT)
    alice_id = records.console_user_identity(alice, ids.access_key_id(rng, "ASIA"), ALICE_LOGIN_AT, mfa=True)
    recovery = Incident("recovery", "alice restarts the trail", PROD, alice.arn, None, OFFICE_NYC[0], listed=False)
    for gap, call_key in ((0, "cloudtrail:StartLogging"), (38, "cloudtrail:GetTrailStatus"),
                          (29, "cloudtrail:DescribeTrails")):
        rec.call(recovery, RESTART_AT + gap, call_key, "us-east-1", identity=alice_id, ip=OFFICE_NYC[0],
                 ua=UA["chrome_mac"], console=True)
    stopped.details.update(trail_arn=res.trail_arn,
                           logging_gap={"start": iso(LOGGING_GAP[0]), "end": iso(LOGGING_GAP[1])},
                           recovery_event_ids=[r["eventID"] for _, r in recovery.events],
                           recovery_principal_arn=alice.arn)
    out.append(stopped)
    out.append(recovery)
    return out
