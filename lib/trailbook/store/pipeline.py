"""The ingest: new or changed source files into Parquet, committed in the bookkeeping database.

Steps: find the source's files (discover), compare them with the committed state (read without
any lock), and stop there when nothing is new: readers never wait. Otherwise take the ingest lock,
read the state again (another ingest may have loaded some files meanwhile), delete what an
interrupted ingest left uncommitted, then run the batches as a pipeline: batch k+1 is gunzipped
(lines, read threads) while DuckDB types batch k (scan), and batch k's Parquet files are written
(write, one thread) while batch k+1 is typed; dedupe runs before a batch is written, and batches
are committed together every tuning.COMMIT_EVERY_S. A kill at any point leaves only uncommitted
files, which readers never see and the next ingest deletes. Last, still under the lock, partitions
with more than tuning.AUTO_COMPACT_FILES files are compacted (``compaction``).

Memory is bounded by the batch size and DuckDB's memory limit, never by the size of the source
(a file the Python reader must read whole is the exception: it is held in memory once). Only the
list of the source's paths grows with it: the files are planned and loaded tuning.PLAN_FILES at a
time.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
from tqdm import tqdm

from .. import loader
from . import book, compaction, discover, lines, scan, tuning, write
from .dedupe import Parts, dedupe
from .discover import Pending
from .lock import ingest_lock
from .report import IngestReport

WORK_DIR = ".ingest-work"  # temporary batch files, removed after every ingest


def ingest(source: loader.Source, store_dir: str | Path, *, progress: bool = True,
           batch_files: int = 2048, batch_bytes: int = 32 << 20) -> IngestReport:
    """Load new or changed CloudTrail files from source into the store at store_dir.

    A batch holds at most ``batch_files`` files and ``batch_bytes`` of uncompressed JSON (about
    20k events; two batches are in memory at once). 32 MB batches ingest as fast as 96 MB ones
    and halve the peak memory (benchmarks/README.md). Bad files and records are reported, never
    raised; a missing source raises FileNotFoundError, a store another ingest keeps busy
    `lock.StoreBusy`.
    """
    started = time.perf_counter()
    store_dir = Path(store_dir)
    found = discover.find(source)
    report = IngestReport(store=str(store_dir), files_seen=len(found.files), files_ignored=len(found.ignored))
    look = discover.plan(found.files, book.committed_state(store_dir, found.files))
    if look.todo or not book.db_path(store_dir).exists():
        expected = len(look.todo)  # for the progress bar; the locked plan below is the one that counts
        del look
        skipped: list[tuple[str, str]] = []
        with ingest_lock(store_dir, say=progress), \
                tqdm(total=expected, unit="file", desc="ingest", file=sys.stderr, disable=not progress) as bar:
            with book.book(store_dir) as con:
                stored = Parts(con, store_dir)
            stored.remove_uncommitted()
            # The files in slices, each planned and loaded before the next: a first ingest of
            # months of an organization is millions of files, and a plan holds an object per file.
            for first in range(0, max(len(found.files), 1), tuning.PLAN_FILES):
                chunk = found.files[first:first + tuning.PLAN_FILES]
                with book.book(store_dir) as con:
                    todo = discover.plan(chunk, book.known_files(con, chunk))
                _note_plan(report, todo)
                skipped += todo.skipped
                _load(todo.todo, store_dir, stored, report, bar, batch_files, batch_bytes)
                del todo
            compaction.after_ingest(store_dir, report)  # crowded partitions, and retired files' deletion
    else:
        _note_plan(report, look)
        skipped = look.skipped
    report.skipped_files = sorted(found.skipped + skipped)
    report.seconds = time.perf_counter() - started
    return report


def _note_plan(report: IngestReport, todo: discover.Plan) -> None:
    report.files_new += len(todo.todo)
    report.files_skipped_unchanged += todo.unchanged
    report.previously_bad_files += todo.previously_bad


def _load(todo: list[Pending], store_dir: Path, stored: Parts, report: IngestReport, bar: tqdm,
          batch_files: int, batch_bytes: int) -> None:
    """Read, dedupe, write and commit the files to do (the caller holds the ingest lock)."""
    for item in todo:
        item.json_size = discover.json_size(item.path)
    # The scans and the dedupe run on a private in-memory DuckDB: the store stays readable.
    con = duckdb.connect()
    folder = store_dir / WORK_DIR
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = '{tuning.INGEST_MEMORY_LIMIT}B'")
        con.execute("SET preserve_insertion_order = false")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        batches = list(_batches(todo, batch_files, batch_bytes))
        run_id = uuid.uuid4().hex[:12]
        with ThreadPoolExecutor(tuning.READ_THREADS, thread_name_prefix="trailbook-read") as pool, \
                ThreadPoolExecutor(1, thread_name_prefix="trailbook-write") as writer:
            works = [lines.Work(folder, pool, f"{run_id}-{n}") for n in range(len(batches))]
            _Pipeline(con, store_dir, stored, report, writer, bar).run(batches, works)
    finally:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)


def _batches(todo: list[Pending], max_files: int, max_bytes: int) -> Iterator[list[Pending]]:
    """Consecutive batches of even size under both limits; each item numbered in its batch."""
    total = sum(item.json_size for item in todo)
    count = max(-(-total // max_bytes), -(-len(todo) // max_files), 1)
    target_bytes, target_files = -(-total // count), -(-len(todo) // count)
    batch: list[Pending] = []
    size = 0
    for item in todo:
        if batch and (len(batch) >= target_files or size + item.json_size > target_bytes):
            yield batch
            batch, size = [], 0
        item.order = len(batch)
        batch.append(item)
        size += item.json_size
    if batch:
        yield batch


@dataclass
class _Finished:
    """A batch whose Parquet files are written, waiting for its commit."""

    batch: list[Pending]
    rows: int
    duplicates: int
    written: list[dict]


@dataclass
class _Pipeline:
    con: duckdb.DuckDBPyConnection
    store_dir: Path
    stored: Parts
    report: IngestReport
    writer: ThreadPoolExecutor
    bar: tqdm

    def run(self, batches: list[list[Pending]], works: list[lines.Work]) -> None:
        upcoming = lines.prepare(scan.readable(batches[0]), works[0]) if batches else None
        pending: tuple[list[Pending], scan.Output, Future] | None = None
        finished: list[_Finished] = []
        last_commit = time.monotonic()
        for number, batch in enumerate(batches):
            prepared = upcoming
            assert prepared is not None
            if number + 1 < len(batches):
                prepared.finish()  # this batch's lines are complete before the next starts
                upcoming = lines.prepare(scan.readable(batches[number + 1]), works[number + 1])
            output = scan.read_batch(self.con, batch, works[number], prepared)
            if pending:  # its files are written before this batch is deduplicated against them
                finished.append(self._finish(*pending))
                if time.monotonic() - last_commit >= tuning.COMMIT_EVERY_S:
                    commit(self.store_dir, finished, self.report)
                    last_commit = time.monotonic()
            dedupe(self.con, output, self.stored)
            pending = (batch, output, self.writer.submit(write.write_parts, output, self.store_dir,
                                                         works[number].batch_id, self.stored.rolled_days()))
        if pending:
            finished.append(self._finish(*pending))
        commit(self.store_dir, finished, self.report)

    def _finish(self, batch: list[Pending], output: scan.Output, writing: Future) -> _Finished:
        """Wait for the batch's files; later batches of this ingest dedupe against them too."""
        written = writing.result()
        output.groups.clear()
        self.stored.add(written)
        self.bar.update(len(batch))
        return _Finished(batch, sum(output.rows.values()), output.duplicates, written)


