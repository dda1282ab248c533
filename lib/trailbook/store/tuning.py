"""The store's sizes, limits and Parquet options in one table (measured in benchmarks/).

Modules read these as ``tuning.NAME`` at call time, so a test can change one in one place.
"""

from __future__ import annotations

import os

# read_json buffers one line (one whole CloudTrail file) per thread; a batch with a bigger line
# raises the limit for that batch. A document beyond MAX_BIG_OBJECT_SIZE goes to the Python reader,
# which cuts it into TEMP_LINE_BYTES lines.
MAX_OBJECT_SIZE = 32 << 20
MAX_BIG_OBJECT_SIZE = 1 << 30
RAW_MAX_OBJECT_SIZE = 256 << 20  # raw_view_sql: ad-hoc queries over any file
TEMP_LINE_BYTES = 1 << 20  # about the size of a real CloudTrail file: DuckDB types it cheaply
INGEST_MEMORY_LIMIT = 512 << 20  # DuckDB's cap while ingesting
# DuckDB's cap for a reader (queries, detections), which spills past it. Without one DuckDB takes
# up to 80% of the machine: every detection over a day of a 10M-event store with 9 days of
# baseline peaked at 3.3 GB, and 1.2 GB with this limit for 10% more CPU (benchmarks/README.md).
QUERY_MEMORY_LIMIT = 1 << 30
# One DuckDB scan reads at most this many bytes of line files: its memory grows with the bytes it
# is given, so a big file read by the Python reader is typed in several scans.
SCAN_BYTES = 48 << 20
# An ingest plans and loads its files this many at a time (each planned file is a Python object).
PLAN_FILES = 100_000
COMMIT_EVERY_S = 2.0  # batches finished within this time share one commit
READ_THREADS = max(1, min(4, os.cpu_count() or 1))  # gunzip threads (zlib releases the GIL)
ARROW_BATCH_ROWS = 64 * 1024

# How long the bookkeeping database may stay locked by another process's commit (milliseconds
# each) before a reader or an ingest gives up.
BOOK_WAIT_S = 30.0
# How long an ingest with new files waits for another ingest of the same store to end.
# TRAILBOOK_INGEST_WAIT (seconds, 0 = do not wait) overrides it.
INGEST_WAIT_S = 900.0

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

# An ingest that loaded new files compacts every partition holding more than this many Parquet
# files into one (each batch of an ingest adds a file per partition it touches). `trailbook
# compact` compacts every partition with more than one.
AUTO_COMPACT_FILES = 8
# An organization trail fills a partition per account, region and day, most of them with a few
# events, and reading a Parquet file costs milliseconds whatever it holds (benchmarks/README.md).
# So an account's day with at least ROLLUP_PARTITIONS partitions of fewer than ROLLUP_ROWS events
# each is rolled up: those partitions' files become one file, in region order (`compaction`).
ROLLUP_PARTITIONS = 8
ROLLUP_ROWS = 100_000
# A compaction commits its rewritten partitions together once this many rows are rewritten.
COMPACT_COMMIT_ROWS = 2_000_000
