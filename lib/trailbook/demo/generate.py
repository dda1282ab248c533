"""`generate()`: the deterministic demo data set — CloudTrail files, an IAM snapshot and the
ground-truth manifest — and `ensure()`, which keeps a default copy on disk for notebooks.

Output (all under `out_dir`):
  cloudtrail/AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/*.json.gz   (+ one CloudTrail-Digest file)
  iam/                        an IAM snapshot (trailbook-iam-snapshot/1), source "demo"
  demo_manifest.json          accounts, principals, window, counts, incidents, IAM plants

The same (seed, events, incidents) always gives byte-identical files: every random choice
comes from a `random.Random` seeded with a string, gzip headers carry mtime 0, and nothing
reads the clock.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import orjson

from .background import Background, rotation_events
from .delivery import Delivery
from .iam_snapshot import write_snapshot
from .incidents import LOGGING_GAP, PUBLIC_BUCKET, RESTART_AT, STOP_AT, build_incidents
from .schedule import Burst, apportion, build_schedule
from .streams import build_streams
from .usage import Usage
from .window import DAY, DEMO_WINDOW, HISTORY_START, SNAPSHOT_TIME, WINDOW_END, epoch, iso
from .world import ADMIN_POLICY_ARN, PROD, SECURITY, World, build_world

MANIFEST = "demo_manifest.json"
MANIFEST_FORMAT = "trailbook-demo/1"
MIN_EVENTS = 1_000
MAX_EVENTS = 20_000_000
DEFAULT_EVENTS = 40_000
DEFAULT_SEED = 7


def generate(out_dir: str | os.PathLike, *, seed: int = DEFAULT_SEED, events: int = DEFAULT_EVENTS,
             incidents: bool = True) -> dict[str, Any]:
    """Write the demo data set under `out_dir` and return its manifest.

    `events` is the exact number of background events (the incidents come on top);
    `incidents=False` writes the clean background only. A previous demo in `out_dir` is
    replaced; any other existing `cloudtrail/` or `iam/` folder there is an error.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if isinstance(events, bool) or not isinstance(events, int):
        raise TypeError(f"events must be an int, got {events!r}")
    if not MIN_EVENTS <= events <= MAX_EVENTS:
        raise ValueError(f"events must be between {MIN_EVENTS:,} and {MAX_EVENTS:,}, got {events:,}")
    out = Path(out_dir)
    _prepare(out)

    world = build_world(seed)
    usage = Usage()
    story = build_incidents(world, usage, seed) if incidents else []
    gap = LOGGING_GAP if incidents else None

    def in_gap(t: int) -> bool:
        return gap is not None and gap[0] <= t < gap[1]

    streams = build_streams(world, random.Random(f"trailbook-demo:{seed}:streams"))
    bursts = build_schedule(streams, random.Random(f"trailbook-demo:{seed}:schedule"))
    if gap:  # the trail was stopped: nothing that happened in the gap is delivered
        bursts = [b for b in bursts if b.start + b.duration <= gap[0] or b.start >= gap[1]]
    rotations = rotation_events(world, random.Random(f"trailbook-demo:{seed}:rotation"), in_gap)
    apportion(bursts, events - len(rotations), random.Random(f"trailbook-demo:{seed}:apportion"))
    order = {s.key: n for n, s in enumerate(streams)}
    bursts.sort(key=lambda b: (b.start, order[b.stream.key]))

    extras = [(t, rec) for inc in story for t, rec in inc.events] + rotations
    extras.sort(key=lambda item: item[0])
    for t, _ in extras:
        if not HISTORY_START <= t < WINDOW_END:
            raise AssertionError(f"event outside the window at {iso(t)}")

    delivery = Delivery(out / "cloudtrail", random.Random(f"trailbook-demo:{seed}:files"),
                        digest_scope=(PROD, "us-east-1", HISTORY_START, HISTORY_START + 3600))
    # People's reads (console sign-ins excluded) are eligible for the odd benign AccessDenied.
    eligible = sum(b.count - (b.stream.kind == "console") for b in bursts if b.stream.deniable and b.count)
    wanted = max(2, round(events / 20_000))
    background = Background(world, delivery, usage, deny_every=max(1, int(eligible * 0.9) // wanted))
    _deliver(delivery, background, bursts, extras, seed)
    digest = delivery.write_digest("acme-org-cloudtrail-logs", "org-trail")

    facts = {
        "trail_kms_key": world.accounts[SECURITY].resources.kms_key("us-east-1"),
        "trail_started": RESTART_AT if incidents else epoch(2024, 1, 10, 12, 4, 31),
        "trail_stopped": STOP_AT if incidents else None,
        "deleted_detectors": {(PROD, "us-east-1")} if incidents else set(),
        "analyzer_findings": {PROD: [_public_bucket_finding()]} if incidents else {},
    }
    write_snapshot(out / "iam", world, usage, facts, seed)

    listed = [inc for inc in story if inc.listed]
    incident_events = sum(len(inc.events) for inc in listed)
    response_events = sum(len(inc.events) for inc in story if not inc.listed)
    if delivery.records != events + incident_events + response_events:
        expected = events + incident_events + response_events
        raise AssertionError(f"delivered {delivery.records} records, expected {expected}")
    manifest = {
        "format": MANIFEST_FORMAT, "seed": seed, "events_requested": events, "incidents_enabled": incidents,
        "window": DEMO_WINDOW.as_dict(),
        "accounts": [{"account_id": a.id, "name": a.name, "regions": list(a.regions)} for a in world.accounts.values()],
        "regions": world.region_list(),
        "principals": _principals(world, streams),
        "event_count": delivery.records,
        "background_event_count": events,
        "incident_event_count": incident_events,
        "response_event_count": response_events,
        "benign_access_denied_count": background.denied,
        "file_count": len(delivery.files),
        "bytes_uncompressed": delivery.bytes_raw,
        "bytes_compressed": delivery.bytes_gz,
        "paths": {"cloudtrail": "cloudtrail", "iam": "iam", "digest": f"cloudtrail/{digest}" if digest else None},
        "logging_gaps": [{"start": iso(gap[0]), "end": iso(gap[1]), "incident": "cloudtrail_stopped"}] if gap else [],
        "incidents": [inc.manifest() for inc in listed],
        "iam_plants": _plants(world, usage),
    }
    (out / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return manifest


def _prepare(out: Path) -> None:
    """Clear a previous demo (only what this module writes); refuse to overwrite anything else."""
    out.mkdir(parents=True, exist_ok=True)
    ours = (out / MANIFEST).is_file()
    for name in ("cloudtrail", "iam"):
        target = out / name
        if target.exists():
            if not ours:
                raise FileExistsError(f"{target} exists and {out} holds no {MANIFEST}: refusing to overwrite it")
            shutil.rmtree(target)
    if ours:
        (out / MANIFEST).unlink()


def _deliver(delivery: Delivery, background: Background, bursts: list[Burst], extras: list, seed: int) -> None:
    """Day by day: fixed events, then the day's bursts, then write every slot the day closed."""
    b, e = 0, 0
    for day in range(HISTORY_START, WINDOW_END, DAY):
        rng = random.Random(f"trailbook-demo:{seed}:day:{day}")
        while e < len(extras) and extras[e][0] < day + DAY:
            t, rec = extras[e]
            delivery.add_record(rec, t)
            e += 1
        while b < len(bursts) and bursts[b].start < day + DAY:
            background.run(bursts[b], rng)
            b += 1
        delivery.flush_before(day + DAY)
    delivery.close()


def _public_bucket_finding() -> dict[str, Any]:
    t = epoch(2026, 10, 26, 3, 11, 48)
    return {"analyzedAt": iso(t), "createdAt": iso(t), "updatedAt": iso(t), "resource": f"arn:aws:s3:::{PUBLIC_BUCKET}",
            "resourceType": "AWS::S3::Bucket", "resourceOwnerAccount": PROD, "status": "ACTIVE",
            "findingType": "ExternalAccess"}


def _principals(world: World, streams) -> list[dict[str, Any]]:
    habits: dict[str, dict[str, set]] = {}
    for s in streams:
        h = habits.setdefault(s.principal.arn, {"ips": set(), "uas": set(), "regions": set(), "sessions": set()})
        h["ips"].update(s.ips)
        for tool in s.tools:
            h["uas"].add(tool.ua)
            h["uas"].update(i.ua for i in tool.items if i.ua)
            h["regions"].update(i.region for i in tool.items)
        if s.session:
            h["sessions"].add(s.session)
    out = []
    for account in world.accounts.values():
        out.append({"arn": f"arn:aws:iam::{account.id}:root", "type": "Root", "account_id": account.id, "name": "root",
                    "kind": "root", "mfa": account.root_mfa, "access_key_ids": []})
        for user in sorted(account.users.values(), key=lambda u: u.name):
            h = habits.get(user.arn, {})
            out.append({"arn": user.arn, "type": "IAMUser", "account_id": account.id, "name": user.name,
                        "kind": "human" if user.human else "automation", "mfa": user.mfa, "password": user.password,
                        "access_key_ids": [k.id for k in user.keys], "source_ips": sorted(h.get("ips", ())),
                        "user_agents": sorted(h.get("uas", ())), "regions": sorted(h.get("regions", ()))})
        for role in sorted(account.roles.values(), key=lambda r: r.name):
            h = habits.get(role.arn, {})
            out.append({"arn": role.arn, "type": "Role", "account_id": account.id, "name": role.name,
                        "kind": "service-linked" if role.path.startswith("/aws-service-role/") else
                        ("instance-profile" if role.instance_profile else "lambda"),
                        "session_names": sorted(h.get("sessions", ())), "source_ips": sorted(h.get("ips", ())),
                        "user_agents": sorted(h.get("uas", ())), "regions": sorted(h.get("regions", ()))})
    return out


def _plants(world: World, usage: Usage) -> list[dict[str, Any]]:
    prod = world.accounts[PROD]
    legacy = prod.users["legacy-backup"]
    stale = legacy.keys[0]
    reporting = prod.users["svc-reporting"]
    pipeline = prod.roles["data-pipeline"]
    since = SNAPSHOT_TIME - 90 * DAY
    recent = [ns for (arn, ns), (t, _) in usage.services.items() if arn == pipeline.arn and t >= since]
    recent += [ns for ns, (t, _, _) in pipeline.prior_usage.items() if t >= since]
    return [
        {"id": "stale_key", "account_id": PROD, "entity_arn": legacy.arn, "access_key_id": stale.id,
         "created": iso(stale.created), "last_used": iso(stale.prior_use[0]) if stale.prior_use else None},
        {"id": "user_without_mfa", "account_id": PROD, "entity_arn": prod.users["carol"].arn,
         "detail": "console password enabled, no MFA device"},
        {"id": "two_active_keys", "account_id": PROD, "entity_arn": reporting.arn,
         "access_key_ids": [k.id for k in reporting.keys]},
        {"id": "over_privileged_role", "account_id": PROD, "entity_arn": pipeline.arn, "policy_arn": ADMIN_POLICY_ARN,
         "services_used_last_90_days": sorted(set(recent))},
        {"id": "root_without_mfa", "account_id": PROD, "entity_arn": f"arn:aws:iam::{PROD}:root",
         "detail": "root mfa_active false; no root access keys"},
    ]


def default_root() -> Path:
    """Where `ensure()` keeps the default demo (`paths.demo_dir`)."""
    from .. import paths

    return paths.demo_dir()


def snapshot_beside(cloudtrail: Path) -> Path | None:
    """The IAM snapshot of the demo whose `cloudtrail/` folder this is, else None."""
    root = cloudtrail.parent
    if cloudtrail.name == "cloudtrail" and (root / MANIFEST).is_file() and (root / "iam" / "snapshot.json").is_file():
        return root / "iam"
    return None


def ensure(root: str | os.PathLike | None = None, *, seed: int = DEFAULT_SEED, events: int = DEFAULT_EVENTS,
           incidents: bool = True) -> dict[str, Path]:
    """The default demo on disk, generated on first use (or when its parameters differ).

    Returns paths: root, cloudtrail, iam, manifest, and store (where a local engine keeps its
    database for this demo).
    """
    base = Path(root).expanduser() if root is not None else default_root()
    manifest_path = base / MANIFEST
    current = None
    if manifest_path.is_file():
        try:
            current = orjson.loads(manifest_path.read_bytes())
        except orjson.JSONDecodeError:
            current = None
    wanted = {"format": MANIFEST_FORMAT, "seed": seed, "events_requested": events, "incidents_enabled": incidents}
    if not current or any(current.get(k) != v for k, v in wanted.items()):
        generate(base, seed=seed, events=events, incidents=incidents)
        store = base / "store"
        if store.exists():
            shutil.rmtree(store)  # built from the previous demo
    return {"root": base, "cloudtrail": base / "cloudtrail", "iam": base / "iam", "manifest": manifest_path,
            "store": base / "store"}
