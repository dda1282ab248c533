"""Dedupe: overlapping trails deliver the same event twice.

Rows are deduplicated on ``(eventid, eventtime, eventname)`` (NULL-safe) within a partition (a
repeated event has the same account, region and day), inside a batch and against the stored
files; the first copy in source order stays. CloudTrail's eventID is unique on its own, but some
public test data reuses eventID "1" for different events; adding time and name keeps those apart
while real duplicates collapse.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from . import book
from .book import DATA_DIR, PARTS_TABLE
from .scan import Output, Partition


class Parts:
    """The committed Parquet files, by partition, for dedupe and cleanup."""

    def __init__(self, con: duckdb.DuckDBPyConnection, store_dir: Path):
        self.store_dir = store_dir
        self.by_key: dict[Partition, list[str]] = {}
        # The regions in each rolled-up file this ingest wrote; a file a former ingest rolled up
        # may hold any region of its account and day.
        self.rolled_regions: dict[str, frozenset[str]] = {}
        # Replaced by a compaction, maybe still read by a reader: `compaction.sweep` deletes them.
        self.retired = {path for path, _ in book.retired(con)}
        for path, account, region, day in con.execute(
                f"SELECT path, account, region, day FROM {PARTS_TABLE}").fetchall():
            self.by_key.setdefault((account, region, day), []).append(path)

    def add(self, written: list[dict]) -> None:
        """Parquet files this ingest wrote: later batches dedupe against them too."""
        for part in written:
            self.by_key.setdefault((part["account"], part["region"], part["day"]), []).append(part["path"])
            if part["region"] == book.ROLLED_UP:
                self.rolled_regions[part["path"]] = frozenset(part["regions"])

    def rolled_days(self) -> set[tuple[str, str]]:
        """(account, day) of every day with a rolled-up file: its small partitions join it."""
        return {(account, day) for account, region, day in self.by_key if region == book.ROLLED_UP}

    def remove_uncommitted(self) -> None:
        """Delete Parquet files an interrupted ingest wrote but never committed."""
        committed = {p for paths in self.by_key.values() for p in paths} | self.retired
        # os.walk and strings: the store holds a file per partition and day, and a Path per file
        # would make every daily ingest slower as the history grows.
        top = str(self.store_dir)
        for folder, _, names in os.walk(self.store_dir / DATA_DIR):
            relative = os.path.relpath(folder, top).replace(os.sep, "/")
            for name in names:
                if name.endswith(".parquet") and f"{relative}/{name}" not in committed:
                    os.unlink(os.path.join(folder, name))

    def absolute(self, keys: Iterable[Partition]) -> list[str]:
        """The stored files that can hold rows of these partitions: their own, and the rolled-up
        files of each one's account and day, but not one this ingest wrote without that region
        (else each batch of a long ingest would read every earlier batch's file of its days)."""
        wanted: dict[str, None] = {}
        for account, region, day in keys:
            for path in self.by_key.get((account, region, day), []):
                wanted[path] = None
            for path in self.by_key.get((account, book.ROLLED_UP, day), []):
                regions = self.rolled_regions.get(path)
                if regions is None or region in regions:
                    wanted[path] = None
        return [str(self.store_dir / p) for p in wanted]


# The same key in another partition is another copy to keep (as within a batch): stored files of every
# partition the batch touches are read together, so the partition is part of the match.
_MATCH = ("o.eventid IS NOT DISTINCT FROM n.eventid AND o.eventtime = n.eventtime AND o.eventname = n.eventname AND "
          + " AND ".join(f"o.{p} IS NOT DISTINCT FROM n.{p}" for p in schema.PARTITION_NAMES))
# Per partition, as against the store: the outcome must not depend on batch boundaries.
_REPEATS = ("SELECT _file, _n FROM _batch_keys QUALIFY row_number() OVER (PARTITION BY "
            "eventid, eventtime, eventname, account_partition, region_partition, date_partition "
            "ORDER BY _file, _n) > 1")


def dedupe(con: duckdb.DuckDBPyConnection, output: Output, stored: Parts) -> None:
    """Drop rows already stored in the same partitions, and repeats within the batch: the first
    copy in source order (file, then place in file) stays. Runs before anything is written.

    Only the keys are looked at: with no repeat inside the batch (a hash count) and no stored file
    in its partitions, nothing is read; otherwise DuckDB names the rows to drop by their place
    (_file, _n) and the batch is filtered, never sorted."""
    old = stored.absolute(output.groups)
    repeats = output.has_repeats()
    slices = [piece for pieces in output.groups.values() for piece in pieces]
    if not slices or (not old and not repeats):
        return
    keys = pa.Table.from_batches(slices).select(["_file", "_n", "eventid", "eventtime", "eventname",
                                                 *schema.PARTITION_NAMES])
    queries = []
    if old:
        queries.append(f"SELECT _file, _n FROM _batch_keys n SEMI JOIN (SELECT eventid, eventtime, eventname, "
                       f"{', '.join(schema.PARTITION_NAMES)} FROM read_parquet($old)) o ON {_MATCH}")
    if repeats:
        queries.append(_REPEATS)
    con.register("_batch_keys", keys)
    try:
        drop = con.sql(" UNION ".join(queries), params={"old": old} if old else None).to_arrow_table()
    finally:
        con.unregister("_batch_keys")
    if not drop.num_rows:
        return
    doomed = _places(drop)
    groups: dict[Partition, list[pa.RecordBatch]] = {}
    for key, pieces in output.groups.items():
        for piece in pieces:
            piece = piece.filter(pc.invert(pc.is_in(_places(piece), value_set=doomed)))
            if piece.num_rows:
                groups.setdefault(key, []).append(piece)
    output.groups = groups
    output.duplicates = drop.num_rows


def _places(rows: pa.Table | pa.RecordBatch) -> pa.Array:
    """One int64 per row from (_file, _n): its place in the batch."""
    files = pc.cast(rows.column("_file"), pa.int64())
    return pc.add(pc.multiply(files, 1 << 32), pc.cast(rows.column("_n"), pa.int64()))
