"""Compaction: a partition's Parquet files rewritten into one, for readers unseen until it commits.

Each batch of each ingest adds a Parquet file per partition it touches, and query time grows with
the number of files. `compact` (``trailbook compact``) rewrites every partition with more than one
file into one; an ingest that loaded new files compacts the partitions holding more than
``tuning.AUTO_COMPACT_FILES`` files (`after_ingest`). Both are writers and hold the ingest lock.

Both first roll up: an account's day with many small partitions (an organization trail's quiet
regions, ``tuning.ROLLUP_PARTITIONS``) gets their files rewritten into one file, in region order,
recorded under region ``book.ROLLED_UP``. Its rows keep their own partition values: readers and
dedupe read it with every partition of that account and day.

Steps, each safe to kill:
1. Delete what an interrupted writer left uncommitted (never a committed or retired file).
2. Stream each partition's files, in the order readers see them (by path, rows in file order),
   into one new file in the same folder (a roll-up's goes to the account's ``_regions`` folder for
   that day). Until it commits it is uncommitted: readers never see it, and step 1 of the next
   writer deletes it.
3. Commit: one bookkeeping transaction swaps the old files for the new one in ``parts`` and
   records the old ones as retired under a new generation. The rows are the same rows, so
   the dedupe guarantee (no event twice in a partition) holds unchanged.
4. `sweep`: delete the retired files that no live reader's snapshot lists (``lease``); the rest
   wait for a later writer run. A kill here leaves files the next sweep deletes.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from . import book, lease, tuning
from .dedupe import Parts
from .lock import ingest_lock
from .report import IngestReport, Named
from .write import parquet_options, partition_folder


@dataclass
class CompactReport:
    store: str = ""
    partitions_compacted: int = 0
    files_replaced: int = 0  # Parquet files rewritten into one per partition
    rows_rewritten: int = 0
    files_deleted: int = 0  # retired files deleted, of this run and earlier ones
    files_kept_for_readers: int = 0  # retired files a live reader's snapshot may still read
    failed: Named = field(default_factory=list)  # (partition, why it was left as it was)
    seconds: float = 0.0

    def summary(self) -> list[str]:
        lines = [f"store: {self.store}",
                 f"compacted: {self.partitions_compacted} partitions, {self.files_replaced} files into "
                 f"{self.partitions_compacted}, {self.rows_rewritten} events rewritten",
                 f"old files: {self.files_deleted} deleted, {self.files_kept_for_readers} kept until "
                 f"the readers that may read them end",
                 f"time: {self.seconds:.1f} s"]
        if self.failed:
            lines.append(f"partitions left as they were ({len(self.failed)}):")
            lines += [f"  {where}: {why}" for where, why in self.failed]
        return lines


def compact(store_dir: str | Path, *, wait_s: float | None = None, progress: bool = False) -> CompactReport:
    """Compact every partition of the store that has more than one Parquet file.

    Waits for a running ingest like a second ingest does (`lock.ingest_lock`). Raises
    FileNotFoundError when there is no store."""
    started = time.perf_counter()
    store_dir = Path(store_dir)
    if not book.db_path(store_dir).exists():
        raise FileNotFoundError(f"no trailbook store at {store_dir}; run `trailbook ingest` first")
    report = CompactReport(store=str(store_dir))
    with ingest_lock(store_dir, wait_s=wait_s, say=progress):
        with book.book(store_dir) as con:
            Parts(con, store_dir).remove_uncommitted()
        run(store_dir, 2, report)
    report.seconds = time.perf_counter() - started
    return report


def after_ingest(store_dir: Path, ingest: IngestReport) -> None:
    """The automatic compaction at the end of an ingest that holds the lock."""
    report = CompactReport(store=str(store_dir))
    run(store_dir, tuning.AUTO_COMPACT_FILES + 1, report)
    ingest.partitions_compacted += report.partitions_compacted
    ingest.parquet_files_compacted += report.files_replaced
    ingest.compaction_failed += report.failed


@dataclass
class _Crowded:
    """A partition to compact: its files in reader order and what the bookkeeping says of them."""

    account: str
    region: str
    day: str
    paths: list[str]
    rows: int
    lo: str | None
    hi: str | None


def run(store_dir: Path, min_files: int, report: CompactReport) -> None:
    """Roll up the accounts' days of many small partitions, then compact the partitions with at
    least ``min_files`` files, then sweep (lock held)."""
    run_id = uuid.uuid4().hex[:12]
    for step, select in (("rollup", _rollups), ("compact", _crowded)):
        with book.book(store_dir) as con:
            groups = select(con, min_files)
        done: list[tuple[dict, _Crowded]] = []
        for number, part in enumerate(groups):
            written = _rewrite(store_dir, part, f"{step}-{run_id}-{number}.parquet", report)
            if written:
                done.append((written, part))
            if sum(item[1].rows for item in done) >= tuning.COMPACT_COMMIT_ROWS:
                _commit(store_dir, done, report)
        _commit(store_dir, done, report)
    sweep(store_dir, report)


def _crowded(con: duckdb.DuckDBPyConnection, min_files: int) -> list[_Crowded]:
    rows = con.execute(
        f"SELECT account, region, day, list(path ORDER BY path), sum(rows), min(min_eventtime), "
        f"max(max_eventtime) FROM {book.PARTS_TABLE} GROUP BY account, region, day "
        f"HAVING count(*) >= $n ORDER BY account, region, day", {"n": min_files}).fetchall()
    return [_Crowded(a, r, d, list(paths), int(n or 0), lo, hi) for a, r, d, paths, n, lo, hi in rows]


def _rollups(con: duckdb.DuckDBPyConnection, _: int) -> list[_Crowded]:
    """Each account's day with at least ROLLUP_PARTITIONS small partitions, or with a rolled-up
    file and any small partition (an ingest's batch can end in the middle of a day, see
    `write.layout`): their files and the day's rolled-up file (if any), in region order, to become
    one file. Partitions of an unknown region or day stay apart."""
    rows = con.execute(
        f"""WITH small AS (
              SELECT account, region, day FROM {book.PARTS_TABLE} WHERE region <> '' AND day <> ''
              GROUP BY ALL HAVING sum(rows) < $rows OR region = $rolled_up)
            SELECT p.account, p.day, list(p.path ORDER BY p.region, p.path), sum(p.rows),
                   min(p.min_eventtime), max(p.max_eventtime)
            FROM {book.PARTS_TABLE} p SEMI JOIN small s USING (account, region, day)
            GROUP BY p.account, p.day
            HAVING count(DISTINCT p.region) FILTER (WHERE p.region <> $rolled_up) >= $n
                OR (bool_or(p.region = $rolled_up) AND bool_or(p.region <> $rolled_up))
            ORDER BY p.account, p.day""",
        {"rows": tuning.ROLLUP_ROWS, "rolled_up": book.ROLLED_UP, "n": tuning.ROLLUP_PARTITIONS}).fetchall()
    return [_Crowded(a, book.ROLLED_UP, d, list(paths), int(n or 0), lo, hi) for a, d, paths, n, lo, hi in rows]


def _rewrite(store_dir: Path, part: _Crowded, name: str, report: CompactReport) -> dict | None:
    """Stream the group's files into one new (uncommitted) file; None, with the group named in
    the report, when a file cannot be read or the rows do not add up."""
    folder = (partition_folder(part.account, book.ROLLED_UP_FOLDER, part.day) if part.region == book.ROLLED_UP
              else Path(part.paths[0]).parent)
    relative = (folder / name).as_posix()
    target = store_dir / relative
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        rows = _stream(store_dir, part.paths, target)
        if rows != part.rows:
            raise ValueError(f"read {rows} events where the bookkeeping lists {part.rows}")
    except (OSError, ValueError, pa.ArrowException) as exc:
        target.unlink(missing_ok=True)
        report.failed.append((f"{part.account}/{part.region}/{part.day}", str(exc).splitlines()[0]))
        return None
    return {"path": relative, "account": part.account, "region": part.region, "day": part.day,
            "rows": rows, "lo": part.lo, "hi": part.hi, "file": str(target)}


def _stream(store_dir: Path, paths: list[str], target: Path) -> int:
    """Copy the files' rows in order into ``target`` in full row groups; memory stays about one
    row group (tuning.ROW_GROUP_ROWS) whatever the partition's size. Returns the rows written."""
    schema = pq.read_schema(store_dir / paths[0])
    size = tuning.ROW_GROUP_ROWS
    written = 0
    buffered: list[pa.Table] = []
    held = 0
    with pq.ParquetWriter(target, schema, **parquet_options()) as writer:
        for path in paths:
            source = pq.ParquetFile(store_dir / path)
            for batch in source.iter_batches(batch_size=tuning.ARROW_BATCH_ROWS):
                table = pa.Table.from_batches([batch])
                if not table.schema.equals(schema, check_metadata=False):
                    table = table.cast(schema)  # a file from an older writer: same columns and types
                buffered.append(table)
                held += table.num_rows
                if held >= size:
                    whole = pa.concat_tables(buffered)
                    cut = held - held % size
                    writer.write_table(whole.slice(0, cut), row_group_size=size)
                    buffered, held, written = [whole.slice(cut)], held - cut, written + cut
        if held:
            writer.write_table(pa.concat_tables(buffered), row_group_size=size)
            written += held
    return written


def _commit(store_dir: Path, done: list[tuple[dict, _Crowded]], report: CompactReport) -> None:
    """Swap the rewritten partitions' files in one transaction."""
    if not done:
        return
    written = [item[0] for item in done]
    replaced = [path for _, part in done for path in part.paths]
    with book.book(store_dir) as con:
        book.replace(con, written, replaced)
    report.partitions_compacted += len(done)
    report.files_replaced += len(replaced)
    report.rows_rewritten += sum(part["rows"] for part in written)
    done.clear()


def sweep(store_dir: Path, report: CompactReport) -> None:
    """Delete the retired files no live reader can still read; the others wait for a later run.
    Leases are looked at only now, after the commit (the order `lease` relies on)."""
    with book.book(store_dir) as con:
        waiting = book.retired(con)
    if not waiting:
        return
    oldest = lease.oldest_live(store_dir)
    free = [path for path, generation in waiting
            if oldest is None or (oldest != lease.UNKNOWN and oldest >= generation)]
    for path in free:
        (store_dir / path).unlink(missing_ok=True)
    if free:
        with book.book(store_dir) as con:
            book.forget_retired(con, free)
    report.files_deleted += len(free)
    report.files_kept_for_readers += len(waiting) - len(free)
