"""How readers see the store: a snapshot of the committed Parquet files, with no lock held.

`connect` copies the list of committed files and the file bookkeeping into a private in-memory
DuckDB and releases the store at once, so any number of readers and one ingest run side by side.
The snapshot holds a lease (``lease``) so that a compaction keeps the files it reads on disk.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from .. import schema
from ..params import sql_string
from . import lease, tuning
from .book import FILES_TABLE, PARTS_TABLE, ROLLED_UP, db_path, empty_tables, generation, open_book

TABLE = "cloudtrail"


def connect(store_dir: str | Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (UTC) with view ``cloudtrail`` and table ``ingested_files``.

    Read-only connections take a snapshot: the list of committed Parquet files and the file
    bookkeeping are copied, and the store is released at once, so any number of readers and one
    ingest can run side by side (an ingest locks the bookkeeping only to commit a batch).
    ``read_only=False`` opens the bookkeeping database itself.
    """
    if not read_only:
        return open_book(store_dir, read_only=False)
    # The lease comes first: a compaction must see it before this snapshot is read (lease.py).
    held = lease.take(Path(store_dir)) if db_path(store_dir).exists() else None
    try:
        parts, files, seen = _snapshot(store_dir)
        if held:
            held.set_generation(seen)
        con = _open(parts, files)
    except BaseException:
        if held:
            held.release()
        raise
    if held:
        lease.bind(held, con)
    return con


def _snapshot(store_dir: str | Path) -> tuple[pa.Table, pa.Table, int]:
    """The committed parts and file bookkeeping, and the generation they belong to."""
    book = open_book(store_dir, read_only=True)  # released before this returns
    root = str(Path(store_dir).resolve()) + "/"
    try:
        try:
            parts = book.sql(f"SELECT $root || path AS path, account, region, day, rows, "
                             f"min_eventtime, max_eventtime FROM {PARTS_TABLE} ORDER BY path",
                             params={"root": root}).to_arrow_table()
            files = book.sql(f"SELECT * FROM {FILES_TABLE}").to_arrow_table()
        except duckdb.CatalogException:  # the first ingest was stopped before it made its tables
            parts, files = empty_tables()
            parts = parts.select(["path", "account", "region", "day", "rows", "min_eventtime", "max_eventtime"])
        return parts, files, generation(book)
    finally:
        book.close()


def _open(parts: pa.Table, files: pa.Table) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET parquet_metadata_cache = true")
    # Bounded memory: past the limit DuckDB spills joins, aggregates and sorts to a folder of its
    # own, made when first needed and removed with the connection (not `.tmp` in the working folder).
    con.execute(f"SET memory_limit = '{tuning.QUERY_MEMORY_LIMIT}B'")
    spill = Path(tempfile.gettempdir()) / f"trailbook-duckdb-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    con.execute(f"SET temp_directory = {sql_string(str(spill))}")
    for name, table in ((FILES_TABLE, files), (PARTS_TABLE, parts)):
        con.register("_snapshot", table)
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM _snapshot")
        con.unregister("_snapshot")
    con.execute(f"CREATE TEMP VIEW {TABLE} AS {view_sql(parts.column('path').to_pylist())}")
    return con


def files_for(con: duckdb.DuckDBPyConnection, start: str, end: str, accounts: Sequence[str] = (),
              regions: Sequence[str] = ()) -> tuple[list[str], int]:
    """The committed files that can hold events in [start, end) (ISO-8601 text) for the accounts
    and regions given (all when empty), and how many files the store has.

    A read-only connection from `connect` carries the snapshot this reads."""
    where = ["max_eventtime >= $start", "min_eventtime < $end"]
    values: dict = {"start": start, "end": end}
    if accounts:
        where.append("list_contains($accounts, account)")
        values["accounts"] = list(accounts)
    if regions:  # a rolled-up file holds several regions; the queries' own filter picks rows
        where.append("(list_contains($regions, region) OR region = $rolled_up)")
        values["regions"] = list(regions)
        values["rolled_up"] = ROLLED_UP
    chosen = [row[0] for row in con.execute(
        f"SELECT path FROM {PARTS_TABLE} WHERE {' AND '.join(where)} ORDER BY path", values).fetchall()]
    total = con.execute(f"SELECT count(*) FROM {PARTS_TABLE}").fetchall()[0][0]
    return chosen, total


def view_sql(parts: list[str]) -> str:
    """The store's columns over exactly these Parquet files (typed and empty when there are none).

    The text defines views, which DuckDB cannot bind parameters into: the paths are quoted by
    `params.sql_string`."""
    names = schema.COLUMN_NAMES + schema.PARTITION_NAMES
    if not parts:  # an empty store still has every column, typed
        typed = [f'CAST(NULL AS {schema.store_type(t)}) AS "{n}"' for n, t in schema.COLUMNS]
        typed += [f'CAST(NULL AS VARCHAR) AS "{n}"' for n in schema.PARTITION_NAMES]
        return "SELECT " + ", ".join(typed) + " WHERE false"
    files = "[" + ", ".join(sql_string(p, "store file") for p in parts) + "]"
    return "SELECT " + ", ".join(f'"{n}"' for n in names) + f" FROM read_parquet({files})"
