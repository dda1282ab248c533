"""The demo organisation: accounts, their resources, IAM users, groups, roles, policies, keys,
and the network facts (office, VPN and CI addresses; user agents) that the events use.

Everything is derived from one seeded generator, so a seed fixes every id and key; the
event volume (`events=`) never changes the organisation.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

from . import ids
from .window import DAY, SNAPSHOT_TIME, epoch

PROD, DEV, SECURITY = "111111111111", "222222222222", "333333333333"
ORG_ID = "o-7k2p9x4m1q"

# Organisation egress addresses (documentation ranges only).
CI_IPS = ["192.0.2.10", "192.0.2.11"]
DEV_CI_IP = "192.0.2.12"
REPORTING_IP = "192.0.2.20"
OFFICE_NYC = ["198.51.100.10", "198.51.100.11"]
OFFICE_DUBLIN = "198.51.100.40"
VPN = ["203.0.113.5", "203.0.113.6"]

UA = {
    "chrome_mac": ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/141.0.0.0 Safari/537.36"),
    "firefox_win": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:143.0) Gecko/20100101 Firefox/143.0",
    "edge_win": ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/141.0.0.0 Safari/537.36 Edg/141.0.0.0"),
    "chrome_linux": ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/141.0.0.0 Safari/537.36"),
    "safari_mac": ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                   "Version/26.0 Safari/605.1.15"),
    "cli_mac": ("aws-cli/2.31.4 md/awscrt#0.27.6 ua/2.1 os/macos#24.6.0 md/arch#arm64 lang/python#3.13.7 "
                "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off"),
    "cli_linux": ("aws-cli/2.30.7 md/awscrt#0.27.6 ua/2.1 os/linux#6.14.0-33-generic md/arch#x86_64 "
                  "lang/python#3.13.7 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe "
                  "md/distrib#ubuntu.24 md/prompt#off"),
    "terraform": ("APN/1.0 HashiCorp/1.0 Terraform/1.13.3 (+https://www.terraform.io) terraform-provider-aws/6.14.1 "
                  "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.39.2 ua/2.1 os/linux "
                  "lang/go#1.24.6 md/GOOS#linux md/GOARCH#amd64"),
    "boto3_ci": ("Boto3/1.40.41 md/Botocore#1.40.41 ua/2.1 os/linux#6.8.0-1036-aws md/arch#x86_64 "
                 "lang/python#3.12.11 md/pyimpl#CPython m/Z,b cfg/retry-mode#legacy Botocore/1.40.41"),
    "boto3_reporting": ("Boto3/1.40.30 md/Botocore#1.40.30 ua/2.1 os/linux#6.1.147-172.266.amzn2023.x86_64 "
                        "md/arch#x86_64 lang/python#3.11.13 md/pyimpl#CPython cfg/retry-mode#legacy "
                        "Botocore/1.40.30"),
    "boto3_lambda": ("Boto3/1.40.4 md/Botocore#1.40.4 ua/2.1 os/linux#5.10.240-258.954.amzn2.x86_64 "
                     "md/arch#x86_64 lang/python#3.12.11 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 "
                     "cfg/retry-mode#legacy Botocore/1.40.4"),
    "ssm_agent": "aws-sdk-go/1.55.7 (go1.23.10; linux; amd64) amazon-ssm-agent/3.3.2958.0",
    "java_app": ("aws-sdk-java/2.33.4 md/io#sync md/http#Apache ua/2.1 os/Linux#6.1.147-172.266.amzn2023.x86_64 "
                 "lang/java#21.0.8 md/OpenJDK_64-Bit_Server_VM#21.0.8+9-LTS md/vendor#Amazon.com_Inc. "
                 "md/en_US m/D,N"),
    "cw_agent": "CWAgent/1.300059.0 (go1.24.6; linux; amd64) ip-10-10-12-34.ec2.internal",
}

ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
SSM_CORE_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
ASG_POLICY_ARN = "arn:aws:iam::aws:policy/aws-service-role/AutoScalingServiceRolePolicy"

AWS_MANAGED_DOCS = {
    ADMIN_POLICY_ARN: [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    SSM_CORE_ARN: [
        {"Effect": "Allow",
         "Action": ["ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument",
                    "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters",
                    "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory",
                    "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus",
                    "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation"],
         "Resource": "*"},
        {"Effect": "Allow",
         "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
         "Resource": "*"},
        {"Effect": "Allow",
         "Action": ["ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage",
                    "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"],
         "Resource": "*"},
    ],
    ASG_POLICY_ARN: [
        {"Sid": "EC2InstanceManagement", "Effect": "Allow",
         "Action": ["ec2:AttachClassicLinkVpc", "ec2:CancelSpotInstanceRequests", "ec2:CreateFleet", "ec2:CreateTags",
                    "ec2:DeleteTags", "ec2:Describe*", "ec2:DetachClassicLinkVpc",
                    "ec2:GetInstanceTypesFromInstanceRequirements", "ec2:GetSecurityGroupsForVpc",
                    "ec2:ModifyInstanceAttribute", "ec2:RequestSpotInstances", "ec2:RunInstances",
                    "ec2:StartInstances", "ec2:StopInstances", "ec2:TerminateInstances"],
         "Resource": "*"},
        {"Sid": "ELBManagement", "Effect": "Allow",
         "Action": ["elasticloadbalancing:Register*", "elasticloadbalancing:Deregister*",
                    "elasticloadbalancing:Describe*"],
         "Resource": "*"},
        {"Sid": "CWManagement", "Effect": "Allow",
         "Action": ["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData",
                    "cloudwatch:PutMetricAlarm"],
         "Resource": "*"},
    ],
}
AWS_MANAGED_NAMES = {ADMIN_POLICY_ARN: "AdministratorAccess", SSM_CORE_ARN: "AmazonSSMManagedInstanceCore",
                     ASG_POLICY_ARN: "AutoScalingServiceRolePolicy"}
AWS_MANAGED_IDS = {ADMIN_POLICY_ARN: "ANPAIWMBCKSKIEE64ZLYK", SSM_CORE_ARN: "ANPAIXSHM2BNB2D3AXXRU",
                   ASG_POLICY_ARN: "ANPAJC2TGHWB3ONCRO6SW"}


def _service_trust(service: str) -> dict:
    """A role trust policy letting one AWS service assume the role."""
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


EC2_TRUST = _service_trust("ec2.amazonaws.com")
LAMBDA_TRUST = _service_trust("lambda.amazonaws.com")
ASG_TRUST = _service_trust("autoscaling.amazonaws.com")
SECURITY_ADMIN_TEXT = "Security team read + CloudTrail/GuardDuty admin"


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(*actions: str, resource: str | list[str] = "*") -> dict:
    return {"Effect": "Allow", "Action": list(actions), "Resource": resource}


@dataclass
class Resources:
    """One account's named resources, used to fill requestParameters."""

    account: str
    regions: list[str]
    cidr: str  # the VPC's first two octets, e.g. "10.10"
    buckets: list[str]
    tables: list[str]
    functions: list[str]
    secrets: list[str]
    parameters: list[str]
    log_groups: list[str]
    role_names: list[str] = field(default_factory=list)
    user_names: list[str] = field(default_factory=list)
    policy_arns: list[str] = field(default_factory=list)
    instances: dict[str, list[str]] = field(default_factory=dict)
    kms_keys: dict[str, str] = field(default_factory=dict)
    detectors: dict[str, str] = field(default_factory=dict)
    vpc_endpoints: dict[str, dict[str, str]] = field(default_factory=dict)  # region → service → vpce id
    secret_suffix: dict[str, str] = field(default_factory=dict)
    trail_arn: str = ""

    def kms_key(self, region: str) -> str:
        return self.kms_keys.get(region) or next(iter(self.kms_keys.values()))

    def secret_arn(self, region: str, name: str) -> str:
        return f"arn:aws:secretsmanager:{region}:{self.account}:secret:{name}-{self.secret_suffix.get(name, 'AbCdEf')}"

    def detector_id(self, region: str) -> str:
        return self.detectors.get(region) or next(iter(self.detectors.values()))

    def private_ip(self, region: str) -> str:
        return f"{self.cidr}.12.34"


