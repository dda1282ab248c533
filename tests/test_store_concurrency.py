"""The store under concurrent use and hard kills: readers never wait on an ingest, one ingest at a
time (a second waits, bounded, then fails with one line), and a kill -9 at any point of an ingest
leaves a store that the next ingest completes with exactly the unique events.

The expected counts come from the fixture files, read here with gzip and json.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from trailbook import store
from trailbook.store import lock, tuning, write

FORMATS = Path(__file__).parent / "fixtures" / "formats"
LIB = Path(__file__).resolve().parents[1] / "lib"


def ingest(source, root: Path, **kwargs) -> store.IngestReport:
    return store.ingest(source, root / "store", progress=False, **kwargs)


def count(store_dir: Path) -> int:
    con = store.connect(store_dir)
    try:
        return con.execute("SELECT count(*) FROM cloudtrail").fetchone()[0]
    finally:
        con.close()


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(LIB), **extra}


def cli(*args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "trailbook.cli", *args], env=env(**extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ---------------------------------------------------------------- a corpus big enough to kill mid-way

def make_corpus(root: Path, files: int, events: int) -> Path:
    """S3-layout .json.gz files over two accounts, three days; every 10th file is delivered again
    by an organisation trail (the same events under another path: duplicates to remove)."""
    template = json.loads(gzip.decompress(next((FORMATS / "org").rglob("*.json.gz")).read_bytes()))["Records"][0]
    for n in range(files):
        account = ("111111111111", "222222222222")[n % 2]
        day = 1 + n % 3
        records = [dict(template, eventID=f"ev-{n}-{i}", recipientAccountId=account, awsRegion="us-east-1",
                        eventTime=f"2024-08-0{day}T{i % 24:02d}:{i % 60:02d}:{n % 60:02d}Z",
                        eventName=("ListUsers", "GetObject", "AssumeRole")[i % 3])
                   for i in range(events)]
        body = gzip.compress(json.dumps({"Records": records}, separators=(",", ":")).encode(), compresslevel=1)
        trails = [root / "AWSLogs" / account] + ([root / "AWSLogs" / "o-abc123" / account] if n % 10 == 0 else [])
        for trail in trails:
            folder = trail / "CloudTrail" / "us-east-1" / "2024" / "08" / f"0{day}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{account}_CloudTrail_us-east-1_{n:05d}.json.gz").write_bytes(body)
    return root


def unique_events(root: Path) -> int:
    """Distinct events by the store's documented dedupe key within a partition, counted from the files."""
    seen = set()
    for path in root.rglob("*.json.gz"):
        with gzip.open(path) as handle:
            for event in json.load(handle)["Records"]:
                seen.add((event["eventID"], event["eventTime"], event["eventName"], event["recipientAccountId"],
                          event["awsRegion"], event["eventTime"][:10]))
    return len(seen)


# ---------------------------------------------------------------- the lock

def test_a_second_ingest_with_new_files_fails_with_store_busy_after_its_wait(tmp_path, monkeypatch):
    monkeypatch.setattr(tuning, "INGEST_WAIT_S", 0.3)
    with lock.ingest_lock(tmp_path / "store", wait_s=0):
        began = time.monotonic()
        with pytest.raises(store.StoreBusy, match="another ingest into .* is running"):
            ingest(FORMATS / "org", tmp_path)
        assert time.monotonic() - began >= 0.3
    assert ingest(FORMATS / "org", tmp_path).events_loaded == 3


def test_an_ingest_waits_for_the_one_running_and_then_loads(tmp_path):
    held = threading.Event()

    def hold() -> None:
        with lock.ingest_lock(tmp_path / "store", wait_s=0):
            held.set()
            time.sleep(1.0)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    began = time.monotonic()
    report = ingest(FORMATS / "s3", tmp_path)
    waited = time.monotonic() - began
    holder.join()
    assert report.events_loaded == 46 and waited >= 0.5


def test_an_ingest_with_nothing_new_takes_no_lock(tmp_path, monkeypatch):
    ingest(FORMATS / "s3", tmp_path)
    monkeypatch.setattr(tuning, "INGEST_WAIT_S", 0.0)
    with lock.ingest_lock(tmp_path / "store", wait_s=0):  # as if another ingest were running
        again = ingest(FORMATS / "s3", tmp_path)
        assert (again.files_new, again.files_skipped_unchanged, again.events_loaded) == (0, 4, 0)
        assert count(tmp_path / "store") == 46
        with pytest.raises(store.StoreBusy):  # new files do need the lock
            ingest(FORMATS / "org", tmp_path)


def test_the_cli_reports_a_busy_store_in_one_line_with_exit_1(tmp_path):
    (tmp_path / "store").mkdir()
    with lock.ingest_lock(tmp_path / "store", wait_s=0):
        run = cli("ingest", str(FORMATS / "org"), "--store", str(tmp_path / "store"), "--quiet",
                  TRAILBOOK_INGEST_WAIT="0")
        out, err = run.communicate(timeout=120)
    assert run.returncode == 1, err
    assert err.count("\n") == 1 and "another ingest" in err and "Traceback" not in err