def commit(store_dir: Path, finished: list[_Finished], report: IngestReport) -> None:
    """Record finished batches' Parquet files and source files in one transaction, then count
    them in the report. Commits are grouped (one per COMMIT_EVERY_S) because each opens the
    bookkeeping database, which readers share."""
    if not finished:
        return
    written = [part for done in finished for part in done.written]
    batch = [item for done in finished for item in done.batch]
    missing = [part["file"] for part in written if not os.path.exists(part["file"])]
    if missing:  # never commit a file readers cannot open
        raise RuntimeError(f"Parquet files vanished before their commit: {missing[:3]}")
    files: dict[str, list] = {"path": [i.path for i in batch], "size": [i.size for i in batch],
             "mtime_ns": [i.mtime_ns for i in batch], "events": [i.events for i in batch],
             "status": [i.status for i in batch], "reason": [_file_reason(i) for i in batch]}
    with book.book(store_dir) as con:
        book.record(con, written, files)
    for done in finished:
        report.events_read += done.rows
        report.events_loaded += done.rows - done.duplicates
        report.duplicates_removed += done.duplicates
        report.parquet_files_written += len(done.written)
    for item in batch:
        report.bad_records += item.bad_records
        if item.bad_records and item.status != "bad":
            report.files_with_bad_records.append((item.path, _file_reason(item) or ""))
        if item.notes and item.status == "loaded":
            report.repaired_files.append((item.path, "; ".join(item.notes)))
        if item.status == "bad":
            report.bad_files.append((item.path, item.reason or ""))
        elif item.status == "digest":
            report.digest_files += 1
    finished.clear()


def _file_reason(item: Pending) -> str | None:
    if item.status != "loaded" or not item.bad_records:
        return item.reason
    return f"{item.bad_records} bad records: " + "; ".join(item.bad_reasons)
