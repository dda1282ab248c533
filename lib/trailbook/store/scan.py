"""Typing a batch: DuckDB's ``read_json`` scans the tagged line files (explicit schema,
case-insensitive keys) on a private in-memory connection, and the rows are filed by partition.

A scan DuckDB cannot finish (bad values, or out of memory) is bisected down to the files at fault,
which are retried through the Python reader and, failing that, reported as bad.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .. import loader, schema
from . import lines, sql, tuning
from .discover import Pending
from .lines import LineFile, Prepared, Work

Partition = tuple[str, str, str]  # account, region, 'yyyy/MM/dd' ('' when unknown)
STORED = schema.COLUMN_NAMES + schema.PARTITION_NAMES
_ORDER = ["_file", "_n"]  # source order, kept until the batch is deduplicated
_KEPT = _ORDER + STORED


@dataclass
class Output:
    """What reading one set of files gave: Arrow slices by partition and per-file counts."""

    groups: dict[Partition, list[pa.RecordBatch]] = field(default_factory=dict)
    rows: Counter = field(default_factory=Counter)
    keys: list[pa.Array] = field(default_factory=list)  # hash of every row's dedupe key
    times_fixed: bool = False  # some eventTimes were rewritten after their key was hashed
    duplicates: int = 0  # rows dropped by dedupe

    def merge(self, other: Output) -> None:
        for key, slices in other.groups.items():
            self.groups.setdefault(key, []).extend(slices)
        self.rows.update(other.rows)
        self.keys.extend(other.keys)
        self.times_fixed |= other.times_fixed

    def has_repeats(self) -> bool:
        """Whether the batch may repeat a dedupe key (False is certain; True needs the check)."""
        if self.times_fixed:
            return True
        if not self.keys:
            return False
        keys = pa.chunked_array(self.keys, pa.uint64())
        return pc.count_distinct(keys).as_py() < len(keys)


class ReadFailed(Exception):
    pass


# Never a file's fault. Running out of memory is treated as the files' (a file too big to type
# within the limit is reported bad; a batch that ran out is bisected).
_NOT_ABOUT_THE_FILES = (duckdb.InterruptException, duckdb.FatalException)


def readable(batch: list[Pending]) -> list[Pending]:
    """The batch without digest files, which are recorded and skipped."""
    items = []
    for item in batch:
        if loader.is_digest_path(item.path):
            item.status, item.reason = "digest", "CloudTrail-Digest file"
        else:
            items.append(item)
    return items


def read_batch(con: duckdb.DuckDBPyConnection, batch: list[Pending], work: Work, prepared: Prepared) -> Output:
    """Type a batch whose line files are being prepared; count each file's rows."""
    output = read_robustly(con, readable(batch), work, prepared)
    by_path = {item.path: item for item in batch}
    for path, rows in output.rows.items():
        by_path[path].events += rows
    return output


def read_robustly(con: duckdb.DuckDBPyConnection, items: list[Pending], work: Work,
                  prepared: Prepared | None = None) -> Output:
    """Read items; when DuckDB fails, bisect down to the files at fault.

    A file at fault is retried through the Python reader (which names bad records); if DuckDB
    still cannot type its records, the file is reported bad and none of it is loaded.
    """
    if not items:
        return Output()
    try:
        return read(con, items, work, prepared)
    except ReadFailed as exc:
        if len(items) > 1:
            middle = len(items) // 2
            output = read_robustly(con, items[:middle], work)
            output.merge(read_robustly(con, items[middle:], work))
            return output
        item = items[0]
        item.reset()
        if not item.python_reader:
            item.python_reader, item.duckdb_error = True, str(exc)
            return read_robustly(con, items, work)
        item.status = "bad"
        item.reason = f"DuckDB could not read its records: {exc}"
        if item.duckdb_error and item.duckdb_error != str(exc):
            item.reason += f" (first read: {item.duckdb_error})"
        return Output()


def read(con: duckdb.DuckDBPyConnection, items: list[Pending], work: Work,
         prepared: Prepared | None = None) -> Output:
    """Type the items' temporary lines in DuckDB scans; file the rows by partition."""
    files = (prepared or lines.prepare(items, work)).finish()
    output = Output()
    by_order = {item.order: item for item in items}
    try:
        for group in scans(files):
            scan(con, group, output, by_order)
    except ReadFailed:
        for item in items:  # their bad records will be counted again by the next read
            if not item.python_reader:
                item.bad_records, item.bad_reasons = 0, []
        raise
    finally:
        for path, _ in files:
            path.unlink(missing_ok=True)
    return output


def scans(files: list[LineFile]) -> list[list[LineFile]]:
    """Consecutive groups of line files of at most SCAN_BYTES each (a bigger file goes alone)."""
    groups: list[list[LineFile]] = []
    size = 0
    for entry in files:
        length = entry[0].stat().st_size
        if not groups or size + length > tuning.SCAN_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(entry)
        size += length
    return groups


