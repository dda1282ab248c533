"""The bookkeeping database: which source files were seen and which Parquet files are committed.

Table ``ingested_files`` records every source file seen (by size and mtime, so an unchanged file
is never read twice, and a bad one stays on record); table ``parts`` lists the committed Parquet
files, the only ones readers see. A compaction replaces parts and moves the files it replaced to
table ``retired`` under a new ``generation`` (table ``store_meta``); they are deleted once no
reader's snapshot is older than that generation (``lease``). An ingest opens the database only to read its state and to
commit (milliseconds), so readers can open it while an ingest runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from . import tuning
from .lock import StoreBusy

DB_NAME = "trailbook.duckdb"
DATA_DIR = "cloudtrail"
FILES_TABLE = "ingested_files"
PARTS_TABLE = "parts"
RETIRED_TABLE = "retired"
META_TABLE = "store_meta"

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
  account VARCHAR, region VARCHAR, day VARCHAR,   -- the partition ('' when unknown; region '*': rolled up)
  rows BIGINT,
  min_eventtime VARCHAR, max_eventtime VARCHAR,
  written_at TIMESTAMPTZ
)"""

_RETIRED_DDL = f"""CREATE TABLE IF NOT EXISTS {RETIRED_TABLE} (
  path VARCHAR PRIMARY KEY,   -- relative to the store folder; no longer in parts, maybe still read
  generation BIGINT,          -- readers whose snapshot is older may still read it
  retired_at TIMESTAMPTZ
)"""

_META_DDL = f"CREATE TABLE IF NOT EXISTS {META_TABLE} (name VARCHAR PRIMARY KEY, value BIGINT)"

# The region of a rolled-up file: the small partitions of one account's day, in one file
# (`compaction`). Its rows keep their own region_partition; only the file is shared.
ROLLED_UP = "*"
ROLLED_UP_FOLDER = "_regions"

# What the store knows of one source file: size, mtime_ns, status, reason.
Known = dict[str, tuple[int, int, str, str | None]]


def db_path(store_dir: str | Path) -> Path:
    return Path(store_dir) / DB_NAME


