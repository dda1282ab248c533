"""The clean background: who does what, when, from where.

Each *stream* is one principal's habit (a person's console sessions, a CI pipeline, an
instance's agent, a Lambda's schedule) with a fixed repertoire of (API, region) items, fixed
source IPs and fixed user agents. The *schedule* places bursts (a console session, a CI run, an
instance's hourly refresh …) on the calendar with a diurnal and weekly rhythm; it depends on
the seed only. The requested event count is then apportioned over the bursts by
weight (systematic sampling), so `events=N` gives exactly N background events and the same
shape at any size.

Cleanliness is enforced, not hoped for: during history every stream first walks through all
its items and (IP, tool) pairs, and in the detection week a stream only uses items and pairs
it has already used in history — no new IP, agent, region or action appears except by design
of the incidents.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from . import ids, records
from .catalog import Api, api
from .delivery import Delivery
from .usage import Usage
from .window import DAY, DETECTION_START, HISTORY_START, HOUR, MINUTE, WINDOW_END, weekday
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
    Resources,
    Role,
    User,
    World,
)

VARIANTS = 4  # prebuilt requestParameters per item
SESSION_LIFETIME = 6 * HOUR  # instance-profile and Lambda credentials are reused this long


@dataclass
class Item:
    api: Api
    region: str
    weight: float
    ua: str | None = None                      # overrides the tool's agent (instance agents differ per API)
    variants: list[tuple[dict | None, list | None]] = field(default_factory=list)
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


@dataclass
class Burst:
    start: int
    duration: int
    stream: Stream
    weight: float
    count: int = 0


def load(t: int) -> float:
    """Application load by hour (UTC): busy in US working hours, quieter at night and at weekends."""
    hour = (t // HOUR) % 24
    factor = 3.0 if 13 <= hour < 22 else (0.6 if 5 <= hour < 11 else 1.0)
    return factor * (0.5 if weekday(t) >= 5 else 1.0)


# --- streams -------------------------------------------------------------------------------------------

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
                item.variants = [a.params(res, rng, region) for _ in range(VARIANTS)]
            else:
                item.variants = [(None, None)]
            out.append(item)
    return out


def build_streams(world: World, rng: random.Random) -> list[Stream]:
    acc = world.accounts
    prod, dev, sec = acc[PROD], acc[DEV], acc[SECURITY]
    streams: list[Stream] = []

    def add(key, kind, account, principal, share, ips, tools, **kw) -> Stream:
        s = Stream(key, kind, account.id, principal, share, ips, tools, **kw)
        streams.append(s)
        return s

    def tool(name, ua, account, spec, regions, weight=1.0, first_key=None) -> Tool:
        items = _items(account.resources, rng, spec, regions)
        first = None
        if first_key:
            first = next(i for i, it in enumerate(items) if it.api.key == first_key)
        return Tool(name, ua, items, weight, first)

    # People: console sessions (MFA) and a few CLI keys, from their office / VPN addresses.
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
         [("ec2:DescribeInstances", 3), ("s3:ListBuckets", 1), ("s3:GetBucketLocation", 1), ("s3:GetBucketVersioning", 1),
          ("rds:DescribeDBInstances", 3), ("rds:DescribeDBClusters", 1), ("monitoring:GetMetricData", 3)]),
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
        add(f"{account.name}/{name}/console", "console", account, user, share, ips,
            [tool("console", UA[browser], account, spec, regions)], deniable=True)
    alice, erin = prod.users["alice"], dev.users["erin"]
    add("prod/alice/cli", "cli", prod, alice, 2, [OFFICE_NYC[0], VPN[0]],
        [tool("aws-cli", UA["cli_mac"], prod,
              [("sts:GetCallerIdentity", 2), ("iam:ListUsers", 1), ("iam:GetUser", 1), ("cloudtrail:LookupEvents", 3),
               ("s3:ListBuckets", 1), ("s3:GetBucketPolicy", 1), ("ec2:DescribeInstances", 1)], ["us-east-1"])],
        key_id=alice.keys[0].id, deniable=True)
    add("dev/erin/cli", "cli", dev, erin, 2, [OFFICE_NYC[1], VPN[1]],
        [tool("aws-cli", UA["cli_linux"], dev,
              [("sts:GetCallerIdentity", 1), ("lambda:GetFunction20150331v2", 2), ("logs:FilterLogEvents", 3),
               ("s3:ListBuckets", 1), ("s3:GetBucketLocation", 1)], ["us-east-1"])],
        key_id=erin.keys[0].id, deniable=True)

    # CI: terraform plans/applies and a boto3 deploy script, from the runners' fixed addresses.
    terraform_spec = [
        ("sts:GetCallerIdentity", 3), ("s3:ListBuckets", 1), ("s3:GetBucketLocation", 3), ("s3:GetBucketVersioning", 2),
        ("s3:GetBucketPolicy", 2), ("s3:GetBucketTagging", 2), ("s3:GetBucketEncryption", 1),
        ("ec2:DescribeInstances", 3), ("ec2:DescribeSecurityGroups", 3), ("ec2:DescribeVpcs", 2), ("ec2:DescribeSubnets", 2),
        ("ec2:DescribeImages", 1), ("ec2:DescribeLaunchTemplates", 1), ("ec2:CreateTags", 0.5),
        ("lambda:GetFunction20150331v2", 3), ("lambda:ListVersionsByFunction20150331", 2),
        ("iam:GetRole", 3), ("iam:GetPolicy", 2), ("iam:GetPolicyVersion", 2), ("iam:ListAttachedRolePolicies", 2),
        ("iam:ListRolePolicies", 1), ("dynamodb:DescribeTable", 2), ("dynamodb:DescribeTimeToLive", 1),
        ("dynamodb:DescribeContinuousBackups", 1),
    ]
    ci = prod.users["ci-deploy"]
    add("prod/ci-deploy", "ci", prod, ci, 14, list(CI_IPS), [
        tool("terraform", UA["terraform"], prod, terraform_spec, ["us-east-1", "us-west-2"], 3, "sts:GetCallerIdentity"),
        tool("boto3", UA["boto3_ci"], prod,
             [("sts:GetCallerIdentity", 2), ("lambda:GetFunction20150331v2", 3), ("lambda:UpdateFunctionCode20150331v2", 2),
              ("lambda:PublishVersion20150331", 1), ("ec2:DescribeInstances", 1)], ["us-east-1", "us-west-2"], 1,
             "sts:GetCallerIdentity"),
    ], key_id=ci.keys[0].id)
    dev_ci = dev.users["dev-ci"]
    add("dev/dev-ci", "ci", dev, dev_ci, 6, [DEV_CI_IP], [
        tool("terraform", UA["terraform"], dev, terraform_spec, ["us-east-1"], 1, "sts:GetCallerIdentity")],
        key_id=dev_ci.keys[0].id)
    reporting = prod.users["svc-reporting"]
    add("prod/svc-reporting", "job", prod, reporting, 3, [REPORTING_IP], [
        tool("boto3", UA["boto3_reporting"], prod,
             [("ce:GetCostAndUsage", 2), ("monitoring:GetMetricData", 3), ("ec2:DescribeInstances", 3),
              ("rds:DescribeDBInstances", 1), ("s3:ListBuckets", 1)], ["us-east-1", "us-west-2"])],
        key_id=reporting.keys[0].id)

    # Instances: the SSM agent, the app (KMS, Secrets Manager, DynamoDB) and the CloudWatch agent,
    # all through VPC endpoints from the instance's private address.
    instance_spec = [
        ("ssm:UpdateInstanceInformation", 12, UA["ssm_agent"]), ("ssm:ListInstanceAssociations", 4, UA["ssm_agent"]),
        ("ssm:GetParameter", 2, UA["java_app"]), ("kms:Decrypt", 10, UA["java_app"]),
        ("kms:GenerateDataKey", 4, UA["java_app"]), ("secretsmanager:GetSecretValue", 6, UA["java_app"]),
        ("dynamodb:DescribeTable", 2, UA["java_app"]), ("logs:CreateLogStream", 2, UA["cw_agent"]),
    ]
    for account, share in ((prod, 30), (dev, 8)):
        role = account.roles["app-server"]
        instances = [(region, i) for region, ids_ in sorted(account.resources.instances.items()) for i in ids_]
        for n, (region, instance) in enumerate(instances):
            ip = f"{account.resources.cidr}.{10 + n}.{20 + 7 * n}"
            add(f"{account.name}/app-server/{instance}", "instance", account, role, share / len(instances), [ip],
                [tool("instance", UA["java_app"], account, instance_spec, [region])], session=instance)

    # Lambdas: scheduled functions in a VPC (private ENI addresses, gateway/interface endpoints).
    add("prod/data-pipeline", "lambda", prod, prod.roles["data-pipeline"], 5, ["10.10.40.17", "10.10.41.23"], [
        tool("lambda", UA["boto3_lambda"], prod,
             [("s3:GetBucketLocation", 3), ("s3:ListBuckets", 1), ("dynamodb:DescribeTable", 3), ("dynamodb:ListTables", 1)],
             ["us-east-1"])], session="data-pipeline-etl")
    add("security/log-processor", "lambda", sec, sec.roles["log-processor"], 5, ["10.30.40.9", "10.30.41.12"], [
        tool("lambda", UA["boto3_lambda"], sec,
             [("kms:Decrypt", 4), ("kms:GenerateDataKey", 2), ("s3:GetBucketLocation", 2), ("logs:CreateLogStream", 1)],
             ["us-east-1"])], session="log-processor")

    # EC2 Auto Scaling's service-linked role scales the app tier out in the morning and in at night.
    asg = prod.roles["AWSServiceRoleForAutoScaling"]
    add("prod/autoscaling", "autoscaling", prod, asg, 1, ["autoscaling.amazonaws.com"], [
        Tool("scale", "autoscaling.amazonaws.com",
             [_asg_item(prod.resources, rng, "ec2:RunInstances"), _asg_item(prod.resources, rng, "ec2:TerminateInstances")])],
        session="AutoScaling")

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


def _asg_item(res: Resources, rng: random.Random, key: str) -> Item:
    """Auto Scaling's own RunInstances / TerminateInstances, with the shapes EC2 logs for them."""
    a = api(key)
    variants = []
    for _ in range(VARIANTS):
        instance = ids.hex_id(rng, "i-0")
        if key == "ec2:RunInstances":
            params = {"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
                      "launchTemplate": {"launchTemplateId": "lt-0a1b2c3d4e5f60718", "version": "7"},
                      "subnetId": "subnet-0c4d5e6f708192a3b", "clientToken": ids.uuid4(rng),
                      "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [
                          {"key": "aws:autoscaling:groupName", "value": "app-asg"}]}]}}
            response = {"requestId": ids.uuid4(rng), "reservationId": ids.hex_id(rng, "r-0"), "ownerId": res.account,
                        "requesterId": "940372691376", "groupSet": {},
                        "instancesSet": {"items": [{"instanceId": instance, "imageId": "ami-0f3c7d07486cad139",
                                                    "instanceType": "t3.large", "currentState": {"code": 0, "name": "pending"},
                                                    "privateIpAddress": f"{res.cidr}.{rng.randrange(10, 60)}.{rng.randrange(2, 250)}"}]}}
        else:
            params = {"instancesSet": {"items": [{"instanceId": instance}]}}
            response = {"requestId": ids.uuid4(rng), "instancesSet": {"items": [{
                "instanceId": instance, "currentState": {"code": 32, "name": "shutting-down"},
                "previousState": {"code": 16, "name": "running"}}]}}
        variants.append((params, response))
    return Item(a, "us-east-1", 1.0, None, variants)