def scan(con: duckdb.DuckDBPyConnection, files: list[LineFile], output: Output, items: dict[int, Pending]) -> None:
    """One DuckDB scan of line files, with room for their longest line."""
    room = max(tuning.MAX_OBJECT_SIZE, max(longest for _, longest in files) + (1 << 20))
    if room > tuning.MAX_OBJECT_SIZE:  # DuckDB buffers the whole line per reading thread
        con.execute(f"SET memory_limit = '{tuning.INGEST_MEMORY_LIMIT + 6 * room}B'")
    try:
        reader = con.sql(sql.batch_sql(room), params={"files": [str(p) for p, _ in files]}) \
            .to_arrow_reader(tuning.ARROW_BATCH_ROWS)
        with reader:  # closed even when take() stops early, so the connection can run the next scan
            for record_batch in reader:
                take(record_batch, output, items)
    except _NOT_ABOUT_THE_FILES:
        raise
    except (duckdb.Error, pa.ArrowException, OSError) as exc:  # DuckDB's errors reach Arrow as OSError
        raise ReadFailed(_duckdb_reason(str(exc))) from exc
    finally:
        if room > tuning.MAX_OBJECT_SIZE:
            con.execute(f"SET memory_limit = '{tuning.INGEST_MEMORY_LIMIT}B'")


def _duckdb_reason(message: str) -> str:
    """DuckDB's first line, without the temporary file's name and line (meaningless to users)."""
    first = message.strip().splitlines()[0] if message.strip() else message
    return re.sub(r' in file "[^"]*", in line \d+', "", first)


def take(record_batch: pa.RecordBatch, output: Output, items: dict[int, Pending]) -> None:
    """File the typed rows by partition; count them per file; fix or report the problem rows."""
    if not record_batch.num_rows:
        return
    problem = record_batch.column("_problem")
    if problem.null_count != len(problem):
        fine = pc.is_null(problem)
        _take_problems(record_batch.filter(pc.invert(fine)), output, items)
        record_batch = record_batch.filter(fine)
        if not record_batch.num_rows:
            return
    for entry in pc.value_counts(record_batch.column("_file")).to_pylist():
        output.rows[items[entry["values"]].path] += entry["counts"]
    output.keys.append(record_batch.column("_key"))
    _file_by_partition(record_batch.select(_KEPT), output.groups)


def _file_by_partition(rows: pa.RecordBatch, groups: dict[Partition, list[pa.RecordBatch]]) -> None:
    """Append rows to their partition's slices. Rows arrive grouped by partition (files come in
    path order), so the batch is cut where the partition changes."""
    count = rows.num_rows
    starts = [0]
    if count > 1:
        changed = None
        for name in schema.PARTITION_NAMES:
            column = rows.column(name)
            after, before = column.slice(1), column.slice(0, count - 1)
            differs = pc.or_(pc.fill_null(pc.not_equal(after, before), False),
                             pc.not_equal(pc.is_null(after), pc.is_null(before)))
            changed = differs if changed is None else pc.or_(changed, differs)
        starts += [i + 1 for i in pc.indices_nonzero(changed).to_pylist()]
    columns = [rows.column(name) for name in schema.PARTITION_NAMES]
    for start, end in zip(starts, starts[1:] + [count], strict=True):
        key = tuple(column[start].as_py() or "" for column in columns)
        groups.setdefault(key, []).append(rows.slice(start, end - start))  # type: ignore[arg-type]


def _take_problems(rows: pa.RecordBatch, output: Output, items: dict[int, Pending]) -> None:
    """Canonicalise odd eventTimes (loader.normalise_event_time); count the rest as bad records."""
    keep: list[int] = []
    times: list[str] = []
    for index, (file, problem, event_time) in enumerate(zip(
            rows.column("_file").to_pylist(), rows.column("_problem").to_pylist(),
            rows.column("eventtime").to_pylist(), strict=True)):
        if problem == "no eventID" and not items[file].python_reader:
            raise ReadFailed("records without eventID")  # the Python reader gives them content ids
        if problem == "time":
            try:
                times.append(loader.normalise_event_time(event_time))
                keep.append(index)
                continue
            except loader.BadRecord as exc:
                problem = str(exc)
        items[file].add_bad_record(problem)
    if not keep:
        return
    output.times_fixed = True
    fixed = pa.Table.from_batches([rows]).take(keep)
    fixed = fixed.set_column(fixed.schema.get_field_index("eventtime"), "eventtime", pa.array(times))
    days = pa.array([t[:10].replace("-", "/") for t in times])
    fixed = fixed.set_column(fixed.schema.get_field_index("date_partition"), "date_partition", days)
    fixed = fixed.set_column(fixed.schema.get_field_index("_problem"), "_problem",
                             pa.nulls(len(times), pa.string()))
    for record_batch in fixed.combine_chunks().to_batches():
        take(record_batch, output, items)