@dataclass
class AccessKey:
    id: str
    user: str
    status: str
    created: int
    prior_use: tuple[int, str, str] | None = None  # (time, service, region) of the last use before the window


@dataclass
class User:
    account: str
    name: str
    user_id: str
    created: int
    groups: list[str] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)   # managed policy ARNs
    inline: dict[str, dict] = field(default_factory=dict)
    password: bool = False
    password_changed: int | None = None
    password_prior_use: int | None = None
    mfa: bool = False
    keys: list[AccessKey] = field(default_factory=list)
    # namespace → (time, region, actions) of the last use before the window
    prior_usage: dict[str, tuple[int, str, list[str]]] = field(default_factory=dict)
    human: bool = False

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:user/{self.name}"


@dataclass
class Role:
    account: str
    name: str
    role_id: str
    created: int
    trust: dict
    path: str = "/"
    attached: list[str] = field(default_factory=list)
    inline: dict[str, dict] = field(default_factory=dict)
    instance_profile: bool = False
    prior_usage: dict[str, tuple[int, str, list[str]]] = field(default_factory=dict)
    description: str = ""

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role{self.path}{self.name}"


@dataclass
class Group:
    account: str
    name: str
    group_id: str
    created: int
    attached: list[str] = field(default_factory=list)
    inline: dict[str, dict] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:group/{self.name}"


