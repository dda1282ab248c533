"""The organization-shaped trail (issue 15): its shape follows from the parameters alone.

Expected numbers are worked out by hand below from the module's stated rules (Zipf account shares,
two busy regions with 1 - quiet_share, 5-minute slots, largest-remainder rounding), never from a
run of the generator.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from botocore.loaders import Loader

from trailbook.cli import main
from trailbook.demo import generate_org
from trailbook.demo.org import ORG_MANIFEST

SLOTS = 288  # 5-minute slots in a day


def _regions() -> list[str]:
    """Every region of the aws partition, read from botocore's endpoint data here."""
    partitions = Loader().load_data("endpoints")["partitions"]
    return sorted(next(p for p in partitions if p["partition"] == "aws")["regions"])


def _files(root: Path) -> list[Path]:
    return sorted(root.glob("cloudtrail/AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"))


def _records(path: Path) -> list[dict]:
    return json.loads(gzip.decompress(path.read_bytes()))["Records"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("org") / "a"
    manifest = generate_org(root, seed=7, events=3000, accounts=2, days=1, quiet_share=0.1)
    return root, manifest


def test_events_per_file_follow_the_shape(small):
    root, manifest = small
    quiet = len(_regions()) - 2
    # Accounts by Zipf: 1 : 1/2 of 3000 -> 2000 and 1000 events.
    # Account 0: busy regions 0.45 each = 900 = 3*288 + 36 -> 36 files of 4, 252 of 3 (twice);
    #            quiet 0.1 = 200 events, fewer than 288 per region -> 200 files of 1.
    # Account 1: busy 450 = 1*288 + 162 -> 162 files of 2, 126 of 1 (twice); quiet 100 -> 100 files of 1.
    expected = {4: 2 * 36, 3: 2 * 252, 2: 2 * 162, 1: 2 * 126 + 200 + 100}
    files = _files(root)
    sizes = Counter(len(_records(f)) for f in files)
    assert dict(sizes) == expected
    assert sum(k * v for k, v in sizes.items()) == 3000 == manifest["event_count"]
    assert len(files) == sum(expected.values()) == manifest["file_count"]
    assert quiet >= 30  # the partition's quiet regions, all present below
    # Most files are tiny: 2 events or fewer.
    assert sizes[1] + sizes[2] > len(files) / 2


def test_every_account_and_region_delivers_and_busy_regions_every_five_minutes(small):
    root, manifest = small
    regions = _regions()
    by_cell = Counter((f.parts[-7], f.parts[-5]) for f in _files(root))  # (account, region)
    accounts = manifest["accounts"]
    assert len(accounts) == 2
    assert set(by_cell) == {(a, r) for a in accounts for r in regions}  # every region of the partition
    # Busy regions: us-east-1 and each account's home region, a file for every slot of the day.
    assert by_cell[(accounts[0], "us-east-1")] == by_cell[(accounts[0], "us-west-2")] == SLOTS
    assert by_cell[(accounts[1], "us-east-1")] == by_cell[(accounts[1], "eu-west-1")] == SLOTS
    # Quiet regions: 200 (and 100) events over the 32 others, largest remainder: 6 or 7 (3 or 4) files.
    quiet0 = [by_cell[(accounts[0], r)] for r in regions if r not in ("us-east-1", "us-west-2")]
    quiet1 = [by_cell[(accounts[1], r)] for r in regions if r not in ("us-east-1", "eu-west-1")]
    assert sum(quiet0) == 200 and set(quiet0) <= {200 // len(quiet0), 200 // len(quiet0) + 1}
    assert sum(quiet1) == 100 and set(quiet1) <= {100 // len(quiet1), 100 // len(quiet1) + 1}


def test_each_file_holds_its_own_five_minutes_of_its_account_and_region(small):
    root, _ = small
    for path in _files(root)[::50]:
        records = _records(path)
        account, region = path.parts[-7], path.parts[-5]
        assert {r["recipientAccountId"] for r in records} == {account}
        assert {r["awsRegion"] for r in records} == {region}
        times = sorted(r["eventTime"] for r in records)
        minutes = {int(t[14:16]) // 5 for t in times}
        hours = {t[:13] for t in times}
        assert len(minutes) == 1 and len(hours) == 1 and times[0].startswith("2026-10-01T")


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_deterministic_by_seed(small, tmp_path):
    root, manifest = small
    again = generate_org(tmp_path / "b", seed=7, events=3000, accounts=2, days=1, quiet_share=0.1)
    assert _digest(tmp_path / "b") == _digest(root) and again == manifest
    other = generate_org(tmp_path / "c", seed=8, events=3000, accounts=2, days=1, quiet_share=0.1)
    assert _digest(tmp_path / "c") != _digest(root)
    assert other["files_by_events"] == manifest["files_by_events"]  # the seed changes content, not shape


def test_the_cli_writes_it(tmp_path, capsys):
    assert main(["demo", "--org-shape", "1", "--events", "1000", "--days", "2", "--out", str(tmp_path / "o")]) == 0
    manifest = json.loads((tmp_path / "o" / ORG_MANIFEST).read_text())
    # One account, 1000 events: busy 450 each over 576 slots (fewer than slots: 450 files of 1),
    # quiet 100 over 32 regions (files of 1): 1000 single-event files over two day folders.
    assert manifest["event_count"] == 1000 and manifest["file_count"] == 1000
    assert {p.parts[-2] for p in _files(tmp_path / "o")} == {"01", "02"}
    assert "1000 events in 1000 files" in capsys.readouterr().out
    assert main(["demo", "--org-shape", "0", "--out", str(tmp_path / "z")]) == 2


def test_each_principal_calls_from_one_address_with_one_tool_and_days_apart_share_no_event_id(small, tmp_path):
    root, _ = small
    addresses: dict[str, set[tuple[str, str]]] = {}
    for path in _files(root):
        for record in _records(path):
            if record["userIdentity"]["type"] != "AWSService":
                addresses.setdefault(record["userIdentity"]["arn"], set()).add(
                    (record["sourceIPAddress"], record["userAgent"]))
    # 2 accounts x (4 roles + 3 users), each from its one home address with its one user agent.
    assert len(addresses) == 14 and all(len(seen) == 1 for seen in addresses.values())
    next_day = generate_org(tmp_path / "d", seed=7, events=3000, accounts=2, days=1, quiet_share=0.1,
                            start="2026-10-02")
    ids = {r["eventID"] for f in _files(root) for r in _records(f)}
    later = {r["eventID"] for f in _files(tmp_path / "d") for r in _records(f)}
    assert len(ids) == len(later) == 3000 == next_day["event_count"] and not ids & later