def test_a_reader_can_open_the_store_while_an_ingest_runs(tmp_path, monkeypatch):
    ingest(FORMATS / "org", tmp_path)
    writing, release = threading.Event(), threading.Event()
    write_parts = write.write_parts

    def slow_write(*args):
        writing.set()
        release.wait(30)
        return write_parts(*args)

    monkeypatch.setattr(write, "write_parts", slow_write)
    worker = threading.Thread(target=ingest, args=(FORMATS / "s3", tmp_path))
    worker.start()
    try:
        assert writing.wait(30)
        assert count(tmp_path / "store") == 3  # the committed snapshot, while the ingest is mid-batch
        # A reader's own source has nothing new: it opens the snapshot, never waiting on the lock.
        began = time.monotonic()
        assert ingest(FORMATS / "org", tmp_path).files_new == 0
        assert time.monotonic() - began < 10
    finally:
        release.set()
        worker.join(60)
    assert count(tmp_path / "store") == 3 + 46


def test_readers_take_a_snapshot_and_do_not_block_an_ingest(tmp_path):
    account, org = sorted((FORMATS / "overlap").rglob("*.json.gz"), key=lambda p: "o-" in str(p))
    ingest(account, tmp_path)
    reader = store.connect(tmp_path / "store")
    try:
        ingest(org, tmp_path)  # would fail on a lock if the reader held the store
        assert reader.execute("SELECT count(*) FROM cloudtrail").fetchone()[0] == 30
    finally:
        reader.close()
    assert count(tmp_path / "store") == 56


# ---------------------------------------------------------------- kill -9 and concurrent runs

# Commits after every batch, so a kill can land between any two.
INGEST_CHILD = ("import sys; from trailbook.store import ingest, tuning; tuning.COMMIT_EVERY_S = 0; "
                "ingest(sys.argv[1], sys.argv[2], progress=False, batch_files=int(sys.argv[3]))")


def _parquet_files(target: Path) -> int:
    return sum(1 for _ in (target / store.DATA_DIR).rglob("*.parquet")) if (target / store.DATA_DIR).exists() else 0


def _kill_when_written(child: subprocess.Popen, target: Path, files: int | None, extra_s: float) -> None:
    """SIGKILL the child once it has written `files` more Parquet files (None: at once), `extra_s`
    later: rounds land before the first commit, between a write and its commit, and mid-batch."""
    before = _parquet_files(target)
    deadline = time.monotonic() + 120
    while files is not None and child.poll() is None and time.monotonic() < deadline \
            and _parquet_files(target) < before + files:
        time.sleep(0.005)
    time.sleep(extra_s)
    child.send_signal(signal.SIGKILL)
    child.wait(60)


@pytest.mark.slow
def test_kill_9_at_any_point_of_an_ingest_then_ingest_again_holds_exactly_the_unique_events(tmp_path):
    source = make_corpus(tmp_path / "src", files=240, events=150)
    expected = unique_events(source)
    assert expected == 240 * 150  # the 24 organisation-trail copies add nothing
    target = tmp_path / "store"
    seen = []
    for files, extra_s in ((None, 1.5), (1, 0.0), (2, 0.05), (3, 0.15), (1, 0.3), (4, 0.0)):
        child = subprocess.Popen([sys.executable, "-c", INGEST_CHILD, str(source), str(target), "12"], env=env())
        _kill_when_written(child, target, files, extra_s)
        if store.db_path(target).exists():
            con = store.connect(target)
            total, distinct = con.execute("SELECT count(*), count(DISTINCT (eventid, eventtime, eventname, "
                                          "account_partition)) FROM cloudtrail").fetchone()
            con.close()
            assert total == distinct <= expected  # a killed ingest never leaves a duplicate
            seen.append(total)
    assert sum(0 < n < expected for n in seen) >= 3, f"too few kills landed mid-ingest: {seen} of {expected}"
    report = ingest(source, tmp_path)
    assert report.bad_files == [] and report.bad_records == 0
    con = store.connect(target)
    try:
        total, distinct = con.execute("SELECT count(*), count(DISTINCT (eventid, eventtime, eventname, "
                                      "account_partition)) FROM cloudtrail").fetchone()
        statuses = con.execute("SELECT status, count(*) FROM ingested_files GROUP BY ALL").fetchall()
    finally:
        con.close()
    assert total == distinct == expected
    assert statuses == [("loaded", 240 + 24)]
    committed = {p.resolve() for p in store.data_files(target)}
    on_disk = {p.resolve() for p in (target / store.DATA_DIR).rglob("*.parquet")}
    assert on_disk == committed and not (target / store.WORK_DIR).exists()  # no leftovers


@pytest.mark.slow
def test_three_readers_and_an_ingest_on_one_store_at_once(tmp_path):
    read_source = FORMATS / "s3"
    ingest(read_source, tmp_path)
    target = str(tmp_path / "store")
    big = make_corpus(tmp_path / "big", files=160, events=150)
    writer = cli("ingest", str(big), "--store", target, "--quiet")
    time.sleep(0.5)  # the ingest has the lock and is loading
    # Pure readers (nothing new in their source) with no wait allowed: any lock would fail them.
    readers = [cli("findings", "--source", str(read_source), "--store", target, "--quiet",
                   "--out", str(tmp_path / f"findings-{n}.jsonl"), TRAILBOOK_INGEST_WAIT="0") for n in range(2)]
    # The third reader names the source being ingested: it waits for that ingest, then reads.
    readers.append(cli("findings", "--source", str(big), "--store", target, "--quiet",
                       "--out", str(tmp_path / "findings-2.jsonl")))
    assert writer.poll() is None, "the ingest ended before the readers started: make the corpus bigger"
    results = [(run.communicate(timeout=600)[1], run) for run in [*readers, writer]]
    for err, run in results:
        assert run.returncode in (0, 3, 4), err
        assert "Traceback" not in err and "another ingest" not in err and "locked" not in err
    assert count(tmp_path / "store") == 46 + unique_events(big)
