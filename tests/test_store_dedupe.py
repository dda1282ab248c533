"""Dedupe (trailbook.store.dedupe) on small hand-made deliveries: what counts as the same event, which
copy stays, and where duplicates are looked for. Fast, so module mutation can run it per mutant.

The key is (eventID, eventTime, eventName) within a partition (account, region, day); the first copy in
source order (file, then place in the file) stays; stored files count as earlier than the batch.
"""

from __future__ import annotations

import json
from pathlib import Path

from trailbook import store

BASE = {"eventVersion": "1.08", "eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity",
        "eventTime": "2024-08-02T10:00:00Z", "awsRegion": "us-east-1", "recipientAccountId": "111111111111",
        "sourceIPAddress": "198.51.100.1", "userIdentity": {"type": "IAMUser", "accountId": "111111111111"}}


def event(eid: str, agent: str, **changes) -> dict:
    return {**BASE, "eventID": eid, "userAgent": agent, **changes}


def deliver(folder, files: dict[str, list[dict]]):
    folder.mkdir(parents=True, exist_ok=True)
    for name, records in files.items():
        (folder / name).write_text(json.dumps({"Records": records}), encoding="utf-8")
    return folder


def ingest(source, tmp_path, **kwargs):
    return store.ingest(source, tmp_path / "store", progress=False, **kwargs)


def stored(tmp_path) -> list[tuple]:
    con = store.connect(tmp_path / "store")
    try:
        return con.execute("SELECT eventid, useragent FROM cloudtrail ORDER BY eventid, useragent").fetchall()
    finally:
        con.close()


def test_the_first_copy_in_source_order_stays_whichever_file_and_place_holds_it(tmp_path):
    source = deliver(tmp_path / "src", {
        "a.json": [event("e1", "a-first"), event("e2", "a-second"), event("e2", "a-third")],
        "b.json": [event("e1", "b-first"), event("e3", "b-second"), event("e4", "b-third")],
    })
    report = ingest(source, tmp_path)
    assert (report.events_read, report.events_loaded, report.duplicates_removed) == (6, 4, 2)
    assert stored(tmp_path) == [("e1", "a-first"), ("e2", "a-second"), ("e3", "b-second"), ("e4", "b-third")]


def test_the_same_event_id_at_another_time_or_with_another_name_is_another_event(tmp_path):
    source = deliver(tmp_path / "src", {"a.json": [
        event("1", "base"),
        event("1", "later", eventTime="2024-08-02T10:00:01Z"),
        event("1", "renamed", eventName="GetSessionToken"),
        event("1", "copy"),
    ]})
    report = ingest(source, tmp_path)
    assert (report.events_loaded, report.duplicates_removed) == (3, 1)
    assert stored(tmp_path) == [("1", "base"), ("1", "later"), ("1", "renamed")]


def test_a_copy_in_another_partition_is_kept(tmp_path):
    source = deliver(tmp_path / "src", {"a.json": [
        event("e1", "home"),
        event("e1", "other-region", awsRegion="eu-west-1"),
        event("e1", "other-account", recipientAccountId="222222222222"),
    ]})
    report = ingest(source, tmp_path)
    assert (report.events_loaded, report.duplicates_removed) == (3, 0)


def test_a_copy_in_another_partition_is_kept_whatever_the_batches(tmp_path):
    """The second file's batch also touches the first file's partition: its other-region copy must not be
    matched against that partition's stored rows (it was, before dedupe compared partitions too)."""
    files = {"a.json": [event("e2", "home")],
             "b.json": [event("e3", "home"), event("e2", "other-region", awsRegion="eu-west-1")]}
    outcomes = []
    for batch_files in (2048, 1):
        report = ingest(deliver(tmp_path / f"src{batch_files}", files), tmp_path / f"run{batch_files}",
                        batch_files=batch_files)
        outcomes.append((report.events_loaded, report.duplicates_removed, stored(tmp_path / f"run{batch_files}")))
    assert outcomes == [(3, 0, [("e2", "home"), ("e2", "other-region"), ("e3", "home")])] * 2


def test_events_already_stored_win_over_a_later_delivery(tmp_path):
    first = ingest(deliver(tmp_path / "one", {"a.json": [event("e1", "stored"), event("e2", "stored")]}), tmp_path)
    assert (first.events_loaded, first.duplicates_removed) == (2, 0)
    second = ingest(deliver(tmp_path / "two", {"b.json": [
        event("e3", "new"), event("e1", "late copy"), event("e2", "late copy", awsRegion="eu-west-1")]}), tmp_path)
    assert (second.events_read, second.events_loaded, second.duplicates_removed) == (3, 2, 1)
    # e2's late copy is in another region: another partition, kept
    assert stored(tmp_path) == [("e1", "stored"), ("e2", "late copy"), ("e2", "stored"), ("e3", "new")]


