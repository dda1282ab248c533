"""The incremental local store: Parquet files partitioned like CloudTrail's S3 layout.

    <store>/cloudtrail/<account>/<region>/<yyyy>/<mm>/<dd>/<batch>-<n>.parquet   the events
    <store>/trailbook.duckdb                                                      the bookkeeping

Every Parquet file has the Athena CloudTrail columns and types (``schema.store_table_ddl()``):
``eventtime`` is CloudTrail's ISO string, the blobs are JSON text, ``useridentity``/``resources``
are STRUCT/LIST, plus ``account_partition``, ``region_partition`` and ``date_partition``
('yyyy/MM/dd'), which are also the folders. Readers see view ``cloudtrail`` over exactly the
files listed in table ``parts``, so a file written by an ingest that did not commit is never
read (the next ingest deletes it). Table ``ingested_files`` records every file seen, so a second
ingest reads only new or changed files (by size and mtime), and bad files stay on record.

Reading, measured in benchmarks/ (DuckDB's per-file overhead on small .json.gz files cost more
than the parse itself): Python threads gunzip a batch of files and append each compact
``{"Records": [...]}`` document as one line, tagged with its place in the batch, to temporary
newline-delimited files; DuckDB's ``read_json`` types the batch in one scan (explicit schema,
case-insensitive keys) on a private in-memory connection; pyarrow writes one Parquet file per
partition. Files of any other shape are read by ``loader.read_file`` and their canonical records
join the same temporary files (in lines of about one real CloudTrail file), so one code path types
every row. A scan DuckDB cannot finish (bad values, or out of memory) is bisected down to the files
at fault, which are retried through the Python reader and, failing that, reported as bad.

Dedupe: overlapping trails deliver the same event twice. Rows are deduplicated on
``(eventid, eventtime, eventname)`` (NULL-safe) within a partition (a repeated event has the same
account, region and day), inside a batch and against the stored files; the first copy in source
order stays. CloudTrail's eventID is unique on its own, but some public test data reuses eventID
"1" for different events; adding time and name keeps those apart while real duplicates collapse.

Concurrency: one ingest per store (a lock file); the bookkeeping database is opened only to read
the state and to commit, so readers can open the store while an ingest runs.

Memory is bounded by the batch size and DuckDB's memory limit, never by the size of the source
(a file the Python reader must read whole is the exception: it is held in memory once).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sys
import time
import uuid
import zlib
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import orjson

try:  # ISA-L inflates about twice as fast as zlib (benchmarks/README.md); zlib is the fallback
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - isal is a declared dependency
    _inflate = zlib
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from trailbook import loader, schema

DB_NAME = "trailbook.duckdb"
DATA_DIR = "cloudtrail"
WORK_DIR = ".ingest-work"  # temporary batch files, removed after every ingest
TABLE = "cloudtrail"
FILES_TABLE = "ingested_files"
PARTS_TABLE = "parts"
# read_json buffers one line (one whole CloudTrail file) per thread; a batch with a bigger line
# raises the limit for that batch. A document beyond MAX_BIG_OBJECT_SIZE goes to the Python reader,
# which cuts it into TEMP_LINE_BYTES lines.
MAX_OBJECT_SIZE = 32 << 20
MAX_BIG_OBJECT_SIZE = 1 << 30
RAW_MAX_OBJECT_SIZE = 256 << 20  # raw_view_sql: ad-hoc queries over any file
TEMP_LINE_BYTES = 1 << 20  # about the size of a real CloudTrail file: DuckDB types it cheaply
INGEST_MEMORY_LIMIT = 512 << 20  # DuckDB's cap while ingesting
# One DuckDB scan reads at most this many bytes of line files: its memory grows with the bytes it
# is given, so a big file read by the Python reader is typed in several scans.
SCAN_BYTES = 48 << 20
LOCK_NAME = ".ingest.lock"
BOOK_WAIT_S = 30.0
COMMIT_EVERY_S = 2.0  # batches finished within this time share one commit
READ_THREADS = max(1, min(4, os.cpu_count() or 1))  # gunzip threads (zlib releases the GIL)
PARQUET_COMPRESSION = "snappy"  # zstd: 40% smaller files, ~5% slower ingest (benchmarks/README.md)
ROW_GROUP_ROWS = 128 * 1024
# Dictionary pages and min/max statistics only where they pay: columns with few distinct values
# and the columns queries filter on. Unique ids and blobs skip both (about 20% of write time).
DICTIONARY_COLUMNS = ["eventversion", "eventsource", "eventname", "awsregion", "sourceipaddress",
                      "useragent", "errorcode", "errormessage", "readonly", "eventtype", "apiversion",
                      "recipientaccountid", "vpcendpointid", "vpcendpointaccountid", "eventcategory",
                      "sessioncredentialfromconsole", "account_partition", "region_partition",
                      "date_partition"]
STATISTICS_COLUMNS = ["eventtime", "eventsource", "eventname", "awsregion", "sourceipaddress",
                      "errorcode", "recipientaccountid", "account_partition", "region_partition",
                      "date_partition"]
ARROW_BATCH_ROWS = 64 * 1024
_BOM = b"\xef\xbb\xbf"

_FILES_DDL = f"""CREATE TABLE IF NOT EXISTS {FILES_TABLE} (
  path VARCHAR PRIMARY KEY,
  size BIGINT,
  mtime_ns BIGINT,
  events BIGINT,
  status VARCHAR,      -- loaded | bad | digest
  reason VARCHAR,      -- why bad, or the bad records of a loaded file
  ingested_at TIMESTAMPTZ
)"""

_PARTS_DDL = f"""CREATE TABLE IF NOT EXISTS {PARTS_TABLE} (
  path VARCHAR PRIMARY KEY,   -- relative to the store folder
  account VARCHAR, region VARCHAR, day VARCHAR,   -- the partition ('' when unknown)
  rows BIGINT,
  min_eventtime VARCHAR, max_eventtime VARCHAR,
  written_at TIMESTAMPTZ
)"""


@dataclass
class IngestReport:
    store: str = ""
    files_seen: int = 0
    files_new: int = 0  # new or changed files read in this run
    files_skipped_unchanged: int = 0
    files_ignored: int = 0  # non-JSON files met while walking folders (README, LICENSE, ...)
    digest_files: int = 0
    events_read: int = 0  # usable events in the files read
    events_loaded: int = 0
    duplicates_removed: int = 0
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    previously_bad_files: list[tuple[str, str]] = field(default_factory=list)  # unchanged, not re-read
    bad_records: int = 0
    files_with_bad_records: list[tuple[str, str]] = field(default_factory=list)  # (path, what was wrong)
    parquet_files_written: int = 0
    seconds: float = 0.0

    def summary(self) -> list[str]:
        """Human-readable lines for the CLI and notebooks."""
        lines = [
            f"store: {self.store}",
            f"files: {self.files_seen} seen, {self.files_new} new or changed, "
            f"{self.files_skipped_unchanged} unchanged (skipped), {self.digest_files} digest (skipped)",
            f"events: {self.events_read} read, {self.events_loaded} loaded, "
            f"{self.duplicates_removed} duplicates removed, {self.bad_records} bad records",
            f"parquet files written: {self.parquet_files_written}",
            f"time: {self.seconds:.1f} s",
        ]
        if self.files_ignored:
            lines.append(f"ignored {self.files_ignored} non-JSON files found in folders")
        if self.bad_files:
            lines.append(f"bad files ({len(self.bad_files)}):")
            lines += [f"  {path}: {reason}" for path, reason in self.bad_files]
        if self.files_with_bad_records:
            lines.append(f"files with bad records, the rest of each loaded ({len(self.files_with_bad_records)}):")
            lines += [f"  {path}: {reason}" for path, reason in self.files_with_bad_records]
        if self.previously_bad_files:
            lines.append(f"previously bad files, unchanged ({len(self.previously_bad_files)}):")
            lines += [f"  {path}: {reason}" for path, reason in self.previously_bad_files]
        return lines

    def to_dict(self) -> dict:
        data = asdict(self)
        data["bad_files"] = [list(item) for item in self.bad_files]
        data["previously_bad_files"] = [list(item) for item in self.previously_bad_files]
        data["files_with_bad_records"] = [list(item) for item in self.files_with_bad_records]
        return data


def db_path(store_dir: str | Path) -> Path:
    return Path(store_dir) / DB_NAME


def data_files(store_dir: str | Path) -> list[Path]:
    """The Parquet files of the store that readers see (committed parts)."""
    con = _open_book(store_dir, read_only=True)
    try:
        return [Path(store_dir) / row[0] for row in
                con.execute(f"SELECT path FROM {PARTS_TABLE} ORDER BY path").fetchall()]
    finally:
        con.close()


def store_bytes(store_dir: str | Path) -> int:
    """Bytes on disk: the committed Parquet files plus the bookkeeping database."""
    return db_path(store_dir).stat().st_size + sum(p.stat().st_size for p in data_files(store_dir))


def _open_book(store_dir: str | Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the bookkeeping database. An ingest holds it only while it reads its state and while
    it commits a batch (milliseconds), so a lock conflict is retried for BOOK_WAIT_S."""
    path = db_path(store_dir)
    if read_only and not path.exists():
        raise FileNotFoundError(f"no trailbook store at {path}; run `trailbook ingest` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + BOOK_WAIT_S
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            # Another process's lock, or (same process) a connection opened the other way.
            if "lock" not in str(exc).lower() and "different configuration" not in str(exc).lower():
                raise
            if time.monotonic() > deadline:
                raise RuntimeError(f"store {path} stayed locked by another process for "
                                   f"{BOOK_WAIT_S:.0f} s: {exc}") from exc
            time.sleep(0.05)
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        con.execute(_FILES_DDL)
        con.execute(_PARTS_DDL)
    return con


@contextmanager
def _book(store_dir: Path):
    con = _open_book(store_dir, read_only=False)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def _ingest_lock(store_dir: Path):
    """One ingest per store at a time (two would delete each other's uncommitted files)."""
    store_dir.mkdir(parents=True, exist_ok=True)
    handle = open(store_dir / LOCK_NAME, "a+")  # noqa: SIM115 - held for the whole ingest
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RuntimeError(f"another ingest into {store_dir} is running; try again when it ends") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def connect(store_dir: str | Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (UTC) with view ``cloudtrail`` and table ``ingested_files``.

    Read-only connections take a snapshot: the list of committed Parquet files and the file
    bookkeeping are copied, and the store is released at once, so any number of readers and one
    ingest can run side by side (an ingest locks the bookkeeping only to commit a batch).
    ``read_only=False`` opens the bookkeeping database itself.
    """
    if not read_only:
        return _open_book(store_dir, read_only=False)
    book = _open_book(store_dir, read_only=True)  # released before this returns
    root = str(Path(store_dir).resolve())
    try:
        parts = book.sql(f"SELECT {_sql_literal(root + '/')} || path AS path, account, region, day, rows, "
                         f"min_eventtime, max_eventtime FROM {PARTS_TABLE} ORDER BY path").to_arrow_table()
        files = book.sql(f"SELECT * FROM {FILES_TABLE}").to_arrow_table()
    finally:
        book.close()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET parquet_metadata_cache = true")
    for name, table in ((FILES_TABLE, files), (PARTS_TABLE, parts)):
        con.register("_snapshot", table)
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM _snapshot")
        con.unregister("_snapshot")
    con.execute(f"CREATE TEMP VIEW {TABLE} AS {view_sql(parts.column('path').to_pylist())}")
    return con


def files_for(con: duckdb.DuckDBPyConnection, start: str, end: str, accounts=(), regions=()) -> tuple[list[str], int]:
    """The committed files that can hold events in [start, end) (ISO-8601 text) for the accounts
    and regions given (all when empty), and how many files the store has.

    A read-only connection from `connect` carries the snapshot this reads."""
    where = ["max_eventtime >= $start", "min_eventtime < $end"]
    values: dict = {"start": start, "end": end}
    if accounts:
        where.append("list_contains($accounts, account)")
        values["accounts"] = list(accounts)
    if regions:
        where.append("list_contains($regions, region)")
        values["regions"] = list(regions)
    chosen = [row[0] for row in con.execute(
        f"SELECT path FROM {PARTS_TABLE} WHERE {' AND '.join(where)} ORDER BY path", values).fetchall()]
    total = con.execute(f"SELECT count(*) FROM {PARTS_TABLE}").fetchone()[0]
    return chosen, total


def view_sql(parts: list[str]) -> str:
    """The store's columns over exactly these Parquet files (typed and empty when there are none)."""
    names = schema.COLUMN_NAMES + schema.PARTITION_NAMES
    if not parts:  # an empty store still has every column, typed
        typed = [f'CAST(NULL AS {schema.store_type(t)}) AS "{n}"' for n, t in schema.COLUMNS]
        typed += [f'CAST(NULL AS VARCHAR) AS "{n}"' for n in schema.PARTITION_NAMES]
        return "SELECT " + ", ".join(typed) + " WHERE false"
    files = "[" + ", ".join(_sql_literal(p) for p in parts) + "]"
    return "SELECT " + ", ".join(f'"{n}"' for n in names) + f" FROM read_parquet({files})"


# ---------------------------------------------------------------- SQL pieces

def _read_json_sql(files_sql: str, max_object_size: int = MAX_OBJECT_SIZE, *, filename: bool = True,
                   extra_columns: str = "") -> str:
    """read_json over Records documents: the fast, robust form (perf.md §0 and §5)."""
    return (
        f"read_json({files_sql}, format = 'newline_delimited', records = true, "
        f"case_insensitive_keys = true, maximum_object_size = {max_object_size}, "
        f"filename = {'true' if filename else 'false'}, "
        f"columns = {{{extra_columns}'Records': '{schema.records_struct()}'}})"
    )


def _projection(path_account: str, path_region: str) -> str:
    """The store's columns from unnested records: blobs as JSON text, partitions derived."""
    cols = []
    for name, typ in schema.COLUMNS:
        if typ == schema.JSON:
            cols.append(f'CAST("{name}" AS VARCHAR) AS "{name}"')
        else:
            cols.append(f'"{name}"')
    cols.append(
        "coalesce(nullif(recipientaccountid, ''), nullif(useridentity.accountid, ''), "
        f"{path_account}) AS account_partition")
    cols.append(f"coalesce(nullif(awsregion, ''), {path_region}) AS region_partition")
    cols.append("replace(substr(eventtime, 1, 10), '-', '/') AS date_partition")
    return ",\n  ".join(cols)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _path_part(pattern: str, column: str) -> str:
    return f"nullif(regexp_extract({column}, {_sql_literal(pattern)}, 1), '')"


def raw_view_sql(source_glob: str | Path | list) -> str:
    """A DuckDB SELECT giving the store's columns straight from raw Records files (json.gz).

    For comparisons with the store and ad-hoc use. It reads only ``{"Records": ...}`` files and
    does not remove duplicates; glob on ``AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz`` to leave
    digest files out. Rows without eventName or eventTime are left out, as in the store.
    """
    globs = source_glob if isinstance(source_glob, list) else [source_glob]
    files_sql = "[" + ", ".join(_sql_literal(str(g)) for g in globs) + "]"
    projection = _projection(_path_part(loader.PATH_ACCOUNT_RE, "_src"),
                             _path_part(loader.PATH_REGION_RE, "_src"))
    return (
        f"SELECT\n  {projection}\n"
        f"FROM (SELECT filename AS _src, unnest(Records, max_depth := 2)\n"
        f"      FROM {_read_json_sql(files_sql, RAW_MAX_OBJECT_SIZE)})\n"
        f"WHERE eventname IS NOT NULL AND eventname <> '' AND eventtime IS NOT NULL"
    )


# Why a row cannot be stored as it is (NULL: it can). 'time' is a non-canonical eventTime,
# which Python canonicalises (loader.normalise_event_time) or reports.
# (20 characters that parse with this format are exactly the canonical form, a real date and time.)
_PROBLEM = ("CASE WHEN eventname IS NULL OR eventname = '' THEN 'no eventName' "
            "WHEN eventtime IS NULL THEN 'no eventTime' "
            "WHEN length(eventtime) <> 20 OR try_strptime(eventtime, '%Y-%m-%dT%H:%M:%SZ') IS NULL "
            "THEN 'time' END")


def _batch_sql(work_files: list[str], max_object_size: int) -> str:
    files_sql = "[" + ", ".join(_sql_literal(p) for p in work_files) + "]"
    source = _read_json_sql(files_sql, max_object_size, filename=False,
                            extra_columns="'_file': 'INTEGER', '_base': 'BIGINT', '_acct': 'VARCHAR', "
                                          "'_region': 'VARCHAR', ")
    # _key: a hash of the dedupe key, to tell cheaply whether a batch repeats itself (a collision
    # only costs the exact check). _file: the source file's index in the batch.
    # _n: the record's place in its file (with _file, the source order that decides which copy of
    # a repeated event stays); _base counts the records of a file's earlier lines.
    return (f"SELECT _file, _n, {_projection('_acct', '_region')},\n  {_PROBLEM} AS _problem,\n"
            f"  hash(eventid, eventtime, eventname) AS _key\n"
            f"FROM (SELECT _file, _acct, _region, coalesce(_base, 0) + generate_subscripts(Records, 1) AS _n, "
            f"unnest(Records, max_depth := 2) FROM {source})")


# ---------------------------------------------------------------- ingest

@dataclass
class _Pending:
    """One source file in the current batch and what is known about it so far."""

    path: str
    size: int
    mtime_ns: int
    json_size: int = 0  # uncompressed bytes (from the gzip trailer)
    status: str = "loaded"
    reason: str | None = None
    events: int = 0
    bad_records: int = 0
    bad_reasons: list[str] = field(default_factory=list)
    order: int = 0  # place in its batch (source order)
    python_reader: bool = False  # read by loader.read_file (any shape) instead of the fast path
    duckdb_error: str | None = None

    def add_bad_record(self, reason: str) -> None:
        self.bad_records += 1
        if len(self.bad_reasons) < loader.MAX_REASONS:
            self.bad_reasons.append(reason)


def ingest(source: loader.Source, store_dir: str | Path, *, progress: bool = True,
           batch_files: int = 2048, batch_bytes: int = 32 << 20) -> IngestReport:
    """Load new or changed CloudTrail files from source into the store at store_dir.

    A batch holds at most ``batch_files`` files and ``batch_bytes`` of uncompressed JSON (about
    20k events; two batches are in memory at once). 32 MB batches ingest as fast as 96 MB ones
    and halve the peak memory (benchmarks/README.md). Bad files and records are reported, never
    raised; a missing source raises.
    """
    started = time.perf_counter()
    store_dir = Path(store_dir)
    found = loader.discover(source)
    report = IngestReport(store=str(store_dir), files_seen=len(found.files),
                          files_ignored=len(found.ignored))
    with _ingest_lock(store_dir):
        _ingest_locked(found, store_dir, report, progress, batch_files, batch_bytes)
    report.seconds = time.perf_counter() - started
    return report


def _ingest_locked(found: loader.Discovered, store_dir: Path, report: IngestReport, progress: bool,
                   batch_files: int, batch_bytes: int) -> None:
    with _book(store_dir) as book:
        stored = _Parts(book, store_dir)
        known = {row[0]: row[1:] for row in book.execute(
            f"SELECT path, size, mtime_ns, status, reason FROM {FILES_TABLE}").fetchall()}
    stored.remove_uncommitted()
    # The scans and the dedupe run on a private in-memory DuckDB: the store stays readable.
    con = duckdb.connect()
    work = store_dir / WORK_DIR
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}B'")
        con.execute("SET preserve_insertion_order = false")
        todo: list[_Pending] = []
        for path in found.files:
            stat = path.stat()
            previous = known.get(str(path))
            if previous and previous[0] == stat.st_size and previous[1] == stat.st_mtime_ns:
                report.files_skipped_unchanged += 1
                if previous[2] == "bad":
                    report.previously_bad_files.append((str(path), previous[3] or ""))
                continue
            todo.append(_Pending(str(path), stat.st_size, stat.st_mtime_ns, _json_size(path)))
        report.files_new = len(todo)

        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        run_id = uuid.uuid4().hex[:12]
        with ThreadPoolExecutor(READ_THREADS, thread_name_prefix="trailbook-read") as pool, \
                ThreadPoolExecutor(1, thread_name_prefix="trailbook-write") as writer, \
                tqdm(total=len(todo), unit="file", desc="ingest", file=sys.stderr,
                     disable=not progress) as bar:
            batches = list(_batches(todo, batch_files, batch_bytes))
            for batch in batches:
                for order, item in enumerate(batch):
                    item.order = order
            works = [_Work(work, pool, f"{run_id}-{n}") for n in range(len(batches))]
            # Pipelined: batch k+1 is gunzipped (read threads) while DuckDB types batch k, and
            # batch k's Parquet files are written (writer thread) while batch k+1 is typed.
            upcoming = _prepare(_readable(batches[0]), works[0]) if batches else None
            pending = None
            finished: list[_Finished] = []
            last_commit = time.monotonic()
            for number, batch in enumerate(batches):
                prepared = upcoming
                if number + 1 < len(batches):
                    prepared.finish()  # this batch's lines are complete before the next starts
                    upcoming = _prepare(_readable(batches[number + 1]), works[number + 1])
                output = _read_batch(con, batch, works[number], prepared)
                if pending:  # its files are written before this batch is deduplicated against them
                    finished.append(_finish(*pending, stored))
                    bar.update(len(pending[0]))
                    if time.monotonic() - last_commit >= COMMIT_EVERY_S:
                        _commit(store_dir, finished, report)
                        last_commit = time.monotonic()
                _dedupe(con, output, stored)
                pending = (batch, output, writer.submit(_write_parts, output, store_dir, works[number].batch_id))
            if pending:
                finished.append(_finish(*pending, stored))
                bar.update(len(pending[0]))
            _commit(store_dir, finished, report)
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)


