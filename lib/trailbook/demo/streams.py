"""The background's streams: each principal's habit, as (API, region) items, tools, addresses.

A *stream* is one principal's habit (a person's console sessions, a CI pipeline, an instance's
agent, a Lambda's schedule) with a fixed repertoire of (API, region) items, fixed source IPs
and fixed user agents. Every random draw here comes from one generator in a fixed order, so a
seed fixes the streams whatever the event count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from . import ids, records
from .catalog import Api, api
from .window import HOUR
from .world import (
    CI_IPS,
    DEV,
    DEV_CI_IP,
    OFFICE_DUBLIN,
    OFFICE_NYC,
    PROD,
    REPORTING_IP,
    SECURITY,
    UA,
    VPN,
    Account,
    Resources,
    Role,
    User,
    World,
)

VARIANTS = 4  # prebuilt requestParameters per item
SESSION_LIFETIME = 6 * HOUR  # instance-profile and Lambda credentials are reused this long

# One prebuilt call shape: (requestParameters, resources, responseElements).
Variant = tuple[dict | None, list | None, dict | None]


@dataclass
class Item:
    api: Api
    region: str
    weight: float
    ua: str | None = None                      # overrides the tool's agent (instance agents differ per API)
    variants: list[Variant] = field(default_factory=list)
    tls: dict | None = None                    # prebuilt tlsDetails
    vpce: str | None = None                    # VPC endpoint the call goes through (callers inside a VPC)


@dataclass
class Tool:
    name: str
    ua: str
    items: list[Item]
    weight: float = 1.0
    first: int | None = None                   # item index every burst starts with (e.g. GetCallerIdentity)


@dataclass
class Stream:
    key: str
    kind: str            # console | cli | ci | job | instance | lambda | autoscaling
    account: str
    principal: User | Role
    share: float
    ips: list[str]
    tools: list[Tool]
    key_id: str | None = None     # the long-term key (cli, ci)
    session: str = ""             # instance id / function name / AutoScaling
    credentials: tuple[str, int] | None = None   # (ASIA key, issued at) of the running role session
    deniable: bool = False        # may hit the odd benign AccessDenied
    # history bookkeeping, to keep the detection week free of novelty
    uncovered: list[tuple[int, int]] = field(default_factory=list)   # (tool, item) not yet used
    seen_items: set[tuple[int, int]] = field(default_factory=set)
    pairs: list[tuple[str, int]] = field(default_factory=list)       # (ip, tool) in first-use order
    seen_pairs: list[tuple[str, int]] = field(default_factory=list)

    @property
    def entity(self) -> str:
        return self.principal.arn

    @property
    def user(self) -> User:
        """The IAM user of a console, cli, ci or job stream."""
        if not isinstance(self.principal, User):
            raise TypeError(f"stream {self.key} runs as a role, not a user")
        return self.principal

    @property
    def role(self) -> Role:
        """The role of an instance, lambda or autoscaling stream."""
        if not isinstance(self.principal, Role):
            raise TypeError(f"stream {self.key} runs as a user, not a role")
        return self.principal

    @property
    def long_term_key(self) -> str:
        """The AKIA key a cli, ci or job stream signs with."""
        if self.key_id is None:
            raise TypeError(f"stream {self.key} has no long-term key")
        return self.key_id


def _items(res: Resources, rng: random.Random, spec: list[tuple], regions: list[str]) -> list[Item]:
    """Items from (api key, weight[, ua]) specs, one per region (global APIs once, in us-east-1)."""
    out: list[Item] = []
    for entry in spec:
        key, weight = entry[0], entry[1]
        ua = entry[2] if len(entry) > 2 else None
        a = api(key)
        for region in (["us-east-1"] if a.is_global else regions):
            share = weight if a.is_global else weight / len(regions)
            item = Item(a, region, share, ua, tls=records.tls(a.host(region)))
            if a.params is not None:
                item.variants = [(*a.params(res, rng, region), None) for _ in range(VARIANTS)]
            else:
                item.variants = [(None, None, None)]
            out.append(item)
    return out


class _Builder:
    """Collects streams in order; every draw comes from `rng`, in the order the streams are added."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.streams: list[Stream] = []

    def add(self, key: str, kind: str, account: Account, principal: User | Role, share: float, ips: list[str],
            tools: list[Tool], **kw: Any) -> Stream:
        s = Stream(key, kind, account.id, principal, share, ips, tools, **kw)
        self.streams.append(s)
        return s

    def tool(self, name: str, ua: str, account: Account, spec: list[tuple], regions: list[str], weight: float = 1.0,
             first_key: str | None = None) -> Tool:
        items = _items(account.resources, self.rng, spec, regions)
        first = None
        if first_key:
            first = next(i for i, it in enumerate(items) if it.api.key == first_key)
        return Tool(name, ua, items, weight, first)


