"""Compaction: a partition's Parquet files become one, with every event kept once, readers of the
old snapshot undisturbed, a kill -9 at any point harmless, and the same findings before and after.

The expected events come from the source files, read here with gzip and json.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from trailbook import cli, store
from trailbook.demo import generate
from trailbook.store import tuning

LIB = Path(__file__).resolve().parents[1] / "lib"
GROUPS = 6  # ingests, each of every 6th source file: every partition gets several files


def read_keys(files: list[Path]) -> set[tuple[str, str, str]]:
    """(eventID, eventTime, eventName) of every record in the files: what dedupe keeps once."""
    keys = set()
    for path in files:
        for record in json.loads(gzip.decompress(path.read_bytes())).get("Records", []):
            keys.add((record["eventID"], record["eventTime"], record["eventName"]))
    return keys


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The demo's files, some delivered twice (an organisation trail's copies, ingested last), and
    a store built from them by several ingests with no automatic compaction."""
    root = tmp_path_factory.mktemp("compact")
    generate(root / "demo", events=3000)
    files = sorted((root / "demo").rglob("*.json.gz"))
    copies = []
    for path in files[::50]:
        copy = root / "org" / "o-demo" / path.relative_to(root / "demo")
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
        copies.append(copy)
    keys = read_keys(files)
    assert read_keys(copies) <= keys and len({k[0] for k in keys}) == len(keys)  # ids unique in the demo
    fragmented = root / "fragmented"
    saved, tuning.AUTO_COMPACT_FILES = tuning.AUTO_COMPACT_FILES, 10_000
    try:
        for n in range(GROUPS):
            store.ingest(files[n::GROUPS], fragmented, progress=False)
        report = store.ingest(copies, fragmented, progress=False)
    finally:
        tuning.AUTO_COMPACT_FILES = saved
    assert report.duplicates_removed == sum(len(read_keys([c])) for c in copies) > 0
    return {"demo": root / "demo", "files": files, "copies": copies, "keys": keys, "fragmented": fragmented}


def fresh(corpus, tmp_path) -> Path:
    target = tmp_path / "store"
    shutil.copytree(corpus["fragmented"], target, ignore=shutil.ignore_patterns(".readers"))
    return target


def events(con) -> list[tuple[str, str, str]]:
    return con.execute("SELECT eventid, eventtime, eventname FROM cloudtrail").fetchall()


def assert_complete(target: Path, keys: set) -> None:
    """Every source event exactly once, and every committed file on disk."""
    con = store.connect(target)
    try:
        rows = events(con)
    finally:
        con.close()
    assert len(rows) == len(set(rows)) == len(keys)
    assert set(rows) == keys
    assert all(path.exists() for path in store.data_files(target))


def files_per_partition(target: Path) -> list[int]:
    con = store.connect(target, read_only=False)
    try:
        return [n for (n,) in con.execute("SELECT count(*) FROM parts GROUP BY account, region, day").fetchall()]
    finally:
        con.close()


def parquet_on_disk(target: Path) -> set[Path]:
    return {p.resolve() for p in (target / store.DATA_DIR).rglob("*.parquet")}


def test_compact_keeps_every_event_once_in_one_file_per_partition(corpus, tmp_path):
    target = fresh(corpus, tmp_path)
    before = files_per_partition(target)
    assert max(before) >= 4  # fragmented
    report = store.compact(target)
    assert report.failed == []
    assert report.partitions_compacted == sum(1 for n in before if n > 1)
    assert report.files_replaced == sum(n for n in before if n > 1)
    assert report.rows_rewritten > 0
    after = files_per_partition(target)
    assert after == [1] * len(before)
    assert_complete(target, corpus["keys"])
    # No reader was open: the old files are gone at once, and nothing but the committed files stays.
    assert report.files_deleted == report.files_replaced and report.files_kept_for_readers == 0
    assert parquet_on_disk(target) == {p.resolve() for p in store.data_files(target)}
    # Ingesting the copies again finds them loaded; a changed copy dedupes against the compacted files.
    copy = corpus["copies"][0]
    os.utime(copy, ns=(copy.stat().st_atime_ns, copy.stat().st_mtime_ns + 10**9))
    report = store.ingest(corpus["copies"][:1], target, progress=False)
    assert report.files_new == 1 and report.events_loaded == 0 and report.duplicates_removed > 0
    assert_complete(target, corpus["keys"])
    again = store.compact(target)
    assert again.partitions_compacted == 0 and again.failed == []