def open_book(store_dir: str | Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the bookkeeping database. An ingest holds it only while it reads its state and while
    it commits a batch (milliseconds), so a lock conflict is retried for tuning.BOOK_WAIT_S."""
    path = db_path(store_dir)
    if read_only and not path.exists():
        raise FileNotFoundError(f"no trailbook store at {path}; run `trailbook ingest` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + tuning.BOOK_WAIT_S
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            # Another process's lock, or (same process) a connection opened the other way.
            if "lock" not in str(exc).lower() and "different configuration" not in str(exc).lower():
                raise
            if time.monotonic() > deadline:
                raise StoreBusy(f"store {path} stayed locked by another process for "
                                f"{tuning.BOOK_WAIT_S:.0f} s") from exc
            time.sleep(0.05)
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        con.execute(_FILES_DDL)
        con.execute(_PARTS_DDL)
        con.execute(_RETIRED_DDL)
        con.execute(_META_DDL)
    return con


@contextmanager
def book(store_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The bookkeeping database opened for writing, closed on exit."""
    con = open_book(store_dir, read_only=False)
    try:
        yield con
    finally:
        con.close()


def known_files(con: duckdb.DuckDBPyConnection, paths: list[str] | None = None) -> Known:
    """What the store knows of ``paths`` (of every file when None). Asking for the files found
    keeps a daily ingest's cost flat: the book grows with the history, the day's files do not."""
    if paths is None:
        rows = con.execute(f"SELECT path, size, mtime_ns, status, reason FROM {FILES_TABLE}").fetchall()
    else:
        con.register("_found", pa.table({"path": pa.array(paths, pa.string())}))
        try:
            rows = con.execute(f"SELECT f.path, f.size, f.mtime_ns, f.status, f.reason FROM {FILES_TABLE} f "
                               "SEMI JOIN _found USING (path)").fetchall()
        finally:
            con.unregister("_found")
    return {row[0]: row[1:] for row in rows}


def committed_state(store_dir: Path, paths: list[str] | None = None) -> Known | None:
    """What the store knows of ``paths`` (every file when None), read without any lock; None when
    there is no store yet."""
    if not db_path(store_dir).exists():
        return None
    con = open_book(store_dir, read_only=True)
    try:
        return known_files(con, paths)
    except duckdb.CatalogException:  # a store whose first ingest has not committed its tables
        return None
    finally:
        con.close()


def empty_tables() -> tuple[pa.Table, pa.Table]:
    """Tables ``parts`` and ``ingested_files`` with nothing in them: the state of a store whose first
    ingest was stopped before it created its tables."""
    con = duckdb.connect()
    try:
        con.execute(_PARTS_DDL)
        con.execute(_FILES_DDL)
        return (con.sql(f"SELECT * FROM {PARTS_TABLE}").to_arrow_table(),
                con.sql(f"SELECT * FROM {FILES_TABLE}").to_arrow_table())
    finally:
        con.close()


def record(con: duckdb.DuckDBPyConnection, written: list[dict], files: dict[str, list]) -> None:
    """Commit Parquet files (``written``) and source files (columns of ``ingested_files`` but
    ``ingested_at``) in one transaction: readers see both or neither."""
    con.execute("BEGIN TRANSACTION")
    try:
        if written:
            _insert_parts(con, written)
        # One statement for every file (executemany runs one statement per row).
        con.execute(
            f"INSERT OR REPLACE INTO {FILES_TABLE} SELECT unnest($path), unnest($size), "
            "unnest($mtime_ns), unnest($events), unnest($status), unnest($reason), now()", files)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def generation(con: duckdb.DuckDBPyConnection) -> int:
    """How many compactions the store has committed (0 for a store older than compaction)."""
    try:
        row = con.execute(f"SELECT value FROM {META_TABLE} WHERE name = 'generation'").fetchone()
    except duckdb.CatalogException:
        return 0
    return int(row[0]) if row else 0


def replace(con: duckdb.DuckDBPyConnection, written: list[dict], replaced: list[str]) -> int:
    """Commit compacted Parquet files (``written``) in place of the ``replaced`` ones in one
    transaction, moving those to ``retired`` under a new generation, which this returns."""
    con.execute("BEGIN TRANSACTION")
    try:
        new = generation(con) + 1
        con.execute(f"INSERT OR REPLACE INTO {META_TABLE} VALUES ('generation', $g)", {"g": new})
        # IN (SELECT unnest(..)) is a hash join; list_contains would scan the list for every row.
        con.execute(f"DELETE FROM {PARTS_TABLE} WHERE path IN (SELECT unnest($old))", {"old": replaced})
        con.execute(f"INSERT OR REPLACE INTO {RETIRED_TABLE} SELECT unnest($old), $g, now()",
                    {"old": replaced, "g": new})
        if written:
            _insert_parts(con, written)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return new


def retired(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Retired files still on record: (path relative to the store, generation)."""
    return con.execute(f"SELECT path, generation FROM {RETIRED_TABLE} ORDER BY path").fetchall()


def forget_retired(con: duckdb.DuckDBPyConnection, paths: list[str]) -> None:
    con.execute(f"DELETE FROM {RETIRED_TABLE} WHERE path IN (SELECT unnest($paths))", {"paths": paths})


def _insert_parts(con: duckdb.DuckDBPyConnection, written: list[dict]) -> None:
    con.execute(
        f"INSERT INTO {PARTS_TABLE} SELECT unnest($path), unnest($account), unnest($region), "
        "unnest($day), unnest($rows), unnest($lo), unnest($hi), now()",
        {name: [part[name] for part in written] for name in ("path", "account", "region", "day", "rows", "lo", "hi")})


def data_files(store_dir: str | Path) -> list[Path]:
    """The Parquet files of the store that readers see (committed parts)."""
    con = open_book(store_dir, read_only=True)
    try:
        return [Path(store_dir) / row[0] for row in
                con.execute(f"SELECT path FROM {PARTS_TABLE} ORDER BY path").fetchall()]
    finally:
        con.close()


def store_bytes(store_dir: str | Path) -> int:
    """Bytes on disk: the committed Parquet files plus the bookkeeping database."""
    return db_path(store_dir).stat().st_size + sum(p.stat().st_size for p in data_files(store_dir))