def build_streams(world: World, rng: random.Random) -> list[Stream]:
    acc = world.accounts
    prod, dev, sec = acc[PROD], acc[DEV], acc[SECURITY]
    b = _Builder(rng)
    _people(b, prod, dev, sec)
    _pipelines(b, prod, dev)
    _workloads(b, prod, dev, sec)
    streams = b.streams
    for s in streams:
        if s.kind in ("instance", "lambda"):
            endpoints = acc[s.account].resources.vpc_endpoints
            for t in s.tools:
                for it in t.items:
                    it.vpce = endpoints[it.region].get(it.api.namespace)
        if s.kind == "autoscaling":
            for t in s.tools:
                for it in t.items:
                    it.tls = None
        s.uncovered = [(ti, ii) for ti, t in enumerate(s.tools) for ii in range(len(t.items))]
        s.pairs = [(ip, ti) for ti in range(len(s.tools)) for ip in s.ips]
    return streams


def _people(b: _Builder, prod: Account, dev: Account, sec: Account) -> None:
    """People: console sessions and CLI keys."""
    people = [
        (prod, "alice", [OFFICE_NYC[0], VPN[0]], "chrome_mac", 4, ["us-east-1", "eu-west-1"],
         [("cloudtrail:DescribeTrails", 2), ("cloudtrail:GetTrailStatus", 2), ("cloudtrail:LookupEvents", 4),
          ("guardduty:ListDetectors", 1), ("guardduty:GetDetector", 1), ("guardduty:ListFindings", 5),
          ("iam:ListUsers", 2), ("iam:GetUser", 1), ("iam:ListRoles", 1), ("iam:GetAccountSummary", 1),
          ("ec2:DescribeInstances", 2), ("ec2:DescribeSecurityGroups", 1)]),
        (prod, "bob", [OFFICE_NYC[0], VPN[0]], "firefox_win", 5, ["us-east-1", "us-west-2"],
         [("ec2:DescribeInstances", 4), ("ec2:DescribeInstanceStatus", 2), ("ec2:DescribeSecurityGroups", 2),
          ("ec2:DescribeVpcs", 1), ("monitoring:DescribeAlarms", 3), ("monitoring:GetMetricData", 4),
          ("logs:DescribeLogGroups", 2), ("logs:FilterLogEvents", 4), ("lambda:ListFunctions20150331", 2),
          ("lambda:GetFunction20150331v2", 2), ("dynamodb:ListTables", 1), ("dynamodb:DescribeTable", 2)]),
        (prod, "dave", [OFFICE_NYC[1]], "edge_win", 3, ["us-east-1", "eu-west-1"],
         [("ec2:DescribeInstances", 3), ("s3:ListBuckets", 1), ("s3:GetBucketLocation", 1),
          ("s3:GetBucketVersioning", 1), ("rds:DescribeDBInstances", 3), ("rds:DescribeDBClusters", 1),
          ("monitoring:GetMetricData", 3)]),
        (dev, "erin", [OFFICE_NYC[1], VPN[1]], "chrome_linux", 4, ["us-east-1", "us-west-2"],
         [("ec2:DescribeInstances", 3), ("lambda:ListFunctions20150331", 2), ("lambda:GetFunction20150331v2", 2),
          ("logs:FilterLogEvents", 4), ("logs:DescribeLogGroups", 1), ("dynamodb:DescribeTable", 2)]),
        (sec, "frank", [OFFICE_DUBLIN, VPN[1]], "safari_mac", 3, ["us-east-1", "eu-west-1"],
         [("guardduty:ListFindings", 5), ("guardduty:GetDetector", 1), ("guardduty:ListDetectors", 1),
          ("cloudtrail:LookupEvents", 3), ("cloudtrail:DescribeTrails", 1), ("s3:ListBuckets", 1),
          ("s3:GetBucketPolicy", 1), ("iam:ListRoles", 1)]),
    ]
    for account, name, ips, browser, share, regions, spec in people:
        user = account.users[name]
        b.add(f"{account.name}/{name}/console", "console", account, user, share, ips,
              [b.tool("console", UA[browser], account, spec, regions)], deniable=True)
    alice, erin = prod.users["alice"], dev.users["erin"]
    b.add("prod/alice/cli", "cli", prod, alice, 2, [OFFICE_NYC[0], VPN[0]],
          [b.tool("aws-cli", UA["cli_mac"], prod,
                  [("sts:GetCallerIdentity", 2), ("iam:ListUsers", 1), ("iam:GetUser", 1),
                   ("cloudtrail:LookupEvents", 3), ("s3:ListBuckets", 1), ("s3:GetBucketPolicy", 1),
                   ("ec2:DescribeInstances", 1)], ["us-east-1"])],
          key_id=alice.keys[0].id, deniable=True)
    b.add("dev/erin/cli", "cli", dev, erin, 2, [OFFICE_NYC[1], VPN[1]],
          [b.tool("aws-cli", UA["cli_linux"], dev,
                  [("sts:GetCallerIdentity", 1), ("lambda:GetFunction20150331v2", 2), ("logs:FilterLogEvents", 3),
                   ("s3:ListBuckets", 1), ("s3:GetBucketLocation", 1)], ["us-east-1"])],
          key_id=erin.keys[0].id, deniable=True)