@dataclass
class Policy:
    account: str
    name: str
    policy_id: str
    created: int
    updated: int
    document: dict
    description: str = ""

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:policy/{self.name}"


@dataclass
class Account:
    id: str
    name: str
    regions: list[str]
    resources: Resources
    root_created: int
    root_mfa: bool
    root_prior_password_use: int | None
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    s3_public_access_block: dict | None = None


@dataclass
class World:
    accounts: dict[str, Account]
    rng: random.Random  # for ids minted later (new users, keys, sessions) in a fixed order

    def user(self, account: str, name: str) -> User:
        return self.accounts[account].users[name]

    def role(self, account: str, name: str) -> Role:
        return self.accounts[account].roles[name]

    def region_list(self) -> list[str]:
        return sorted({r for a in self.accounts.values() for r in a.regions})


def app_server_policy(acct: Account) -> dict:
    """What an application server may do: its keys, secrets, tables and log groups."""
    res = acct.resources
    return doc(
        allow("kms:Decrypt", "kms:GenerateDataKey", resource=list(res.kms_keys.values())),
        allow("secretsmanager:GetSecretValue", resource=[res.secret_arn(acct.regions[0], s) for s in res.secrets]),
        allow("dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
              resource=[f"arn:aws:dynamodb:*:{acct.id}:table/{t}" for t in res.tables]),
        allow("logs:CreateLogStream", "logs:PutLogEvents",
              resource=f"arn:aws:logs:*:{acct.id}:log-group:/{acct.name}/app/*"),
    )