def test_an_ingest_compacts_partitions_past_the_threshold(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(tuning, "AUTO_COMPACT_FILES", 2)
    target = tmp_path / "store"
    compacted = 0
    for n in range(GROUPS):
        report = store.ingest(corpus["files"][n::GROUPS], target, progress=False)
        compacted += report.partitions_compacted
        assert max(files_per_partition(target)) <= 2
    assert compacted > 0
    assert_complete(target, corpus["keys"])
    assert parquet_on_disk(target) == {p.resolve() for p in store.data_files(target)}


READER_CHILD = """
import sys
from trailbook import store
con = store.connect(sys.argv[1])
query = "SELECT count(*), count(DISTINCT eventid) FROM cloudtrail"
print(*con.execute(query).fetchone(), flush=True)
sys.stdin.readline()
print(*con.execute(query).fetchone(), flush=True)
sys.stdin.readline()
"""


def test_readers_opened_before_a_compaction_read_complete_results_during_and_after(corpus, tmp_path):
    target = fresh(corpus, tmp_path)
    expected = len(corpus["keys"])
    reader = store.connect(target)
    env = {**os.environ, "PYTHONPATH": str(LIB)}
    other = subprocess.Popen([sys.executable, "-c", READER_CHILD, str(target)], env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    killed = subprocess.Popen([sys.executable, "-c", READER_CHILD, str(target)], env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert other.stdout and other.stdout.readline().split() == [str(expected)] * 2
        assert killed.stdout and killed.stdout.readline().split() == [str(expected)] * 2
        old = set(store.data_files(target))
        done: list = []
        worker = threading.Thread(target=lambda: done.append(store.compact(target)))
        worker.start()
        during = 0
        while worker.is_alive():
            assert sorted(events(reader)) == sorted(corpus["keys"])
            during += 1
        worker.join()
        report = done[0]
        assert during >= 1 and report.partitions_compacted > 0
        # Three live readers hold the old snapshot: its files stay, and each still reads them all.
        assert report.files_deleted == 0 and report.files_kept_for_readers == report.files_replaced
        assert all(path.exists() for path in old)
        assert sorted(events(reader)) == sorted(corpus["keys"])
        # A writer run while they live (it deletes uncommitted leftovers first) keeps them too.
        again = store.compact(target)
        assert again.partitions_compacted == 0 and again.files_kept_for_readers == report.files_replaced
        assert all(path.exists() for path in old)
        other.stdin.write("\n")
        other.stdin.flush()
        assert other.stdout.readline().split() == [str(expected)] * 2
        # A new reader sees the compacted files.
        assert set(files_per_partition(target)) == {1}
        assert_complete(target, corpus["keys"])
        # The old files outlive their readers only until the next writer run: a reader process killed
        # by kill -9, one that ended, and one closed in this process no longer hold them.
        killed.kill()
        killed.wait(30)
        other.stdin.write("\n")
        other.stdin.flush()
        other.wait(30)
        reader.close()
        swept = store.compact(target)
        assert swept.files_deleted == report.files_replaced and swept.files_kept_for_readers == 0
        assert not any(path.exists() for path in old - set(store.data_files(target)))
        assert parquet_on_disk(target) == {p.resolve() for p in store.data_files(target)}
        assert not list((target / ".readers").glob("*.lease"))
    finally:
        for child in (other, killed):
            child.kill()
            child.wait(30)


# A compaction that kills itself (SIGKILL) at a chosen point; commits every few partitions.
KILL_CHILD = """
import os, pathlib, signal, sys
import pyarrow.parquet as pq
from trailbook import store
from trailbook.store import book, compaction, tuning
point, calls, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tuning.COMPACT_COMMIT_ROWS = 150

def dying(original):
    seen = [0]
    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        seen[0] += 1
        if seen[0] == calls:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return wrapped

if point == "write":  # a row group written, the file not closed
    pq.ParquetWriter.write_table = dying(pq.ParquetWriter.write_table)
elif point == "commit":  # a commit done, the next partitions not
    book.replace = dying(book.replace)
elif point == "sweep":  # some old files deleted, their records not
    oldest = compaction.lease.oldest_live
    def sweeping(*args):
        pathlib.Path.unlink = dying(pathlib.Path.unlink)
        return oldest(*args)
    compaction.lease.oldest_live = sweeping
store.compact(target)
"""


@pytest.mark.slow
def test_kill_9_at_any_point_of_a_compaction_then_compact_again(corpus, tmp_path):
    target = fresh(corpus, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(LIB)}
    start = files_per_partition(target)
    for point, calls in (("write", 20), ("commit", 2), ("write", 1), ("commit", 1), ("sweep", 3)):
        child = subprocess.run([sys.executable, "-c", KILL_CHILD, point, str(calls), str(target)], env=env,
                               capture_output=True, text=True, timeout=300)
        assert child.returncode == -9, f"{point} {calls}: not killed: {child.stderr[-2000:]}"
        assert_complete(target, corpus["keys"])
    middle = files_per_partition(target)
    assert len(middle) == len(start) and sum(middle) < sum(start)  # the killed runs committed some
    report = store.compact(target)
    assert report.failed == []
    assert set(files_per_partition(target)) == {1}
    assert_complete(target, corpus["keys"])
    # Partial and uncommitted files of the killed runs, and the old files, are gone.
    assert parquet_on_disk(target) == {p.resolve() for p in store.data_files(target)}
    con = store.connect(target, read_only=False)
    try:
        assert con.execute("SELECT count(*) FROM retired").fetchone()[0] == 0
    finally:
        con.close()


DETECTIONS = ("console_login_failures", "root_activity", "iam_admin_policy_granted", "key_new_user_agent",
              "enumeration_burst", "offensive_tool_user_agent")


def findings(corpus, target: Path, out: Path) -> list[str]:
    args = ["findings", "--source", str(corpus["demo"]), "--store", str(target), "--quiet", "--out", str(out)]
    for name in DETECTIONS:
        args += ["--detection", name]
    assert cli.main(args) == 0
    return sorted(out.read_text().splitlines())


@pytest.mark.slow
def test_findings_are_the_same_before_and_after_compaction(corpus, tmp_path):
    target = fresh(corpus, tmp_path)
    before = findings(corpus, target, tmp_path / "before.jsonl")
    assert cli.main(["compact", "--store", str(target), "--quiet"]) == 0
    assert set(files_per_partition(target)) == {1}
    after = findings(corpus, target, tmp_path / "after.jsonl")
    assert len({json.loads(line)["detection"] for line in before}) >= 4
    assert after == before


def test_compact_without_a_store_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["compact", "--store", str(tmp_path / "none")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# --- roll-up: an account's day of many small partitions becomes one file --------------------------

def _org_source(root: Path) -> tuple[Path, Counter]:
    """Two accounts x every region x two days, every partition small; and the events of each
    (account, region, day), read here from the delivery paths and the files."""
    from trailbook.demo import generate_org

    generate_org(root, seed=3, events=4000, accounts=2, days=2)
    counts: Counter = Counter()
    for path in sorted((root / "cloudtrail").rglob("*.json.gz")):
        parts = path.parts
        counts[(parts[-7], parts[-5], "/".join(parts[-4:-1]))] += len(
            json.loads(gzip.decompress(path.read_bytes()))["Records"])
    return root / "cloudtrail", counts


def test_an_accounts_day_of_many_small_partitions_is_rolled_up_into_one_file(tmp_path):
    source, counts = _org_source(tmp_path / "org")
    regions = {key[1] for key in counts}
    assert len(regions) >= tuning.ROLLUP_PARTITIONS and sum(counts.values()) == 4000
    target = tmp_path / "store"
    report = store.ingest(source, target, progress=False)
    assert report.events_loaded == 4000
    con = store.connect(target, read_only=False)
    try:
        parts = con.execute("SELECT account, region, day FROM parts ORDER BY ALL").fetchall()
    finally:
        con.close()
    # 2 accounts x 2 days, each rolled up (in one file per batch that held part of it); no region's
    # own partition is left.
    assert set(parts) == {(a, "*", d) for a, _, d in counts}
    assert sorted({d for _, _, d in parts}) == ["2026/10/01", "2026/10/02"]
    assert len({p.parent for p in parquet_on_disk(target)}) == 4
    assert parquet_on_disk(target) == {p.resolve() for p in store.data_files(target)}
    con = store.connect(target)
    try:
        stored = Counter({(a, r, d): n for a, r, d, n in con.execute(
            "SELECT account_partition, region_partition, date_partition, count(*) FROM cloudtrail "
            "GROUP BY ALL").fetchall()})
        assert con.execute("SELECT count(DISTINCT eventid) FROM cloudtrail").fetchone() == (4000,)
    finally:
        con.close()
    assert stored == counts  # every row keeps its own account, region and day


def test_a_region_scope_reads_the_rolled_up_files_and_keeps_its_own_rows(tmp_path):
    from trailbook.engines.local import LocalEngine
    from trailbook.session import Session

    source, counts = _org_source(tmp_path / "org")
    target = tmp_path / "store"
    store.ingest(source, target, progress=False)
    region = "eu-west-1"
    session = Session(LocalEngine(store=target, regions=[region]), start="2026-10-01T00:00:00Z",
                      end="2026-10-03T00:00:00Z")
    frame = session.run("events_by_day")
    session.close()
    assert set(frame["region"]) == {region}
    assert int(frame["events"].sum()) == sum(n for (_, r, _), n in counts.items() if r == region) > 0


def test_an_event_delivered_again_dedupes_against_the_rolled_up_file(tmp_path):
    source, _ = _org_source(tmp_path / "org")
    target = tmp_path / "store"
    store.ingest(source, target, progress=False)
    original = sorted(source.rglob("*.json.gz"))[7]
    copy = tmp_path / "again" / "AWSLogs" / "o-abc123" / original.relative_to(source / "AWSLogs")
    copy.parent.mkdir(parents=True)
    shutil.copyfile(original, copy)
    events_in_file = len(json.loads(gzip.decompress(original.read_bytes()))["Records"])
    report = store.ingest(tmp_path / "again", target, progress=False)
    assert report.events_loaded == 0 and report.duplicates_removed == events_in_file > 0


def test_an_accounts_day_with_few_small_partitions_keeps_its_files(tmp_path, monkeypatch):
    source, counts = _org_source(tmp_path / "org")
    regions = {key[1] for key in counts}
    monkeypatch.setattr(tuning, "ROLLUP_PARTITIONS", len(regions) + 1)
    target = tmp_path / "store"
    store.ingest(source, target, progress=False)
    con = store.connect(target, read_only=False)
    try:
        regions_on_file = {r for (r,) in con.execute("SELECT DISTINCT region FROM parts").fetchall()}
    finally:
        con.close()
    assert regions_on_file == regions  # none rolled up: each partition keeps its own files
    assert len(files_per_partition(target)) == len(counts)


def _parts(target: Path) -> list[tuple[str, str, str]]:
    con = store.connect(target, read_only=False)
    try:
        return con.execute("SELECT account, region, day FROM parts ORDER BY ALL").fetchall()
    finally:
        con.close()


def _stored_counts(target: Path) -> Counter:
    con = store.connect(target)
    try:
        return Counter({(a, r, d): n for a, r, d, n in con.execute(
            "SELECT account_partition, region_partition, date_partition, count(*) FROM cloudtrail "
            "GROUP BY ALL").fetchall()})
    finally:
        con.close()


def test_an_ingest_writes_an_accounts_day_rolled_up_without_rewriting_it(tmp_path):
    source, counts = _org_source(tmp_path / "org")
    files = len(list(source.rglob("*.json.gz")))
    target = tmp_path / "store"
    report = store.ingest(source, target, progress=False, batch_files=files + 1)
    # One batch: 2 accounts x 2 days, one file each, and nothing left for compaction to do.
    assert report.parquet_files_written == 4
    assert report.partitions_compacted == 0 and report.parquet_files_compacted == 0
    assert {(a, r) for a, r, _ in _parts(target)} == {(a, "*") for a, _, _ in counts}
    assert _stored_counts(target) == counts


def test_a_day_split_between_batches_stays_rolled_up_and_is_not_rewritten(tmp_path):
    source, counts = _org_source(tmp_path / "org")
    files = len(list(source.rglob("*.json.gz")))
    target = tmp_path / "store"
    report = store.ingest(source, target, progress=False, batch_files=files // 5)
    assert report.events_loaded == 4000 and report.partitions_compacted == 0
    # Five batches over 2 accounts x 2 days: each day's regions cut into at most five pieces, and
    # a piece after the first rolled-up one joins its partition however few regions it holds.
    parts = _parts(target)
    assert {(a, r, d) for a, r, d in parts} == {(a, "*", d) for a, _, d in counts}
    assert len(parts) > 4
    assert _stored_counts(target) == counts


def test_a_later_ingest_of_a_few_regions_joins_the_days_rolled_up_partition(tmp_path):
    source, counts = _org_source(tmp_path / "org")
    late_regions = sorted({r for _, r, _ in counts})[:3]
    late = tmp_path / "late"
    for path in sorted(source.rglob("*.json.gz")):
        if path.parts[-5] in late_regions:  # .../<region>/<yyyy>/<mm>/<dd>/<file>
            moved = late / path.relative_to(source)
            moved.parent.mkdir(parents=True, exist_ok=True)
            path.rename(moved)
    target = tmp_path / "store"
    store.ingest(source, target, progress=False)
    before = Counter(_parts(target))
    report = store.ingest(late, target, progress=False)
    # Each of the 4 days gets one more rolled-up file; nothing is rewritten.
    assert report.files_new > 0 and report.parquet_files_written == 4 and report.partitions_compacted == 0
    assert Counter(_parts(target)) - before == Counter({(a, "*", d): 1 for a, _, d in counts})
    assert set(before) == {(a, "*", d) for a, _, d in counts}
    assert _stored_counts(target) == counts


def test_compaction_folds_small_partitions_of_a_rolled_up_day_into_it(tmp_path, monkeypatch):
    """A store where a rolled-up day also has a few small region partitions (as a trailbook that
    wrote each partition apart left it): the next compaction makes the day one file."""
    from trailbook.store import write

    source, counts = _org_source(tmp_path / "org")
    late_regions = sorted({r for _, r, _ in counts})[:3]
    late = tmp_path / "late"
    for path in sorted(source.rglob("*.json.gz")):
        if path.parts[-5] in late_regions:
            moved = late / path.relative_to(source)
            moved.parent.mkdir(parents=True, exist_ok=True)
            path.rename(moved)
    target = tmp_path / "store"
    store.ingest(source, target, progress=False)
    monkeypatch.setattr(write, "layout", lambda sizes, rolled_days=(): {key: [key] for key in sorted(sizes)})
    report = store.ingest(late, target, progress=False)
    # 4 days x 3 regions written apart, then each day's 3 folded into its rolled-up file.
    assert report.parquet_files_written == 12 and report.partitions_compacted == 4
    days = sorted({(a, d) for a, _, d in counts})
    assert _parts(target) == [(a, "*", d) for a, d in days]
    assert _stored_counts(target) == counts