def _batches(todo: list[_Pending], max_files: int, max_bytes: int):
    """Consecutive batches of even size under both limits."""
    total = sum(item.json_size for item in todo)
    count = max(-(-total // max_bytes), -(-len(todo) // max_files), 1)
    target_bytes, target_files = -(-total // count), -(-len(todo) // count)
    batch: list[_Pending] = []
    size = 0
    for item in todo:
        if batch and (len(batch) >= target_files or size + item.json_size > target_bytes):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += item.json_size
    if batch:
        yield batch


@dataclass
class _Work:
    folder: Path
    pool: ThreadPoolExecutor
    batch_id: str
    runs: int = 0

    def file_namer(self, worker: int):
        """Names for one worker's line files (a worker starts a new file every SCAN_BYTES)."""
        self.runs += 1
        prefix = f"{self.batch_id}-{self.runs}-{worker}"
        return lambda number: self.folder / f"{prefix}-{number}.ndjson"


class _Parts:
    """The committed Parquet files, by partition, for dedupe and cleanup."""

    def __init__(self, con: duckdb.DuckDBPyConnection, store_dir: Path):
        self.store_dir = store_dir
        self.by_key: dict[tuple[str, str, str], list[str]] = {}
        for path, account, region, day in con.execute(
                f"SELECT path, account, region, day FROM {PARTS_TABLE}").fetchall():
            self.by_key.setdefault((account, region, day), []).append(path)

    def remove_uncommitted(self) -> None:
        """Delete Parquet files an interrupted ingest wrote but never committed."""
        committed = {p for paths in self.by_key.values() for p in paths}
        root = self.store_dir / DATA_DIR
        if root.exists():
            for path in root.rglob("*.parquet"):
                if path.relative_to(self.store_dir).as_posix() not in committed:
                    path.unlink()

    def absolute(self, keys) -> list[str]:
        return [str(self.store_dir / p) for key in keys for p in self.by_key.get(key, [])]


@dataclass
class _Output:
    """What reading one set of files gave: Arrow slices by partition and per-file counts."""

    groups: dict[tuple[str, str, str], list[pa.RecordBatch]] = field(default_factory=dict)
    rows: Counter = field(default_factory=Counter)
    keys: list[pa.Array] = field(default_factory=list)  # hash of every row's dedupe key
    times_fixed: bool = False  # some eventTimes were rewritten after their key was hashed
    duplicates: int = 0  # rows dropped by _dedupe

    def merge(self, other: _Output) -> None:
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


class _ReadFailed(Exception):
    pass


# Never a file's fault. Running out of memory is treated as the files' (a file too big to type
# within the limit is reported bad; a batch that ran out is bisected).
_NOT_ABOUT_THE_FILES = (duckdb.InterruptException, duckdb.FatalException)


def _read_batch(con: duckdb.DuckDBPyConnection, batch: list[_Pending], work: _Work,
                prepared: _Prepared) -> _Output:
    output = _read_robustly(con, _readable(batch), work, prepared)
    by_path = {item.path: item for item in batch}
    for path, rows in output.rows.items():
        by_path[path].events += rows
    return output


@dataclass
class _Finished:
    """A batch whose Parquet files are written, waiting for its commit."""

    batch: list[_Pending]
    rows: int
    duplicates: int
    written: list[dict]


def _finish(batch: list[_Pending], output: _Output, writing: Future, stored: _Parts) -> _Finished:
    """Wait for the batch's files; later batches of this ingest dedupe against them too."""
    written = writing.result()
    output.groups.clear()
    for part in written:
        stored.by_key.setdefault((part["account"], part["region"], part["day"]), []).append(part["path"])
    return _Finished(batch, sum(output.rows.values()), output.duplicates, written)


def _commit(store_dir: Path, finished: list[_Finished], report: IngestReport) -> None:
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
    with _book(store_dir) as book:
        book.execute("BEGIN TRANSACTION")
        try:
            if written:
                book.execute(
                    f"INSERT INTO {PARTS_TABLE} SELECT unnest($path), unnest($account), unnest($region), "
                    "unnest($day), unnest($rows), unnest($lo), unnest($hi), now()",
                    {name: [part[name] for part in written]
                     for name in ("path", "account", "region", "day", "rows", "lo", "hi")})
            # One statement for every file (executemany runs one statement per row).
            book.execute(
                f"INSERT OR REPLACE INTO {FILES_TABLE} SELECT unnest($path), unnest($size), "
                "unnest($mtime_ns), unnest($events), unnest($status), unnest($reason), now()",
                {"path": [i.path for i in batch], "size": [i.size for i in batch],
                 "mtime_ns": [i.mtime_ns for i in batch], "events": [i.events for i in batch],
                 "status": [i.status for i in batch], "reason": [_file_reason(i) for i in batch]})
            book.execute("COMMIT")
        except BaseException:
            book.execute("ROLLBACK")
            raise
    for done in finished:
        report.events_read += done.rows
        report.events_loaded += done.rows - done.duplicates
        report.duplicates_removed += done.duplicates
        report.parquet_files_written += len(done.written)
    for item in batch:
        report.bad_records += item.bad_records
        if item.bad_records and item.status != "bad":
            report.files_with_bad_records.append((item.path, _file_reason(item)))
        if item.status == "bad":
            report.bad_files.append((item.path, item.reason or ""))
        elif item.status == "digest":
            report.digest_files += 1
    finished.clear()


def _readable(batch: list[_Pending]) -> list[_Pending]:
    """The batch without digest files, which are recorded and skipped."""
    items = []
    for item in batch:
        if loader.is_digest_path(item.path):
            item.status, item.reason = "digest", "CloudTrail-Digest file"
        else:
            items.append(item)
    return items


def _file_reason(item: _Pending) -> str | None:
    if item.status != "loaded" or not item.bad_records:
        return item.reason
    return f"{item.bad_records} bad records: " + "; ".join(item.bad_reasons)


def _read_robustly(con: duckdb.DuckDBPyConnection, items: list[_Pending], work: _Work,
                   prepared: _Prepared | None = None) -> _Output:
    """Read items; when DuckDB fails, bisect down to the files at fault.

    A file at fault is retried through the Python reader (which names bad records); if DuckDB
    still cannot type its records, the file is reported bad and none of it is loaded.
    """
    if not items:
        return _Output()
    try:
        return _read(con, items, work, prepared)
    except _ReadFailed as exc:
        if len(items) > 1:
            middle = len(items) // 2
            output = _read_robustly(con, items[:middle], work)
            output.merge(_read_robustly(con, items[middle:], work))
            return output
        item = items[0]
        _reset(item)
        if not item.python_reader:
            item.python_reader, item.duckdb_error = True, str(exc)
            return _read_robustly(con, items, work)
        item.status = "bad"
        item.reason = f"DuckDB could not read its records: {exc}"
        if item.duckdb_error and item.duckdb_error != str(exc):
            item.reason += f" (first read: {item.duckdb_error})"
        return _Output()


def _reset(item: _Pending) -> None:
    item.status, item.reason, item.events = "loaded", None, 0
    item.bad_records, item.bad_reasons = 0, []


@dataclass
class _Prepared:
    """Temporary line files being written for a set of items (threads of the read pool)."""

    writing: list[Future]

    def finish(self) -> list[tuple[Path, int]]:
        """Every non-empty line file with its longest line."""
        return [(path, longest) for future in self.writing for path, longest in future.result()
                if path.stat().st_size]


def _prepare(items: list[_Pending], work: _Work) -> _Prepared:
    """Start gunzipping and tagging items into temporary lines, one file per read thread."""
    chunks = [chunk for chunk in _split([(item.order, item) for item in items], READ_THREADS) if chunk]
    return _Prepared([work.pool.submit(_write_lines, chunk, work.file_namer(n))
                      for n, chunk in enumerate(chunks)])


def _scans(files: list[tuple[Path, int]]) -> list[list[tuple[Path, int]]]:
    """Consecutive groups of line files of at most SCAN_BYTES each (a bigger file goes alone)."""
    groups: list[list[tuple[Path, int]]] = []
    size = 0
    for entry in files:
        length = entry[0].stat().st_size
        if not groups or size + length > SCAN_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(entry)
        size += length
    return groups


def _read(con: duckdb.DuckDBPyConnection, items: list[_Pending], work: _Work,
          prepared: _Prepared | None = None) -> _Output:
    """Type the items' temporary lines in DuckDB scans; file the rows by partition."""
    files = (prepared or _prepare(items, work)).finish()
    output = _Output()
    by_order = {item.order: item for item in items}
    try:
        for scan in _scans(files):
            _scan(con, scan, output, by_order)
    except _ReadFailed:
        for item in items:  # their bad records will be counted again by the next read
            if not item.python_reader:
                item.bad_records, item.bad_reasons = 0, []
        raise
    finally:
        for path, _ in files:
            path.unlink(missing_ok=True)
    return output


def _scan(con: duckdb.DuckDBPyConnection, files: list[tuple[Path, int]], output: _Output,
          items: dict[int, _Pending]) -> None:
    room = max(MAX_OBJECT_SIZE, max(longest for _, longest in files) + (1 << 20))
    if room > MAX_OBJECT_SIZE:  # DuckDB buffers the whole line per reading thread
        con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT + 6 * room}B'")
    try:
        reader = con.sql(_batch_sql([str(p) for p, _ in files], room)).to_arrow_reader(ARROW_BATCH_ROWS)
        for record_batch in reader:
            _take(record_batch, output, items)
    except _NOT_ABOUT_THE_FILES:
        raise
    except (duckdb.Error, pa.ArrowException, OSError) as exc:  # DuckDB's errors reach Arrow as OSError
        raise _ReadFailed(_duckdb_reason(str(exc))) from exc
    finally:
        if room > MAX_OBJECT_SIZE:
            con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}B'")


def _duckdb_reason(message: str) -> str:
    """DuckDB's first line, without the temporary file's name and line (meaningless to users)."""
    return re.sub(r' in file "[^"]*", in line \d+', "", _first_line(message))


def _split(items: list[tuple[int, _Pending]], parts: int) -> list[list[tuple[int, _Pending]]]:
    """Contiguous runs of about equal uncompressed size (contiguous keeps partitions together)."""
    total = sum(max(item.json_size, 1) for _, item in items)
    chunks: list[list[tuple[int, _Pending]]] = [[] for _ in range(parts)]
    done = 0
    for entry in items:
        chunks[min(parts - 1, done * parts // max(total, 1))].append(entry)
        done += max(entry[1].json_size, 1)
    return chunks


def _write_lines(items: list[tuple[int, _Pending]], name) -> list[tuple[Path, int]]:
    """Write each file as tagged Records lines (thread worker): line files of about SCAN_BYTES,
    each with its longest line."""
    files: list[tuple[Path, int]] = []
    out = None
    try:
        for index, item in items:
            for line in _lines(item, index):
                length = sum(len(piece) for piece in line)
                if out is None or (out.tell() and out.tell() + length > SCAN_BYTES):
                    if out is not None:
                        out.close()
                    path = name(len(files))
                    out = open(path, "wb")  # noqa: SIM115 - closed above or below
                    files.append((path, 0))
                out.writelines(line)
                files[-1] = (files[-1][0], max(files[-1][1], length))
    finally:
        if out is not None:
            out.close()
    return files


def _lines(item: _Pending, index: int):
    """The item as lines of pieces: ``{"_file":index,"_acct":..,"_region":..,"Records":[...]}``."""
    where = loader.path_partitions(item.path)
    tag = (b'{"_file":' + str(index).encode() + b',"_acct":' + orjson.dumps(where["account"])
           + b',"_region":' + orjson.dumps(where["region"]) + b",")
    if not item.python_reader:
        document = _compact_records(item)
        if document is not None:
            yield (tag, memoryview(document)[1:], b"\n")
            return
        item.python_reader = True
    result = loader.read_file(item.path)
    if result.is_digest:
        item.status, item.reason = "digest", "CloudTrail digest (digestStartTime)"
        return
    if result.is_bad:
        item.status, item.reason = "bad", result.error
        return
    item.bad_records = result.bad_records
    item.bad_reasons = list(result.bad_record_reasons)
    chunk: list[bytes] = []
    size = done = 0
    for event in result.events:
        text = orjson.dumps(event)
        if chunk and size + len(text) > TEMP_LINE_BYTES:
            yield (tag, b'"_base":%d,"Records":[' % done, b",".join(chunk), b"]}\n")
            done += len(chunk)
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
    if chunk:
        yield (tag, b'"_base":%d,"Records":[' % done, b",".join(chunk), b"]}\n")


def _compact_records(item: _Pending) -> bytes | None:
    """The file's bytes if it is one compact ``{"Records":[...]}`` line, else None.

    None sends the file to the Python reader, which reads every other shape and names what is
    wrong with a bad file (truncated gzip, malformed JSON, ...).
    """
    if item.json_size >= MAX_BIG_OBJECT_SIZE:
        return None
    try:
        with open(item.path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if data[:2] == b"\x1f\x8b":
        inflate = _inflate.decompressobj(wbits=31)
        try:
            data = inflate.decompress(data)
        except _inflate.error:
            return None
        if not inflate.eof or inflate.unused_data:  # truncated, or several gzip members
            return None
    if not data.startswith(b'{"Records":['):
        return None
    data = data.rstrip(b" \t\r\n")
    if not data.endswith(b"}") or b"\n" in data or len(data) >= MAX_BIG_OBJECT_SIZE:
        return None
    return data


_STORED = schema.COLUMN_NAMES + schema.PARTITION_NAMES
_ORDER = ["_file", "_n"]  # source order, kept until the batch is deduplicated
_KEPT = _ORDER + _STORED


def _take(record_batch: pa.RecordBatch, output: _Output, items: dict[int, _Pending]) -> None:
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


def _file_by_partition(rows: pa.RecordBatch, groups: dict[tuple[str, str, str], list[pa.RecordBatch]]) -> None:
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
    for start, end in zip(starts, starts[1:] + [count]):
        key = tuple(column[start].as_py() or "" for column in columns)
        groups.setdefault(key, []).append(rows.slice(start, end - start))


def _take_problems(rows: pa.RecordBatch, output: _Output, items: dict[int, _Pending]) -> None:
    """Canonicalise odd eventTimes (loader.normalise_event_time); count the rest as bad records."""
    keep: list[int] = []
    times: list[str] = []
    for index, (file, problem, event_time) in enumerate(zip(
            rows.column("_file").to_pylist(), rows.column("_problem").to_pylist(),
            rows.column("eventtime").to_pylist())):
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
        _take(record_batch, output, items)


def _folder_name(value: str) -> str:
    text = "".join(c if c.isalnum() or c in "-_." else "_" for c in value)
    return text if text.strip("._") else "unknown"


def _write_parts(output: _Output, store_dir: Path, batch_id: str) -> list[dict]:
    """One Parquet file per partition; files stay invisible to readers until committed."""
    written = []
    for number, (key, slices) in enumerate(sorted(output.groups.items())):
        account, region, day = key
        table = pa.Table.from_batches(slices).select(_STORED)
        days = day.split("/") if re.fullmatch(r"\d{4}/\d{2}/\d{2}", day) else ["unknown"]
        relative = Path(DATA_DIR, _folder_name(account), _folder_name(region), *days,
                        f"{batch_id}-{number}.parquet")
        target = store_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target, compression=PARQUET_COMPRESSION, row_group_size=ROW_GROUP_ROWS,
                       use_dictionary=DICTIONARY_COLUMNS, write_statistics=STATISTICS_COLUMNS)
        bounds = pc.min_max(table.column("eventtime"))
        written.append({"path": relative.as_posix(), "account": account, "region": region, "day": day,
                        "rows": table.num_rows, "lo": bounds["min"].as_py(), "hi": bounds["max"].as_py(),
                        "file": str(target)})
    return written


def _dedupe(con: duckdb.DuckDBPyConnection, output: _Output, stored: _Parts) -> None:
    """Drop rows already stored in the same partitions, and repeats within the batch: the first
    copy in source order (file, then place in file) stays. Runs before anything is written.

    Only the keys are looked at: with no repeat inside the batch (a hash count) and no stored file
    in its partitions, nothing is read; otherwise DuckDB names the rows to drop by their place
    (_file, _n) and the batch is filtered, never sorted."""
    old = stored.absolute(output.groups)
    repeats = output.has_repeats()
    if not old and not repeats:
        return
    slices = [piece for pieces in output.groups.values() for piece in pieces]
    if not slices:
        return
    keys = pa.Table.from_batches(slices).select(["_file", "_n", "eventid", "eventtime", "eventname",
                                                 *schema.PARTITION_NAMES])
    match = ("o.eventid IS NOT DISTINCT FROM n.eventid AND o.eventtime = n.eventtime "
             "AND o.eventname = n.eventname")
    queries = []
    if old:
        queries.append(f"SELECT _file, _n FROM _batch_keys n SEMI JOIN "
                       f"(SELECT eventid, eventtime, eventname FROM read_parquet({_list_literal(old)})) o ON {match}")
    if repeats:
        # Per partition, as against the store: the outcome must not depend on batch boundaries.
        queries.append("SELECT _file, _n FROM _batch_keys QUALIFY row_number() OVER (PARTITION BY "
                       "eventid, eventtime, eventname, account_partition, region_partition, date_partition "
                       "ORDER BY _file, _n) > 1")
    con.register("_batch_keys", keys)
    try:
        drop = con.sql(" UNION ".join(queries)).to_arrow_table()
    finally:
        con.unregister("_batch_keys")
    if not drop.num_rows:
        return
    doomed = _places(drop)
    groups: dict[tuple[str, str, str], list[pa.RecordBatch]] = {}
    for key, pieces in output.groups.items():
        for piece in pieces:
            piece = piece.filter(pc.invert(pc.is_in(_places(piece), value_set=doomed)))
            if piece.num_rows:
                groups.setdefault(key, []).append(piece)
    output.groups = groups
    output.duplicates = drop.num_rows


def _places(rows) -> pa.Array:
    """One int64 per row from (_file, _n): its place in the batch."""
    files = pc.cast(rows.column("_file"), pa.int64())
    return pc.add(pc.multiply(files, 1 << 32), pc.cast(rows.column("_n"), pa.int64()))


def _list_literal(items: list[str]) -> str:
    return "[" + ", ".join(_sql_literal(i) for i in items) + "]"


def _json_size(path: str | Path) -> int:
    """Uncompressed size: gzip stores it (mod 4 GiB) in its last 4 bytes."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            if handle.read(2) != b"\x1f\x8b" or size < 18:
                return size
            handle.seek(-4, os.SEEK_END)
            stored = int.from_bytes(handle.read(4), "little")
    except OSError:
        return 0  # unreadable: the Python reader reports it
    if stored > size * 1032 or size >= (1 << 32):
        # Deflate cannot expand more than 1032:1, so a cut file's trailer is garbage.
        return min(size * 10, MAX_OBJECT_SIZE - 1)
    return stored


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message
