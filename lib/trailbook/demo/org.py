"""An organization-shaped trail for scale benchmarks (issue 15): `generate_org(out, ...)`.

A real organization trail delivers one file per account, region and ~5 minutes, even when it
holds a handful of events, so most files are tiny. This writes that shape, deterministically:

- `accounts` accounts × every region of the partition (`aws.regions`, botocore's endpoint data);
- account i carries a Zipf share of the events, 1/(i+1) of a harmonic sum (a few busy accounts);
- in each account two regions are busy (us-east-1, where global services log, and a home region),
  with 1 - `quiet_share` of its events split evenly; every other region is quiet and shares
  `quiet_share` evenly (AWS services' own calls: a few events, in few slots);
- a region's events are spread evenly over the window's 5-minute slots, one file per slot with
  events: with e events over S slots, e mod S files hold ceil(e/S) events and the rest floor(e/S)
  when e >= S; when e < S, e files hold one event each, evenly spaced over the window.

Every split rounds by largest remainder (ties to the lower index), so the counts are exact and
follow from the parameters alone (`shape`); the seed decides only the content (ids, addresses,
which call; a generation that starts on another day gets other ids). The records are ordinary
CloudTrail management events: roles' sessions, a few IAM users with long-term keys, console
sign-ins, read and write calls, so every detection has work.
Each principal calls from one home address with one tool (user agent), as a quiet organization
does: a background that tripped the two-network or many-agent detections would make the benchmark
measure thousands of false findings.
"""

from __future__ import annotations

import calendar
import gzip
import os
import random
import shutil
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import orjson

from ..aws.regions import cloudtrail_regions
from . import ids
from .window import iso

SLOT = 5 * 60
ORG_MANIFEST = "org_manifest.json"
ORG_FORMAT = "trailbook-org/3"  # 2: one home address per principal; 3: and one tool (user agent)
GZIP_LEVEL = 3
# Home regions, in turn, for accounts' second busy region (us-east-1 is always busy).
HOMES = ("us-west-2", "eu-west-1", "us-east-2", "eu-central-1", "ap-southeast-2", "ap-northeast-1")