def _pipelines(b: _Builder, prod: Account, dev: Account) -> None:
    """CI pipelines and the reporting job, with long-term keys."""
    # CI: terraform plans/applies and a boto3 deploy script, from the runners' fixed addresses.
    terraform_spec = [
        ("sts:GetCallerIdentity", 3), ("s3:ListBuckets", 1), ("s3:GetBucketLocation", 3),
        ("s3:GetBucketVersioning", 2), ("s3:GetBucketPolicy", 2), ("s3:GetBucketTagging", 2),
        ("s3:GetBucketEncryption", 1), ("ec2:DescribeInstances", 3), ("ec2:DescribeSecurityGroups", 3),
        ("ec2:DescribeVpcs", 2), ("ec2:DescribeSubnets", 2), ("ec2:DescribeImages", 1),
        ("ec2:DescribeLaunchTemplates", 1), ("ec2:CreateTags", 0.5),
        ("lambda:GetFunction20150331v2", 3), ("lambda:ListVersionsByFunction20150331", 2),
        ("iam:GetRole", 3), ("iam:GetPolicy", 2), ("iam:GetPolicyVersion", 2), ("iam:ListAttachedRolePolicies", 2),
        ("iam:ListRolePolicies", 1), ("dynamodb:DescribeTable", 2), ("dynamodb:DescribeTimeToLive", 1),
        ("dynamodb:DescribeContinuousBackups", 1),
    ]
    ci = prod.users["ci-deploy"]
    b.add("prod/ci-deploy", "ci", prod, ci, 14, list(CI_IPS), [
        b.tool("terraform", UA["terraform"], prod, terraform_spec, ["us-east-1", "us-west-2"], 3,
               "sts:GetCallerIdentity"),
        b.tool("boto3", UA["boto3_ci"], prod,
               [("sts:GetCallerIdentity", 2), ("lambda:GetFunction20150331v2", 3),
                ("lambda:UpdateFunctionCode20150331v2", 2), ("lambda:PublishVersion20150331", 1),
                ("ec2:DescribeInstances", 1)], ["us-east-1", "us-west-2"], 1, "sts:GetCallerIdentity"),
    ], key_id=ci.keys[0].id)
    dev_ci = dev.users["dev-ci"]
    b.add("dev/dev-ci", "ci", dev, dev_ci, 6, [DEV_CI_IP], [
        b.tool("terraform", UA["terraform"], dev, terraform_spec, ["us-east-1"], 1, "sts:GetCallerIdentity")],
          key_id=dev_ci.keys[0].id)
    reporting = prod.users["svc-reporting"]
    b.add("prod/svc-reporting", "job", prod, reporting, 3, [REPORTING_IP], [
        b.tool("boto3", UA["boto3_reporting"], prod,
               [("ce:GetCostAndUsage", 2), ("monitoring:GetMetricData", 3), ("ec2:DescribeInstances", 3),
                ("rds:DescribeDBInstances", 1), ("s3:ListBuckets", 1)], ["us-east-1", "us-west-2"])],
          key_id=reporting.keys[0].id)