def test_the_outcome_does_not_depend_on_how_files_are_batched(tmp_path):
    files = {f"{name}.json": [event(f"e{i % 3}", f"{name}{i}") for i in range(4)] for name in ("a", "b", "c")}
    outcomes = []
    for batch_files in (1, 2, 2048):
        source = deliver(tmp_path / f"src{batch_files}", files)
        report = ingest(source, tmp_path / f"run{batch_files}", batch_files=batch_files)
        outcomes.append((report.events_loaded, report.duplicates_removed, stored(tmp_path / f"run{batch_files}")))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0] == (3, 9, [("e0", "a0"), ("e1", "a1"), ("e2", "a2")])


def test_nothing_is_dropped_when_nothing_repeats(tmp_path):
    ingest(deliver(tmp_path / "one", {"a.json": [event("e1", "x")]}), tmp_path)
    report = ingest(deliver(tmp_path / "two", {"b.json": [event("e2", "y"), event("e3", "z")]}), tmp_path)
    assert (report.events_loaded, report.duplicates_removed) == (2, 0)
    assert stored(tmp_path) == [("e1", "x"), ("e2", "y"), ("e3", "z")]


def test_an_ingest_keeps_files_a_compaction_retired_while_a_reader_may_still_read_them(tmp_path):
    """Cleaning up an interrupted ingest's leftovers must not take the retired files a live reader holds."""
    for n, name in enumerate(("a", "b")):
        ingest(deliver(tmp_path / name, {f"{name}.json": [event(f"e{n}", name)]}), tmp_path)
    reader = store.connect(tmp_path / "store")
    try:
        old = set(store.data_files(tmp_path / "store"))
        compacted = store.compact(tmp_path / "store")
        assert compacted.files_replaced == 2 and compacted.files_kept_for_readers == 2
        report = ingest(deliver(tmp_path / "c", {"c.json": [event("e9", "c", awsRegion="eu-west-1")]}), tmp_path)
        assert report.events_loaded == 1
        assert all(path.exists() for path in old)
        assert reader.execute("SELECT count(*) FROM cloudtrail").fetchone()[0] == 2
    finally:
        reader.close()


def test_dropping_a_repeat_never_drops_a_record_at_the_same_count_in_another_file(tmp_path):
    """Rows are named by (file, place in file): a long first file and a repeat at the head of the second
    must not be confused (a place computed as file * 33 + n would name the first file's 34th row too)."""
    first = [event(f"e{i:02d}", "a") for i in range(40)]
    source = deliver(tmp_path / "src", {"a.json": first, "b.json": [event("e00", "b"), event("e99", "b")]})
    report = ingest(source, tmp_path)
    assert (report.events_read, report.events_loaded, report.duplicates_removed) == (42, 41, 1)
    assert [eid for eid, _ in stored(tmp_path)] == [f"e{i:02d}" for i in range(40)] + ["e99"]


def test_a_repeat_deep_in_a_later_file_drops_only_itself(tmp_path):
    """The doomed row is the second file's 32nd; no row of the first file shares its place."""
    second = [event(f"f{i:02d}", "b") for i in range(31)] + [event("e1", "b")]
    report = ingest(deliver(tmp_path / "src", {"a.json": [event("e0", "a"), event("e1", "a")], "b.json": second}),
                    tmp_path)
    assert (report.events_read, report.events_loaded, report.duplicates_removed) == (34, 33, 1)
    assert ("e0", "a") in stored(tmp_path) and ("e1", "a") in stored(tmp_path)


def test_a_repeat_in_the_33rd_file_of_a_batch_drops_only_itself(tmp_path):
    files = {"f00.json": [event("g0", "first"), event("g1", "first")]}
    files.update({f"f{i:02d}.json": [event(f"h{i:02d}", "x")] for i in range(1, 32)})
    files["f32.json"] = [event("h01", "repeat")]
    report = ingest(deliver(tmp_path / "src", files), tmp_path)
    assert (report.events_read, report.events_loaded, report.duplicates_removed) == (34, 33, 1)
    assert ("g1", "first") in stored(tmp_path) and ("h01", "x") in stored(tmp_path)