def ci_policy(acct: Account) -> dict:
    """The pipeline's rights. Terraform manages infrastructure *and* IAM users: the escalation path."""
    return doc(
        allow("ec2:Describe*", "ec2:CreateTags", "s3:ListAllMyBuckets", "s3:GetBucket*",
              "s3:GetEncryptionConfiguration", "lambda:Get*", "lambda:List*", "lambda:UpdateFunctionCode",
              "lambda:PublishVersion",
              "dynamodb:Describe*", "dynamodb:List*", "logs:Describe*", "cloudwatch:Describe*", "sns:List*", "sns:Get*",
              "rds:Describe*"),
        allow("iam:GetRole", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetUser", "iam:List*"),
        allow("iam:CreateUser", "iam:TagUser", "iam:AttachUserPolicy", "iam:PutUserPolicy", "iam:CreateAccessKey",
              resource=f"arn:aws:iam::{acct.id}:user/*"),
    )


def _before_snapshot(days: float, hour: int = 0) -> int:
    return SNAPSHOT_TIME - int(days * DAY) + hour * 3600


def build_world(seed: int) -> World:
    """The organisation for a seed. Names and structure are fixed; ids and keys follow the seed."""
    rng = random.Random(f"trailbook-demo:{seed}:world")

    def uid(prefix: str) -> str:
        return ids.unique_id(rng, prefix)

    def akia() -> str:
        return ids.access_key_id(rng, "AKIA")

    accounts: dict[str, Account] = {}
    specs = [
        (PROD, "prod", ["us-east-1", "us-west-2", "eu-west-1"], "10.10",
         ["acme-prod-app-assets", "acme-prod-customer-exports", "acme-prod-data-lake"],
         ["orders", "sessions", "customers"], ["orders-api", "image-resizer", "billing-sync"]),
        (DEV, "dev", ["us-east-1", "us-west-2"], "10.20",
         ["acme-dev-app-assets", "acme-dev-scratch"], ["orders-dev", "sessions-dev"],
         ["orders-api-dev", "image-resizer-dev"]),
        (SECURITY, "security", ["us-east-1", "eu-west-1"], "10.30",
         ["acme-security-findings", "acme-org-cloudtrail-logs"], ["finding-state"], ["log-processor"]),
    ]
    for account_id, name, regions, cidr, buckets, tables, functions in specs:
        res = Resources(
            account=account_id, regions=regions, cidr=cidr, buckets=buckets, tables=tables, functions=functions,
            secrets=[f"{name}/db/app", f"{name}/api/stripe"],
            parameters=[f"/{name}/app/db-host", f"/{name}/app/feature-flags"],
            log_groups=[f"/aws/lambda/{f}" for f in functions] + [f"/{name}/app/server"],
        )
        for region in regions:
            res.kms_keys[region] = f"arn:aws:kms:{region}:{account_id}:key/{ids.uuid4(rng)}"
            res.detectors[region] = f"{rng.getrandbits(128):032x}"
            res.vpc_endpoints[region] = {svc: ids.hex_id(rng, "vpce-0") for svc in
                                         ("s3", "dynamodb", "kms", "secretsmanager", "ssm", "logs", "sts")}
        res.secret_suffix = {s: "".join(rng.choice(string.ascii_uppercase + string.ascii_lowercase) for _ in range(6))
                             for s in res.secrets}
        res.trail_arn = f"arn:aws:cloudtrail:us-east-1:{PROD}:trail/org-trail"
        accounts[account_id] = Account(
            id=account_id, name=name, regions=regions, resources=res,
            root_created=epoch(2019, 3, 14, 9, 12, 44) + {PROD: 0, DEV: 86400 * 400, SECURITY: 86400 * 410}[account_id],
            root_mfa=account_id != PROD,  # plant: prod's root has no MFA
            root_prior_password_use=epoch(2026, 2, 11, 17, 20, 5) if account_id == PROD else None,
        )
    prod, dev, sec = accounts[PROD], accounts[DEV], accounts[SECURITY]
    prod.resources.instances = {"us-east-1": [ids.hex_id(rng, "i-0") for _ in range(3)],
                                "us-west-2": [ids.hex_id(rng, "i-0")]}
    dev.resources.instances = {"us-east-1": [ids.hex_id(rng, "i-0")]}
    sec.resources.instances = {}
    dev.s3_public_access_block = sec.s3_public_access_block = {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}

    def policy(account: Account, name: str, created: int, document: dict, description: str = "") -> Policy:
        p = Policy(account.id, name, uid("ANPA"), created, created + 30 * DAY, document, description)
        account.policies[name] = p
        return p

    def group(account: Account, name: str, created: int, attached: list[str]) -> Group:
        g = Group(account.id, name, uid("AGPA"), created, attached)
        account.groups[name] = g
        return g

    def user(account: Account, name: str, created: int, **kw) -> User:
        u = User(account.id, name, uid("AIDA"), created, **kw)
        account.users[name] = u
        return u

    def role(account: Account, name: str, created: int, trust: dict, **kw) -> Role:
        r = Role(account.id, name, uid("AROA"), created, trust, **kw)
        account.roles[name] = r
        return r

    security_admin = doc(
        allow("cloudtrail:*", "guardduty:*", "access-analyzer:*", "securityhub:Get*", "securityhub:List*"),
        allow("iam:Get*", "iam:List*", "iam:GenerateServiceLastAccessedDetails", "iam:GenerateCredentialReport"),
        allow("ec2:Describe*", "s3:ListAllMyBuckets", "s3:GetBucket*", "kms:Describe*", "kms:List*", "sts:AssumeRole"),
    )
    developer = doc(
        allow("ec2:Describe*", "cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*", "logs:Describe*",
              "logs:Get*", "logs:FilterLogEvents", "lambda:Get*", "lambda:List*", "dynamodb:Describe*",
              "dynamodb:List*"),
        allow("s3:ListAllMyBuckets", "s3:GetBucket*", "s3:GetObject", "rds:Describe*"),
    )

    # --- prod -------------------------------------------------------------------------------------------
    t_ = epoch
    p_sec = policy(prod, "security-admin", t_(2023, 2, 10), security_admin, SECURITY_ADMIN_TEXT)
    p_dev = policy(prod, "developer-access", t_(2023, 5, 30), developer, "Developers: read-mostly access")
    p_ci = policy(prod, "ci-deploy-policy", t_(2024, 3, 11), ci_policy(prod), "Terraform and deploy pipeline")
    p_rep = policy(prod, "reporting-readonly", t_(2023, 11, 20),
                   doc(allow("ce:GetCostAndUsage", "cloudwatch:GetMetricData", "ec2:DescribeInstances",
                             "rds:DescribeDBInstances", "s3:ListAllMyBuckets")),
                   "Cost and usage reporting job")
    p_app = policy(prod, "app-server-policy", t_(2023, 4, 2), app_server_policy(prod), "Application servers")
    group(prod, "SecurityAdmins", t_(2023, 2, 10), [p_sec.arn])
    group(prod, "Developers", t_(2023, 5, 30), [p_dev.arn])

    user(prod, "alice", t_(2023, 2, 14, 15, 3, 11), groups=["SecurityAdmins"], password=True,
         password_changed=t_(2026, 8, 3, 14, 2), mfa=True, human=True,
         keys=[AccessKey(akia(), "alice", "Active", t_(2026, 8, 20, 16, 40, 2))])
    user(prod, "bob", t_(2023, 6, 1, 13, 44, 2), groups=["Developers"], password=True,
         password_changed=t_(2026, 7, 1, 15, 10), mfa=True, human=True)
    user(prod, "carol", t_(2024, 1, 15, 17, 5, 40), groups=["Developers"], password=True,  # plant: console without MFA
         password_changed=t_(2024, 1, 15, 17, 9), password_prior_use=t_(2026, 8, 14, 15, 22, 7), mfa=False, human=True,
         prior_usage={"ec2": (t_(2026, 8, 14, 15, 31, 2), "us-east-1", ["DescribeInstances", "DescribeSecurityGroups"]),
                      "logs": (t_(2026, 8, 14, 15, 40, 19), "us-east-1", ["DescribeLogGroups", "FilterLogEvents"])})
    user(prod, "dave", t_(2024, 9, 3, 14, 0, 55), groups=["Developers"], password=True,
         password_changed=t_(2026, 6, 12, 13, 1), mfa=True, human=True)
    user(prod, "ci-deploy", t_(2024, 3, 11, 10, 2, 33), attached=[p_ci.arn],
         keys=[AccessKey(akia(), "ci-deploy", "Active", t_(2026, 7, 15, 9, 12, 8))],
         prior_usage={"rds": (t_(2026, 5, 20, 14, 2, 1), "us-east-1", ["DescribeDBInstances"])})
    user(prod, "svc-reporting", t_(2023, 11, 20, 16, 30, 0), attached=[p_rep.arn],  # plant: two active keys
         keys=[AccessKey(akia(), "svc-reporting", "Active", t_(2026, 6, 1, 12, 0, 41)),
               AccessKey(akia(), "svc-reporting", "Active", t_(2026, 2, 10, 11, 5, 12),
                         prior_use=(t_(2026, 8, 30, 6, 0, 12), "ce", "us-east-1"))])
    stale = _before_snapshot(400)
    stale_used = _before_snapshot(200) + 3 * 3600 + 17 * 60
    user(prod, "legacy-backup", t_(2022, 5, 9, 9, 30, 0),  # plant: stale active key
         inline={"backup-s3": doc(allow("s3:PutObject", "s3:ListBucket",
                                        resource=["arn:aws:s3:::acme-prod-data-lake",
                                                  "arn:aws:s3:::acme-prod-data-lake/*"]))},
         keys=[AccessKey(akia(), "legacy-backup", "Active", stale, prior_use=(stale_used, "s3", "us-east-1"))],
         prior_usage={"s3": (stale_used, "us-east-1", ["PutObject", "ListBucket"])})

    role(prod, "app-server", t_(2023, 4, 2), EC2_TRUST, attached=[p_app.arn, SSM_CORE_ARN], instance_profile=True,
         description="Application servers (EC2 instance profile)")
    role(prod, "data-pipeline", t_(2024, 2, 19), LAMBDA_TRUST, attached=[ADMIN_POLICY_ARN],  # plant: over-privileged
         description="Nightly ETL Lambda",
         prior_usage={"s3": (t_(2026, 9, 28, 3, 5, 12), "us-east-1", ["GetBucketLocation", "ListAllMyBuckets"]),
                      "dynamodb": (t_(2026, 9, 28, 3, 5, 40), "us-east-1", ["DescribeTable", "ListTables"])})
    role(prod, "AWSServiceRoleForAutoScaling", t_(2023, 4, 2), ASG_TRUST,
         path="/aws-service-role/autoscaling.amazonaws.com/", attached=[ASG_POLICY_ARN],
         description="Default Service-Linked Role enables access to AWS Services and Resources used or managed "
                     "by Auto Scaling")

    # --- dev --------------------------------------------------------------------------------------------
    d_dev = policy(dev, "developer-access", t_(2023, 9, 4), developer, "Developers: read-mostly access")
    d_ci = policy(dev, "dev-ci-policy", t_(2024, 5, 2), ci_policy(dev), "Terraform pipeline (dev)")
    d_app = policy(dev, "app-server-policy", t_(2023, 9, 4), app_server_policy(dev), "Application servers")
    group(dev, "Developers", t_(2023, 9, 4), [d_dev.arn])
    user(dev, "erin", t_(2023, 9, 5, 13, 20, 0), groups=["Developers"], password=True,
         password_changed=t_(2026, 9, 2, 14, 0), mfa=True, human=True,
         keys=[AccessKey(akia(), "erin", "Active", t_(2026, 9, 10, 18, 2, 45))])
    user(dev, "dev-ci", t_(2024, 5, 2, 11, 0, 0), attached=[d_ci.arn],
         keys=[AccessKey(akia(), "dev-ci", "Active", t_(2026, 8, 5, 10, 11, 9))])
    role(dev, "app-server", t_(2023, 9, 4), EC2_TRUST, attached=[d_app.arn, SSM_CORE_ARN], instance_profile=True,
         description="Application servers (EC2 instance profile)")

    # --- security ---------------------------------------------------------------------------------------
    s_sec = policy(sec, "security-admin", t_(2024, 1, 8), security_admin, SECURITY_ADMIN_TEXT)
    s_log = policy(sec, "log-processor-policy", t_(2024, 1, 8),
                   doc(allow("s3:GetBucketLocation", "s3:GetObject",
                             resource=["arn:aws:s3:::acme-org-cloudtrail-logs",
                                       "arn:aws:s3:::acme-org-cloudtrail-logs/*"]),
                       allow("kms:Decrypt", "kms:GenerateDataKey", resource=list(sec.resources.kms_keys.values())),
                       allow("logs:CreateLogStream", "logs:PutLogEvents",
                             resource=f"arn:aws:logs:*:{SECURITY}:log-group:/aws/lambda/log-processor:*")),
                   "CloudTrail log processing Lambda")
    group(sec, "SecurityAdmins", t_(2024, 1, 8), [s_sec.arn])
    user(sec, "frank", t_(2024, 1, 9, 9, 15, 0), groups=["SecurityAdmins"], password=True,
         password_changed=t_(2026, 9, 15, 8, 30), mfa=True, human=True)
    role(sec, "log-processor", t_(2024, 1, 8), LAMBDA_TRUST, attached=[s_log.arn],
         description="CloudTrail log processing Lambda")

    for account in accounts.values():
        res = account.resources
        res.role_names = sorted(account.roles)
        res.user_names = sorted(account.users)
        res.policy_arns = sorted(p.arn for p in account.policies.values())
    return World(accounts=accounts, rng=rng)