def _workloads(b: _Builder, prod: Account, dev: Account, sec: Account) -> None:
    """Role sessions: instances, Lambdas and Auto Scaling."""
    # Instances: the SSM agent, the app (KMS, Secrets Manager, DynamoDB) and the CloudWatch agent,
    # all through VPC endpoints from the instance's private address.
    instance_spec = [
        ("ssm:UpdateInstanceInformation", 12, UA["ssm_agent"]),
        ("ssm:ListInstanceAssociations", 4, UA["ssm_agent"]),
        ("ssm:GetParameter", 2, UA["java_app"]), ("kms:Decrypt", 10, UA["java_app"]),
        ("kms:GenerateDataKey", 4, UA["java_app"]), ("secretsmanager:GetSecretValue", 6, UA["java_app"]),
        ("dynamodb:DescribeTable", 2, UA["java_app"]), ("logs:CreateLogStream", 2, UA["cw_agent"]),
    ]
    for account, share in ((prod, 30), (dev, 8)):
        role = account.roles["app-server"]
        instances = [(region, i) for region, ids_ in sorted(account.resources.instances.items()) for i in ids_]
        for n, (region, instance) in enumerate(instances):
            ip = f"{account.resources.cidr}.{10 + n}.{20 + 7 * n}"
            b.add(f"{account.name}/app-server/{instance}", "instance", account, role, share / len(instances), [ip],
                  [b.tool("instance", UA["java_app"], account, instance_spec, [region])], session=instance)

    # Lambdas: scheduled functions in a VPC (private ENI addresses, gateway/interface endpoints).
    b.add("prod/data-pipeline", "lambda", prod, prod.roles["data-pipeline"], 5, ["10.10.40.17", "10.10.41.23"], [
        b.tool("lambda", UA["boto3_lambda"], prod,
               [("s3:GetBucketLocation", 3), ("s3:ListBuckets", 1), ("dynamodb:DescribeTable", 3),
                ("dynamodb:ListTables", 1)], ["us-east-1"])], session="data-pipeline-etl")
    b.add("security/log-processor", "lambda", sec, sec.roles["log-processor"], 5, ["10.30.40.9", "10.30.41.12"], [
        b.tool("lambda", UA["boto3_lambda"], sec,
               [("kms:Decrypt", 4), ("kms:GenerateDataKey", 2), ("s3:GetBucketLocation", 2),
                ("logs:CreateLogStream", 1)], ["us-east-1"])], session="log-processor")

    # EC2 Auto Scaling's service-linked role scales the app tier out in the morning and in at night.
    asg = prod.roles["AWSServiceRoleForAutoScaling"]
    b.add("prod/autoscaling", "autoscaling", prod, asg, 1, ["autoscaling.amazonaws.com"], [
        Tool("scale", "autoscaling.amazonaws.com",
             [_asg_item(prod.resources, b.rng, "ec2:RunInstances"),
              _asg_item(prod.resources, b.rng, "ec2:TerminateInstances")])],
        session="AutoScaling")


def _asg_item(res: Resources, rng: random.Random, key: str) -> Item:
    """Auto Scaling's own RunInstances / TerminateInstances, with the shapes EC2 logs for them."""
    a = api(key)
    variants: list[Variant] = []
    for _ in range(VARIANTS):
        instance = ids.hex_id(rng, "i-0")
        if key == "ec2:RunInstances":
            params: dict[str, Any] = {"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
                      "launchTemplate": {"launchTemplateId": "lt-0a1b2c3d4e5f60718", "version": "7"},
                      "subnetId": "subnet-0c4d5e6f708192a3b", "clientToken": ids.uuid4(rng),
                      "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [
                          {"key": "aws:autoscaling:groupName", "value": "app-asg"}]}]}}
            response: dict[str, Any] = {
                "requestId": ids.uuid4(rng), "reservationId": ids.hex_id(rng, "r-0"), "ownerId": res.account,
                "requesterId": "940372691376", "groupSet": {},
                "instancesSet": {"items": [{
                    "instanceId": instance, "imageId": "ami-0f3c7d07486cad139", "instanceType": "t3.large",
                    "currentState": {"code": 0, "name": "pending"},
                    "privateIpAddress": f"{res.cidr}.{rng.randrange(10, 60)}.{rng.randrange(2, 250)}"}]}}
        else:
            params = {"instancesSet": {"items": [{"instanceId": instance}]}}
            response = {"requestId": ids.uuid4(rng), "instancesSet": {"items": [{
                "instanceId": instance, "currentState": {"code": 32, "name": "shutting-down"},
                "previousState": {"code": 16, "name": "running"}}]}}
        variants.append((params, None, response))
    return Item(a, "us-east-1", 1.0, None, variants)