# --- schedule ------------------------------------------------------------------------------------------

def build_schedule(streams: list[Stream], rng: random.Random) -> list[Burst]:
    """Bursts for every stream over the whole window (independent of the event count)."""
    bursts: list[Burst] = []
    days = range(HISTORY_START, WINDOW_END, DAY)
    order_in_kind: dict[str, int] = {}

    def burst(stream: Stream, start: int, duration: int, weight: float) -> None:
        end = min(start + duration, WINDOW_END - 1)
        if start < WINDOW_END and end > start:
            bursts.append(Burst(start, end - start, stream, weight))

    for s in streams:
        if s.kind in ("console", "cli"):
            work_start = 8 * HOUR if s.account == SECURITY else 13 * HOUR   # Dublin vs New York office hours
            per_day = [1, 1, 2, 2, 3] if s.kind == "console" else [0, 1, 1, 2]
            for day in days:
                if weekday(day) >= 5 or rng.random() < 0.05:
                    continue  # weekends and the odd day off
                for _ in range(rng.choice(per_day)):
                    duration = rng.randrange(20, 90) * MINUTE if s.kind == "console" else rng.randrange(5, 25) * MINUTE
                    start = day + work_start + rng.randrange(9 * HOUR - duration)
                    burst(s, start, duration, duration)
        elif s.kind == "job":  # a daily report at 06:00 and hourly refreshes in US office hours
            for day in days:
                burst(s, day + 6 * HOUR + rng.randrange(120), 6 * MINUTE, 3.0)
                if weekday(day) < 5:
                    for hour in range(13, 22):
                        burst(s, day + hour * HOUR + 15 * MINUTE + rng.randrange(60), 2 * MINUTE, 1.0)
        elif s.kind == "ci":
            nightly = 2 * HOUR if s.account == PROD else 3 * HOUR
            for day in days:
                burst(s, day + nightly + rng.randrange(600), rng.randrange(6, 14) * MINUTE, 10.0)
                if weekday(day) < 5:
                    for _ in range(rng.randint(4, 9)):
                        duration = rng.randrange(4, 12) * MINUTE
                        burst(s, day + 13 * HOUR + rng.randrange(9 * HOUR), duration, duration / MINUTE)
        elif s.kind == "instance":
            # The app refreshes its cached secrets and keys hourly and the SSM agent reports in with
            # it, a few minutes past the hour (so one delivery file per hour carries them). The
            # us-west-2 standby refreshes every three hours; dev runs 12:00-24:00 UTC on weekdays.
            minute = 4 + 2 * (order_in_kind.setdefault(s.key, len(order_in_kind)) % 3)
            standby = s.account == PROD and s.tools[0].items[0].region != "us-east-1"
            for hour_start in range(HISTORY_START, WINDOW_END, HOUR):
                hour = (hour_start // HOUR) % 24
                if standby and hour % 3:
                    continue
                if s.account == DEV and (hour < 12 or weekday(hour_start) >= 5):
                    continue
                burst(s, hour_start + minute * MINUTE + rng.randrange(40), 3 * MINUTE, load(hour_start))
        elif s.kind == "lambda":
            # The ETL runs hourly (a big batch at 03:00); the log processor every two hours.
            minute, every = (5, 1) if s.account == PROD else (35, 2)
            for hour_start in range(HISTORY_START, WINDOW_END, every * HOUR):
                big = (hour_start // HOUR) % 24 == 3
                burst(s, hour_start + minute * MINUTE + rng.randrange(30), (12 if big else 3) * MINUTE,
                      (6.0 if big else 1.0) * (1.0 if s.account == PROD else load(hour_start)))
        elif s.kind == "autoscaling":
            for day in days:
                if weekday(day) < 5:
                    burst(s, day + 12 * HOUR + 50 * MINUTE + rng.randrange(300), 4 * MINUTE, 1.0)
                    burst(s, day + 23 * HOUR + 10 * MINUTE + rng.randrange(300), 4 * MINUTE, 1.0)
    return bursts


def apportion(bursts: list[Burst], total: int, rng: random.Random) -> None:
    """Split `total` events over the bursts in proportion to stream share × burst weight, exactly."""
    stream_weight: dict[str, float] = {}
    for b in bursts:
        stream_weight[b.stream.key] = stream_weight.get(b.stream.key, 0.0) + b.weight
    shares = {b.stream.key: b.stream.share for b in bursts}
    scale = sum(shares.values())
    weights = [b.stream.share / scale * b.weight / stream_weight[b.stream.key] for b in bursts]
    grand = sum(weights)
    step = grand / total
    offset = rng.random() * step
    assigned, cum = 0, 0.0
    for b, w in zip(bursts, weights):
        cum += w
        upto = min(total, int((cum - offset) // step) + 1) if cum > offset else 0
        b.count = upto - assigned
        assigned = upto
    bursts[-1].count += total - assigned


# --- generation ----------------------------------------------------------------------------------------

@dataclass
class Background:
    world: World
    delivery: Delivery
    usage: Usage
    deny_every: int = 0           # every n-th eligible read by a person is denied: a handful per run, never a burst
    _eligible: int = 0
    dumps: Callable[[dict], bytes] = orjson.dumps
    denied: int = 0

    def run(self, b: Burst, rng: random.Random) -> None:
        s = b.stream
        if b.count <= 0:
            return
        detection = b.start >= DETECTION_START
        ip, tool_index = self._pair(s, rng, detection)
        tool = s.tools[tool_index]
        choices = self._choices(s, tool_index, detection)
        times = self._times(b, rng)
        account = s.account
        last: dict[int, int] = {}
        emit = self.delivery.add
        dumps = self.dumps
        api_call = records.api_call
        autoscaling = s.kind == "autoscaling"

        first = 0
        identity, console = self._identity(s, b, rng, ip)
        if s.kind == "console":
            rec = records.console_login(rng, t=times[0], account=account, ip=ip, ua=tool.ua, success=True,
                                        mfa_used=True, user=s.principal)
            emit(account, "us-east-1", times[0], dumps(rec))
            self.usage.sign_in(s.entity, times[0])
            first = 1
        elif s.kind in ("instance", "lambda") and s.credentials[1] == b.start:
            # Fresh role credentials: the service's AssumeRole opens the session.
            service = "ec2.amazonaws.com" if s.kind == "instance" else "lambda.amazonaws.com"
            region = tool.items[0].region
            rec = records.service_assume_role(rng, t=times[0], account=account, region=region, role=s.principal,
                                              session=s.session, service=service, key_id=identity["accessKeyId"],
                                              duration=SESSION_LIFETIME)
            emit(account, region, times[0], dumps(rec))
            first = 1

        items, cum, total = choices
        for n in range(first, len(times)):
            t = times[n]
            if n == first and tool.first is not None and (not detection or (tool_index, tool.first) in s.seen_items):
                index = tool.first
            elif s.uncovered and not detection:
                index = self._next_uncovered(s, tool_index)
                if index is None:
                    index = items[bisect.bisect(cum, rng.random() * total)]
            else:
                index = items[bisect.bisect(cum, rng.random() * total)]
            item = tool.items[index]
            a = item.api
            variants = item.variants
            params, extra = variants[int(rng.random() * len(variants))]
            error = None
            if s.deniable and self.deny_every and a.read_only and a.action:
                self._eligible += 1
                if self._eligible % self.deny_every == 0:
                    error = records.denial(a, s.entity, item.region, account)
                    self.denied += 1
            rec = api_call(rng, t=t, identity=identity, account=account, region=item.region, api=a, ip=ip,
                           ua=item.ua or tool.ua, params=params, resources=None if autoscaling else extra,
                           response=extra if autoscaling else None, error=error, console=console, vpce=item.vpce,
                           tls_details=item.tls or False)
            emit(account, item.region, t, dumps(rec))
            last[index] = t

        key_id = identity.get("accessKeyId") or None
        for index, t in last.items():
            item = tool.items[index]
            self.usage.call(s.entity, key_id, item.api, item.region, t)
            if not detection:
                s.seen_items.add((tool_index, index))
        if not detection and (ip, tool_index) not in s.seen_pairs:
            s.seen_pairs.append((ip, tool_index))

    # -- helpers --

    def _pair(self, s: Stream, rng: random.Random, detection: bool) -> tuple[str, int]:
        if detection and s.seen_pairs:
            return s.seen_pairs[rng.randrange(len(s.seen_pairs))]
        unused = [p for p in s.pairs if p not in s.seen_pairs]
        if unused and not detection:
            return unused[0]
        tool_index = _weighted_index(rng, [t.weight for t in s.tools])
        return s.ips[rng.randrange(len(s.ips))], tool_index

    def _choices(self, s: Stream, tool_index: int, detection: bool) -> tuple[list[int], list[float], float]:
        tool = s.tools[tool_index]
        allowed = [i for i in range(len(tool.items)) if not detection or (tool_index, i) in s.seen_items]
        if not allowed:
            allowed = list(range(len(tool.items)))
        cum, total = [], 0.0
        for i in allowed:
            total += tool.items[i].weight
            cum.append(total)
        return allowed, cum, total

    @staticmethod
    def _next_uncovered(s: Stream, tool_index: int) -> int | None:
        for n, (ti, ii) in enumerate(s.uncovered):
            if ti == tool_index:
                del s.uncovered[n]
                return ii
        return None

    @staticmethod
    def _times(b: Burst, rng: random.Random) -> list[int]:
        start, duration, random_ = b.start, b.duration, rng.random
        out = sorted(start + int(random_() * duration) for _ in range(b.count))
        out[0] = b.start  # the session's opening event is its first
        return out

    def _identity(self, s: Stream, b: Burst, rng: random.Random, ip: str) -> tuple[dict, bool]:
        """(userIdentity, console session?) for one burst."""
        if s.kind == "console":
            return records.console_user_identity(s.principal, ids.access_key_id(rng, "ASIA"), b.start, True), True
        if s.kind in ("cli", "ci", "job"):
            return records.iam_user_identity(s.principal, s.key_id), False
        if s.kind == "autoscaling":
            return records.role_session_identity(s.principal, s.session, ids.access_key_id(rng, "ASIA"), b.start,
                                                 invoked_by="autoscaling.amazonaws.com"), False
        if s.credentials is None or b.start - s.credentials[1] >= SESSION_LIFETIME:
            s.credentials = (ids.access_key_id(rng, "ASIA"), b.start)
        key_id, issued = s.credentials
        return records.role_session_identity(s.principal, s.session, key_id, issued, ec2=s.kind == "instance"), False


def _weighted_index(rng: random.Random, weights: list[float]) -> int:
    pick = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        pick -= w
        if pick < 0:
            return i
    return len(weights) - 1


def rotation_events(world: World, rng: random.Random, skip: Callable[[int], bool]) -> list[tuple[int, dict]]:
    """Secrets Manager's nightly rotation of the prod database secret (fixed, one a day)."""
    res = world.accounts[PROD].resources
    arn = res.secret_arn("us-east-1", res.secrets[0])
    out = []
    for day in range(HISTORY_START, WINDOW_END, DAY):
        t = day + 4 * HOUR + rng.randrange(600)
        if not skip(t):
            out.append((t, records.secret_rotated(rng, t=t, account=PROD, region="us-east-1", secret_arn=arn)))
    return out
