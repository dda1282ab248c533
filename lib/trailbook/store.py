"""The incremental local store: one DuckDB file, ``<store>/trailbook.duckdb``.

Table ``cloudtrail`` has the Athena CloudTrail columns and types (``schema.store_table_ddl()``):
``eventtime`` is CloudTrail's ISO string, the blobs are JSON text, ``useridentity``/``resources``
are STRUCT/LIST, plus ``account_partition``, ``region_partition`` and ``date_partition``
('yyyy/MM/dd'). Table ``ingested_files`` records every file seen, so a second ingest reads only
new or changed files (by size and mtime), and bad files stay on record.

Reading: S3 ``{"Records": [...]}`` files go straight through DuckDB's ``read_json`` (newline-
delimited, explicit schema, case-insensitive keys) in batches of files. A batch that fails is
bisected down to the failing files; those, and every other shape, are read by
``loader.read_file`` and written as temporary compact Records files that go through the same
DuckDB path, so one code path types every row.

Dedupe: overlapping trails deliver the same event twice. Rows are deduplicated on
``(eventid, eventtime, eventname)`` (NULL-safe), within a batch and against what is stored.
CloudTrail's eventID is unique on its own, but some public test data reuses eventID "1" for
different events; adding time and name keeps those apart while real duplicates still collapse.

Each batch is inserted sorted by eventtime, in one transaction with its ``ingested_files`` rows,
so DuckDB's zone maps can skip row groups outside a time window and a crash loses no bookkeeping.
Memory is bounded by the batch size and DuckDB's memory limit, never by the size of the source.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import orjson
from tqdm import tqdm

from trailbook import loader, schema

DB_NAME = "trailbook.duckdb"
TABLE = "cloudtrail"
FILES_TABLE = "ingested_files"
# One CloudTrail file is one JSON value, and DuckDB buffers whole values: batches use 32 MB
# (DuckDB's default is 16 MB); a bigger file is staged alone with a limit that fits it.
MAX_OBJECT_SIZE = 32 << 20
MAX_BIG_OBJECT_SIZE = 1 << 30  # beyond this a file goes to the Python reader
RAW_MAX_OBJECT_SIZE = 256 << 20  # raw_view_sql: ad-hoc queries over any file
TEMP_FILE_BYTES = 16 << 20  # Python-path records per temporary Records file
# DuckDB's cap while ingesting (sorts and temp tables spill to <store>/trailbook.duckdb.tmp);
# peak RSS stays near 0.6 GB at 1M events. A big file raises it for its own read.
INGEST_MEMORY_LIMIT = 512 << 20

_FILES_DDL = f"""CREATE TABLE IF NOT EXISTS {FILES_TABLE} (
  path VARCHAR PRIMARY KEY,
  size BIGINT,
  mtime_ns BIGINT,
  events BIGINT,
  status VARCHAR,      -- loaded | bad | digest
  reason VARCHAR,      -- why bad, or the bad records of a loaded file
  ingested_at TIMESTAMPTZ
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
    seconds: float = 0.0

    def summary(self) -> list[str]:
        """Human-readable lines for the CLI and notebooks."""
        lines = [
            f"store: {self.store}",
            f"files: {self.files_seen} seen, {self.files_new} new or changed, "
            f"{self.files_skipped_unchanged} unchanged (skipped), {self.digest_files} digest (skipped)",
            f"events: {self.events_read} read, {self.events_loaded} loaded, "
            f"{self.duplicates_removed} duplicates removed, {self.bad_records} bad records",
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


def connect(store_dir: str | Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the store (UTC session). Many read-only processes may hold it at once."""
    path = db_path(store_dir)
    if read_only and not path.exists():
        raise FileNotFoundError(f"no trailbook store at {path}; run `trailbook ingest` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise RuntimeError(
                f"store {path} is in use by another process (an ingest locks it; "
                f"read-only readers block an ingest): {exc}") from exc
        raise
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        con.execute(schema.store_table_ddl(TABLE))
        con.execute(_FILES_DDL)
    return con


# ---------------------------------------------------------------- SQL pieces

def _read_json_sql(files_sql: str, max_object_size: int = MAX_OBJECT_SIZE) -> str:
    """read_json over Records files: the fast, robust form (perf.md §0 and §5)."""
    return (
        f"read_json({files_sql}, format = 'newline_delimited', records = true, "
        f"case_insensitive_keys = true, maximum_object_size = {max_object_size}, filename = true, "
        f"columns = {{'Records': '{schema.records_struct()}'}})"
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


def _staged_ddl() -> str:
    cols = ['"_src" VARCHAR', '"_n" BIGINT']
    cols += [f'"{name}" {schema.duckdb_type(typ)}' for name, typ in schema.COLUMNS]
    return "CREATE OR REPLACE TEMP TABLE staged (" + ", ".join(cols) + ")"


def _stage_sql(source: str, max_object_size: int = MAX_OBJECT_SIZE) -> str:
    """One row per record.

    A file whose Records is [] gives one placeholder row (_n = 0) and a file without Records
    (another shape) rows with _n NULL, so no file vanishes unseen. `source` names the source
    file: `filename` for direct reads, a parameter for temporary files.
    """
    return (
        f"INSERT INTO staged SELECT {source}, len(Records), "
        "unnest(CASE WHEN len(Records) > 0 THEN Records ELSE [NULL] END, max_depth := 2) "
        f"FROM {_read_json_sql('$files', max_object_size)}"
    )


_FILE_STATS_SQL = f"""
SELECT _src,
       count(*) FILTER (WHERE _n IS NULL) AS not_records,
       count(*) FILTER (WHERE _n > 0) AS records,
       count(*) FILTER (WHERE _n > 0 AND (eventname IS NULL OR eventname = '' OR eventtime IS NULL))
         AS bad,
       count(*) FILTER (WHERE _n > 0 AND eventtime IS NOT NULL
                        AND NOT regexp_full_match(eventtime, '{loader.CANONICAL_TIME_RE}')) AS odd_time
FROM staged GROUP BY _src
"""

def _valid(alias: str = "") -> str:
    """A staged row that is an event: not a placeholder, with eventName and eventTime."""
    return (f"{alias}_n > 0 AND {alias}eventname IS NOT NULL AND {alias}eventname <> '' "
            f"AND {alias}eventtime IS NOT NULL")


# Rows to drop before the insert: invalid ones, repeats within the batch (the first staged copy
# stays) and events already stored (only rows in the batch's time range are compared).
_DROP_SQL = f"""
DELETE FROM staged WHERE rowid IN (
  SELECT rowid FROM staged WHERE NOT ({_valid()})
  UNION ALL
  SELECT rowid FROM staged WHERE {_valid()}
  QUALIFY row_number() OVER (PARTITION BY eventid, eventtime, eventname ORDER BY rowid) > 1
  UNION ALL
  SELECT s.rowid FROM staged s
  WHERE {_valid("s.")} AND EXISTS (
    SELECT 1 FROM {TABLE} c
    WHERE c.eventtime BETWEEN $lo AND $hi
      AND c.eventid IS NOT DISTINCT FROM s.eventid
      AND c.eventtime = s.eventtime AND c.eventname = s.eventname))
"""


_INSERT_SQL = f"""
INSERT INTO {TABLE} SELECT
  {_projection(_path_part(loader.PATH_ACCOUNT_RE, "_src"), _path_part(loader.PATH_REGION_RE, "_src"))}
FROM staged
ORDER BY eventtime
"""


# ---------------------------------------------------------------- ingest

@dataclass
class _Pending:
    """One source file in the current batch and what is known about it so far."""

    path: str
    size: int
    mtime_ns: int
    json_size: int = 0  # uncompressed bytes, which is what DuckDB holds in memory
    status: str = "loaded"
    reason: str | None = None
    events: int = 0
    bad_records: int = 0


def ingest(source: loader.Source, store_dir: str | Path, *, progress: bool = True,
           batch_files: int = 1024, batch_bytes: int = 256 << 20) -> IngestReport:
    """Load new or changed CloudTrail files from source into the store at store_dir.

    A batch holds at most ``batch_files`` files and ``batch_bytes`` of uncompressed JSON (about
    160k events); DuckDB is capped at INGEST_MEMORY_LIMIT, so peak RSS stays near 0.65 GB.
    Bad files and records are reported, never raised; a missing source raises.
    """
    started = time.perf_counter()
    found = loader.discover(source)
    report = IngestReport(store=str(db_path(store_dir)), files_seen=len(found.files),
                          files_ignored=len(found.ignored))
    con = connect(store_dir, read_only=False)
    try:
        con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}B'")
        known = {row[0]: row[1:] for row in con.execute(
            f"SELECT path, size, mtime_ns, status, reason FROM {FILES_TABLE}").fetchall()}
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

        with tempfile.TemporaryDirectory(prefix="trailbook-ingest-") as temp_dir, \
                tqdm(total=len(todo), unit="file", desc="ingest", file=sys.stderr,
                     disable=not progress) as bar:
            for batch in _batches(todo, batch_files, batch_bytes):
                _ingest_batch(con, batch, Path(temp_dir), report)
                bar.update(len(batch))
        con.execute("DROP TABLE IF EXISTS staged")
    finally:
        con.close()
    report.seconds = time.perf_counter() - started
    return report


def _batches(todo: list[_Pending], max_files: int, max_bytes: int):
    """Consecutive batches of even size under both limits (DuckDB writes small appends less
    efficiently, so a tiny last batch is avoided)."""
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


def _ingest_batch(con: duckdb.DuckDBPyConnection, batch: list[_Pending], temp_dir: Path,
                  report: IngestReport) -> None:
    con.execute(_staged_ddl())  # a fresh table: DELETE would keep the old rows' memory
    fast: list[_Pending] = []
    slow: list[_Pending] = []
    for item in batch:
        if loader.is_digest_path(item.path):
            item.status, item.reason = "digest", "CloudTrail-Digest file"
        elif item.size and _starts_like_records(item.path):
            fast.append(item)
        else:
            slow.append(item)

    # Fast path: straight from the files; anything DuckDB cannot take cleanly goes slow.
    sizes = {item.path: item.json_size for item in fast}
    failed = _stage(con, [item.path for item in fast if sizes[item.path] < MAX_OBJECT_SIZE], None)
    for item in fast:
        if sizes[item.path] >= MAX_OBJECT_SIZE:  # a big file: alone, with room for it
            room = min(sizes[item.path] + (1 << 20), MAX_BIG_OBJECT_SIZE)
            # DuckDB buffers the whole value per reading thread: give it room, then take it back.
            con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT + 6 * room}B'")
            try:
                failed |= _stage(con, [item.path], None, room)
            finally:
                con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}B'")
    stats = _file_stats(con) if fast else {}
    for item in fast:
        row = stats.get(item.path)
        if item.path in failed or row is None or row["not_records"] or row["bad"] or row["odd_time"]:
            slow.append(item)
        else:
            item.events = row["records"]
    dropped = [item.path for item in slow if item.path in stats]
    if dropped:
        con.execute("DELETE FROM staged WHERE _src IN (SELECT unnest(?))", [dropped])

    # Slow path: Python reads the shape; its canonical records take the same DuckDB path.
    for item in slow:
        _read_slow(con, item, temp_dir, duckdb_error=failed.get(item.path))

    valid, lo, hi = con.execute(
        f"SELECT count(*), min(eventtime), max(eventtime) FROM staged WHERE {_valid()}").fetchone()
    if valid:
        con.execute(_DROP_SQL, {"lo": lo, "hi": hi})
    con.execute("BEGIN TRANSACTION")
    try:
        loaded = con.execute(_INSERT_SQL).fetchone()[0] if valid else 0
        # One statement for the whole batch (executemany runs one statement per row).
        con.execute(
            f"INSERT OR REPLACE INTO {FILES_TABLE} SELECT unnest($path), unnest($size), "
            "unnest($mtime_ns), unnest($events), unnest($status), unnest($reason), now()",
            {"path": [i.path for i in batch], "size": [i.size for i in batch],
             "mtime_ns": [i.mtime_ns for i in batch], "events": [i.events for i in batch],
             "status": [i.status for i in batch], "reason": [i.reason for i in batch]})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    # Checkpoint per batch: one checkpoint at the end would rewrite every batch's partial
    # row groups at once and hold them all in memory.
    con.execute("CHECKPOINT")

    report.events_read += valid
    report.events_loaded += loaded
    report.duplicates_removed += valid - loaded
    for item in batch:
        report.bad_records += item.bad_records
        if item.bad_records and item.status != "bad":
            report.files_with_bad_records.append((item.path, item.reason or f"{item.bad_records} bad records"))
        if item.status == "bad":
            report.bad_files.append((item.path, item.reason or ""))
        elif item.status == "digest":
            report.digest_files += 1


def _starts_like_records(path: str) -> bool:
    """Whether the file opens with a compact ``{"Records"`` (pretty or other shapes go slow)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
        if head[:2] == b"\x1f\x8b":
            head = zlib.decompressobj(wbits=31).decompress(head, 64)
    except (OSError, zlib.error):
        return False  # the slow path names the problem
    return head.lstrip(b"\xef\xbb\xbf").startswith(b'{"Records":')


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
        return 0  # unreadable: the slow path reports it
    if stored > size * 1032 or size >= (1 << 32):
        # Deflate cannot expand more than 1032:1, so a cut file's trailer is garbage; a guess
        # below the batch limit lets DuckDB fail on it and the slow path name the problem.
        return min(size * 10, MAX_OBJECT_SIZE - 1)
    return stored


_NOT_ABOUT_THE_FILE = (duckdb.InterruptException, duckdb.FatalException)  # never a file's fault


def _stage(con: duckdb.DuckDBPyConnection, paths: list[str], source: str | None,
           max_object_size: int = MAX_OBJECT_SIZE) -> dict[str, str]:
    """Stage paths; bisect a failing set down to its failing files ({path: DuckDB's reason}).

    `source` is the source file for temporary files (None: each path is its own source).
    """
    if not paths:
        return {}
    try:
        if source is None:
            con.execute(_stage_sql("filename", max_object_size), {"files": paths})
        else:
            con.execute(_stage_sql("$src", max_object_size), {"files": paths, "src": source})
        return {}
    except duckdb.OutOfMemoryException:
        if len(paths) == 1:
            raise  # not the file's fault: reporting it as bad would be wrong
    except _NOT_ABOUT_THE_FILE:
        raise
    except duckdb.Error as exc:
        if len(paths) == 1:
            return {paths[0]: _first_line(str(exc))}
    middle = len(paths) // 2
    return (_stage(con, paths[:middle], source, max_object_size)
            | _stage(con, paths[middle:], source, max_object_size))


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message


def _file_stats(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    cursor = con.execute(_FILE_STATS_SQL)
    names = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}


def _write_records_files(events: list[dict], temp_dir: Path) -> list[str]:
    """Compact ``{"Records": [...]}`` files of at most about TEMP_FILE_BYTES each."""
    paths: list[str] = []
    chunk: list[bytes] = []
    size = 0

    def flush() -> None:
        handle, path = tempfile.mkstemp(suffix=".json", dir=temp_dir)
        with os.fdopen(handle, "wb") as out:
            out.write(b'{"Records":[' + b",".join(chunk) + b"]}")
        paths.append(path)

    for event in events:
        text = orjson.dumps(event)
        if chunk and size + len(text) > TEMP_FILE_BYTES:
            flush()
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
    if chunk:
        flush()
    return paths


def _read_slow(con: duckdb.DuckDBPyConnection, item: _Pending, temp_dir: Path,
               duckdb_error: str | None) -> None:
    """Read one file with the Python loader and stage its records via temporary Records files."""
    result = loader.read_file(item.path)
    if result.is_digest:
        item.status, item.reason = "digest", "CloudTrail digest (digestStartTime)"
        return
    if result.is_bad:
        item.status, item.reason = "bad", result.error
        return
    temps = _write_records_files(result.events, temp_dir)
    try:
        failed = _stage(con, temps, source=item.path)
    finally:
        for temp in temps:
            os.unlink(temp)
    if failed:
        # The loader accepted records DuckDB could not type: report the file, load none of it.
        con.execute("DELETE FROM staged WHERE _src = ?", [item.path])
        item.status = "bad"
        item.reason = f"DuckDB could not read its records: {next(iter(failed.values()))}"
        if duckdb_error:
            item.reason += f" (first read: {duckdb_error})"
        return
    item.events = len(result.events)
    item.bad_records = result.bad_records
    if result.bad_records:
        item.reason = (f"{result.bad_records} bad records: "
                       + "; ".join(result.bad_record_reasons))
