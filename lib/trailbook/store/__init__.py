"""The incremental local store: Parquet files partitioned like CloudTrail's S3 layout.

    <store>/cloudtrail/<account>/<region>/<yyyy>/<mm>/<dd>/<batch>-<n>.parquet   the events
    <store>/trailbook.duckdb                                                      the bookkeeping

Every Parquet file has the Athena CloudTrail columns and types (``schema.store_table_ddl()``):
``eventtime`` is CloudTrail's ISO string, the blobs are JSON text, ``useridentity``/``resources``
are STRUCT/LIST, plus ``account_partition``, ``region_partition`` and ``date_partition``
('yyyy/MM/dd'), which are also the folders. Readers see view ``cloudtrail`` over exactly the
files listed in table ``parts``, so a file written by an ingest that did not commit is never read.

Modules, in the order an ingest uses them:

- ``discover``: the source's files, which are new or changed, and what is skipped unopened
- ``lock``: one ingest per store; readers never take it
- ``lines``: files gunzipped and tagged into newline-delimited lines
- ``sql``: the read_json scan and the projection onto the store's columns
- ``scan``: DuckDB types a batch; bad files are bisected out
- ``dedupe``: repeated events dropped, first copy kept
- ``write``: one Parquet file per partition
- ``book``: the bookkeeping database, and the commit
- ``pipeline``: the ingest: the steps above as a pipeline
- ``report``: what an ingest did
- ``compaction``: a partition's files rewritten into one (``trailbook compact``, and after an ingest)
- ``reader``: the snapshot readers query
- ``lease``: which old files a reader's snapshot may still read
- ``tuning``: sizes, limits and Parquet options
"""

from __future__ import annotations

from .. import schema
from .book import DATA_DIR, DB_NAME, FILES_TABLE, PARTS_TABLE, data_files, db_path, store_bytes
from .compaction import CompactReport, compact
from .lock import LOCK_NAME, StoreBusy
from .pipeline import WORK_DIR, ingest
from .reader import TABLE, connect, files_for, view_sql
from .report import IngestReport
from .sql import raw_view_sql

__all__ = ["DATA_DIR", "DB_NAME", "FILES_TABLE", "LOCK_NAME", "PARTS_TABLE", "TABLE", "WORK_DIR",
           "CompactReport", "IngestReport", "StoreBusy", "compact", "connect", "data_files", "db_path",
           "files_for", "ingest", "raw_view_sql", "schema", "store_bytes", "view_sql"]