def apportion(total: int, weights: list[Fraction]) -> list[int]:
    """`total` split in proportion to `weights`, largest remainder first (ties: lower index)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def slot_counts(events: int, slots: int) -> dict[int, int]:
    """Events per slot index (slots without events left out), as the module docstring says."""
    if events >= slots:
        base, extra = divmod(events, slots)
        return {k: base + (1 if k < extra else 0) for k in range(slots)}
    return {k * slots // events: 1 for k in range(events)}


@dataclass(frozen=True)
class Cell:
    account: str
    region: str
    busy: bool
    events: int


def shape(*, events: int, accounts: int, days: int, quiet_share: float, regions: list[str],
          account_ids: list[str]) -> list[Cell]:
    """Events per account and region (every pair present, even with no events)."""
    share = Fraction(quiet_share).limit_denominator(1000)
    per_account = apportion(events, [Fraction(1, i + 1) for i in range(accounts)])
    cells = []
    for i, (account, total) in enumerate(zip(account_ids, per_account, strict=True)):
        busy = {"us-east-1", HOMES[i % len(HOMES)]} & set(regions) or {regions[0]}
        quiet = [r for r in regions if r not in busy]
        weights = [(1 - share) / len(busy) if r in busy else share / len(quiet) for r in regions]
        for region, count in zip(regions, apportion(total, weights), strict=True):
            cells.append(Cell(account, region, region in busy, count))
    return cells


def generate_org(out_dir: str | os.PathLike, *, seed: int = 7, events: int = 1_000_000, accounts: int = 20,
                 days: int = 1, start: str = "2026-10-01", quiet_share: float = 0.1,
                 partition: str = "aws") -> dict[str, Any]:
    """Write an organization-shaped trail under `out_dir`/cloudtrail and return its manifest."""
    if accounts < 1 or days < 1 or events < 1 or not 0 <= quiet_share < 1:
        raise ValueError("accounts, days and events must be positive and quiet_share in [0, 1)")
    out = Path(out_dir)
    if (out / "cloudtrail").exists():
        if not (out / ORG_MANIFEST).is_file():
            raise FileExistsError(f"{out / 'cloudtrail'} exists and {out} holds no {ORG_MANIFEST}: "
                                  "refusing to overwrite it")
        shutil.rmtree(out / "cloudtrail")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"trailbook-org:{seed}")
    regions = cloudtrail_regions(partition)
    chosen: set[str] = set()
    while len(chosen) < accounts:
        chosen.add(f"{rng.randrange(10**11, 10**12):012d}")
    account_ids = sorted(chosen)
    first = calendar.timegm(time.strptime(start, "%Y-%m-%d"))
    slots = days * 86400 // SLOT
    cells = shape(events=events, accounts=accounts, days=days, quiet_share=quiet_share, regions=regions,
                  account_ids=account_ids)
    people = {a: _principals(a, rng) for a in account_ids}
    files = 0
    sizes: dict[int, int] = {}
    written = 0
    for cell in cells:
        if not cell.events:
            continue
        cell_rng = random.Random(f"trailbook-org:{seed}:{start}:{cell.account}:{cell.region}")  # days apart differ
        for slot, count in slot_counts(cell.events, slots).items():
            begin = first + slot * SLOT
            times = sorted(begin + cell_rng.randrange(SLOT) for _ in range(count))
            records = [_record(cell, t, people[cell.account], cell_rng) for t in times]
            _write(out / "cloudtrail", cell, begin, records, cell_rng)
            files += 1
            sizes[count] = sizes.get(count, 0) + 1
            written += count
    manifest = {
        "format": ORG_FORMAT, "seed": seed, "events_requested": events, "event_count": written,
        "accounts": account_ids, "regions": regions, "partition": partition, "days": days, "start": start,
        "quiet_share": quiet_share, "file_count": files,
        "files_by_events": {str(k): v for k, v in sorted(sizes.items())},
        "window": {"start": iso(first), "end": iso(first + days * 86400)},
    }
    (out / ORG_MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return manifest


def _write(root: Path, cell: Cell, begin: int, records: list[dict], rng: random.Random) -> None:
    day = time.strftime("%Y/%m/%d", time.gmtime(begin))
    folder = root / "AWSLogs" / cell.account / "CloudTrail" / cell.region / day
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime(begin + SLOT - 60))
    name = f"{cell.account}_CloudTrail_{cell.region}_{stamp}_{ids.file_suffix(rng)}.json.gz"
    raw = orjson.dumps({"Records": records})
    (folder / name).write_bytes(gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0))


# --- content ---------------------------------------------------------------------------------------

_AGENTS = ("aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux api/ec2#1.171.0",
           "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.4",
           "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9",
           "Terraform/1.9.2 (+https://www.terraform.io) terraform-provider-aws/5.59.0")
_SERVICE_CALLS = (("config.amazonaws.com", "DescribeConfigurationRecorderStatus"),
                  ("ssm.amazonaws.com", "UpdateInstanceInformation"), ("kms.amazonaws.com", "Decrypt"),
                  ("sts.amazonaws.com", "AssumeRole"), ("guardduty.amazonaws.com", "ListDetectors"))
_CALLS = (("ec2.amazonaws.com", "DescribeInstances", True), ("s3.amazonaws.com", "ListBuckets", True),
          ("iam.amazonaws.com", "GetRole", True), ("lambda.amazonaws.com", "ListFunctions20150331", True),
          ("cloudwatch.amazonaws.com", "PutMetricData", False), ("logs.amazonaws.com", "CreateLogStream", False),
          ("sts.amazonaws.com", "GetCallerIdentity", True), ("ec2.amazonaws.com", "CreateTags", False),
          ("dynamodb.amazonaws.com", "DescribeTable", True), ("ssm.amazonaws.com", "GetParameter", True))


def _principals(account: str, rng: random.Random) -> dict[str, Any]:
    roles: list[dict[str, Any]] = []
    for name in ("deploy", "app-runtime", "data-pipeline", "ops-admin"):
        role_id = ids.unique_id(rng, "AROA")
        roles.append({"type": "AssumedRole", "principalId": f"{role_id}:{name}-session",
                      "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{name}-session", "accountId": account,
                      "accessKeyId": ids.unique_id(rng, "ASIA"),
                      "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": role_id,
                                                           "arn": f"arn:aws:iam::{account}:role/{name}",
                                                           "accountId": account, "userName": name},
                                         "attributes": {"creationDate": "2026-09-30T00:00:00Z",
                                                        "mfaAuthenticated": "false"}}})
    users: list[dict[str, Any]] = []
    for name in ("ci-bot", "svc-reporting", "alice"):
        users.append({"type": "IAMUser", "principalId": ids.unique_id(rng, "AIDA"),
                      "arn": f"arn:aws:iam::{account}:user/{name}", "accountId": account,
                      "accessKeyId": ids.unique_id(rng, "AKIA"), "userName": name})
    ips = [f"198.51.100.{rng.randrange(1, 255)}", f"203.0.113.{rng.randrange(1, 255)}"]
    homes = {str(p["arn"]): ips[i % len(ips)] for i, p in enumerate([*roles, *users])}
    tools = {str(p["arn"]): _AGENTS[i % len(_AGENTS)] for i, p in enumerate([*roles, *users])}
    return {"roles": roles, "users": users, "homes": homes, "tools": tools}


def _record(cell: Cell, t: int, people: dict[str, Any], rng: random.Random) -> dict:
    region = cell.region
    if not cell.busy:  # AWS services' own calls
        source, name = _SERVICE_CALLS[rng.randrange(len(_SERVICE_CALLS))]
        identity: dict = {"type": "AWSService", "invokedBy": source}
        ip, agent, read_only = source, source, True
    else:
        source, name, read_only = _CALLS[rng.randrange(len(_CALLS))]
        if rng.random() < 0.15:
            identity = people["users"][rng.randrange(len(people["users"]))]
        else:
            identity = people["roles"][rng.randrange(len(people["roles"]))]
        ip = people["homes"][identity["arn"]]
        agent = people["tools"][identity["arn"]]
    return {
        "eventVersion": "1.10", "userIdentity": identity, "eventTime": iso(t), "eventSource": source,
        "eventName": name, "awsRegion": region, "sourceIPAddress": ip, "userAgent": agent,
        "requestParameters": None if read_only else
        {"resourcesSet": {"items": [{"resourceId": f"i-{rng.getrandbits(64):016x}"}]}},
        "responseElements": None, "requestID": ids.uuid4(rng), "eventID": ids.uuid4(rng), "readOnly": read_only,
        "eventType": "AwsApiCall" if cell.busy else "AwsServiceEvent", "managementEvent": True,
        "recipientAccountId": cell.account, "eventCategory": "Management",
    }