def test_a_rolled_up_file_of_this_ingest_is_read_only_for_its_own_regions(tmp_path):
    """Each batch of a long ingest writes a rolled-up file for each account's day it touches; a
    later batch reads one only for a region it holds. A file an earlier ingest rolled up may hold
    any region of its day, so it is always read."""
    from trailbook.store.dedupe import Parts

    parts = Parts.__new__(Parts)
    parts.store_dir = tmp_path
    parts.by_key = {("111111111111", "*", "2026/10/01"): ["old.parquet"],
                    ("111111111111", "eu-west-1", "2026/10/01"): ["eu.parquet"]}
    parts.rolled_regions = {}
    parts.add([{"path": "new.parquet", "account": "111111111111", "region": "*", "day": "2026/10/01",
                "regions": ["eu-west-1", "us-east-1"]}])
    def read_for(region: str) -> list[str]:
        return sorted(path.name for path in map(Path, parts.absolute([("111111111111", region, "2026/10/01")])))
    assert read_for("us-east-1") == ["new.parquet", "old.parquet"]
    assert read_for("eu-west-1") == ["eu.parquet", "new.parquet", "old.parquet"]
    assert read_for("ap-south-1") == ["old.parquet"]
    assert parts.absolute([("111111111111", "us-east-1", "2026/10/02")]) == []


def test_a_repeat_across_batches_in_a_rolled_up_day_is_dropped(tmp_path):
    """An organization's day (every partition small, so written rolled up) with one file delivered
    again at the end of the source: a later batch than the original's; its events are dropped."""
    import gzip
    import shutil

    from trailbook.demo import generate_org

    root = tmp_path / "org"
    generate_org(root, seed=5, events=2000, accounts=1, days=1)
    files = sorted((root / "cloudtrail").rglob("*.json.gz"))
    original = files[len(files) // 3]
    copy = root / "cloudtrail" / "AWSLogs" / "zz-again" / original.relative_to(root / "cloudtrail" / "AWSLogs")
    copy.parent.mkdir(parents=True)
    shutil.copyfile(original, copy)
    again = len(json.loads(gzip.decompress(original.read_bytes()))["Records"])
    report = store.ingest(root / "cloudtrail", tmp_path / "store", progress=False, batch_files=len(files) // 4)
    assert report.events_read == 2000 + again and report.duplicates_removed == again > 0
    assert report.events_loaded == 2000


def test_files_planned_in_slices_load_and_dedupe_as_in_one(tmp_path, monkeypatch):
    """An ingest plans its files tuning.PLAN_FILES at a time; a repeat in a later slice than its
    original is still dropped, and the counts are the whole source's."""
    import gzip
    import os
    import shutil

    from trailbook.demo import generate_org
    from trailbook.store import tuning

    root = tmp_path / "org"
    generate_org(root, seed=7, events=600, accounts=1, days=1)
    files = sorted((root / "cloudtrail").rglob("*.json.gz"))
    original = files[2]
    copy = root / "cloudtrail" / "AWSLogs" / "zz-again" / original.relative_to(root / "cloudtrail" / "AWSLogs")
    copy.parent.mkdir(parents=True)
    shutil.copyfile(original, copy)
    again = len(json.loads(gzip.decompress(original.read_bytes()))["Records"])
    monkeypatch.setattr(tuning, "PLAN_FILES", 7)
    assert len(files) + 1 > 3 * 7  # several slices
    report = store.ingest(root / "cloudtrail", tmp_path / "store", progress=False)
    assert report.files_seen == report.files_new == len(files) + 1
    assert report.events_loaded == 600 and report.duplicates_removed == again > 0
    os.utime(files[-1], ns=(1, 1))  # one file changed (by mtime): read again, its events already stored
    report = store.ingest(root / "cloudtrail", tmp_path / "store", progress=False)
    assert report.files_new == 1 and report.files_skipped_unchanged == len(files)
    assert report.events_loaded == 0


def test_an_ingest_in_slices_shows_one_progress_bar_for_all_its_files(tmp_path, monkeypatch, capsys):
    from trailbook.demo import generate_org
    from trailbook.store import tuning

    root = tmp_path / "org"
    generate_org(root, seed=7, events=300, accounts=1, days=1)
    files = len(list((root / "cloudtrail").rglob("*.json.gz")))
    monkeypatch.setattr(tuning, "PLAN_FILES", 7)
    assert files > 2 * 7
    store.ingest(root / "cloudtrail", tmp_path / "store", progress=True)
    bars = [line for line in capsys.readouterr().err.split("\n") if "ingest:" in line]
    assert len(bars) == 1 and f"{files}/{files}" in bars[0]
