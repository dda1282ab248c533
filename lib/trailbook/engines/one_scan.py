"""One-scan mode's SQL and bookkeeping (the Athena engine's opt-in `shared_scan`), owned by no engine.

A report's detections each scan the window's raw JSON. In one-scan mode the window is read once:
one CTAS writes it, with the columns the catalog uses, as Parquet under a unique temporary table,
every query inside the window reads that table, and the table and its data are removed afterwards.

- The CTAS reads the table exactly as any query does (`sql.partition_time_filter` plus the scope), so
  the late-delivery day is in it; queries on the copy keep the exact eventtime filter and the scope.
- No `external_location`: Athena writes the table to `<result location>/tables/<query id>/`, which
  works whether or not the workgroup enforces its own location ("Athena issues an error and fails a
  query that specifies an external_location" in an enforced workgroup, Athena User Guide, CTAS
  considerations). DROP TABLE removes only the catalog entry of such an external table, so the
  objects under that prefix are deleted afterwards, and only under a prefix naming the CTAS's id.
- Names in CTAS "should not contain quotes or backticks" (same page): the database must be a plain
  lower-case name, and the temporary table is `trailbook_scan_<32 hex>`; both are written bare in the
  CTAS, and in backticks, DDL's escape, in the DROP TABLE.
- The copy is laid out so each query reads little of it (Athena User Guide, "Use partitioning and
  bucketing", "What is bucketing?", CREATE TABLE AS's `partitioned_by`/`bucketed_by`/`bucket_count`):
  partitioned by the table's own `date_partition` (listed last, as CTAS requires), so a query keeps the
  table's partition predicate (`sql.partition_time_filter`) and reads only its own days; and bucketed by
  `eventsource`, so a query whose filter names its event sources reads only their buckets. A CTAS opens
  at most 100 writers "for partitions/buckets" (HIVE_TOO_MANY_OPEN_PARTITIONS, "Using CTAS and INSERT
  INTO to work around the 100 partition limit"): days x buckets stay <= 100, and a window of more than
  100 days is not copied at all (`layout` returns None; the engine then reads the table, raw mode).
  benchmarks/cost_model.py measures what this layout saves.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence

from .. import params as P
from .. import schema

TEMP_PREFIX = "trailbook_scan_"
# The partition columns the scope filter names (`sql.scope_filter`); kept so it applies to the copy too.
SCOPE_COLUMNS = ("account_partition", "region_partition")
TABLE_COLUMNS = tuple(schema.COLUMN_NAMES)
PARTITION_COLUMN = "date_partition"  # the table's delivery day, 'yyyy/MM/dd': the copy's partitions
BUCKET_COLUMN = "eventsource"  # nearly every detection filters on its event sources
MAX_WRITERS = 100  # Athena's CTAS limit of open writers, partitions x buckets
_BARE = re.compile(r"^[a-z_][a-z0-9_]{0,254}$")
_TEMP = re.compile(rf"^{TEMP_PREFIX}[0-9a-f]{{32}}$")
_S3 = re.compile(r"^s3://([^/]+)/(.*)$")


def temp_table_name() -> str:
    return TEMP_PREFIX + uuid.uuid4().hex


def bare_identifier(value: str, what: str) -> str:
    """A database or table name one-scan writes without quotes: validated, then lower-case letters,
    digits and _ only."""
    P.identifier(value, what)
    if not _BARE.match(value):
        raise P.ParameterError(f"one-scan mode needs the {what} to be a lower-case name of letters, digits and _ "
                               f"(Athena's CTAS takes no quoted names), not {value!r}")
    return value


def columns_for(columns: Iterable[str] | None) -> list[str]:
    """The copy's columns: the given table columns (all when None), eventtime, which the copy's time
    filter reads, and the bucket column, in the table's order; then the scope's, and the partition
    column last (CTAS wants partition columns last)."""
    wanted = (set(TABLE_COLUMNS) if columns is None
              else {str(c).lower() for c in columns} | {"eventtime", BUCKET_COLUMN})
    unknown = sorted(wanted - set(TABLE_COLUMNS) - set(SCOPE_COLUMNS) - {PARTITION_COLUMN})
    if unknown:
        raise P.ParameterError(f"one-scan: {unknown} are not columns of the CloudTrail table")
    return [c for c in TABLE_COLUMNS if c in wanted] + list(SCOPE_COLUMNS) + [PARTITION_COLUMN]


def layout(days: int) -> tuple[int, int] | None:
    """(partitions, buckets per partition) of a copy spanning `days` date partitions, within Athena's
    100 writers; buckets 0 means not bucketed (fewer than 2 fit). None: more than 100 days, no copy."""
    if days > MAX_WRITERS:
        return None
    buckets = MAX_WRITERS // max(days, 1)
    return days, (buckets if buckets >= 2 else 0)


def ctas_sql(database: str, table: str, columns: Sequence[str], source: str, time_filter: str,
             buckets: int) -> str:
    """The CTAS that writes the window (`source` and `time_filter`: the table's own fragments) as Parquet,
    partitioned by day and, with `buckets` >= 2, bucketed by event source."""
    if not _TEMP.match(table):
        raise P.ParameterError(f"one-scan writes only tables named {TEMP_PREFIX}<32 hex>, not {table!r}")
    if not isinstance(buckets, int) or isinstance(buckets, bool) or not (buckets == 0 or 2 <= buckets <= MAX_WRITERS):
        raise P.ParameterError(f"one-scan: bucket_count must be 0 (none) or 2..{MAX_WRITERS}, not {buckets!r}")
    keep = {c for c in columns if c not in SCOPE_COLUMNS and c != PARTITION_COLUMN}
    listed = ", ".join(columns_for(sorted(keep)))
    properties = ["format = 'PARQUET'", "write_compression = 'SNAPPY'",
                  f"partitioned_by = ARRAY[{P.sql_string(PARTITION_COLUMN)}]"]
    if buckets:
        properties += [f"bucketed_by = ARRAY[{P.sql_string(BUCKET_COLUMN)}]", f"bucket_count = {buckets}"]
    return (f"CREATE TABLE {bare_identifier(database, 'database')}.{table}\n"
            f"WITH ({', '.join(properties)})\n"
            f"AS SELECT {listed}\nFROM {source}\nWHERE {time_filter}")


def drop_sql(database: str, table: str) -> str:
    if not _TEMP.match(table):
        raise P.ParameterError(f"one-scan drops only tables named {TEMP_PREFIX}<32 hex>, not {table!r}")
    # DROP TABLE is Hive DDL, where names are escaped with backticks ("Enclose reserved keywords in DDL
    # statements with backticks", Athena User Guide); the names are validated bare ones all the same.
    return f"DROP TABLE IF EXISTS `{bare_identifier(database, 'database')}`.`{table}`"


def split_s3(url: str) -> tuple[str, str]:
    match = _S3.match(url or "")
    if not match:
        raise ValueError(f"not an s3:// location: {url!r}")
    return match.group(1), match.group(2)


def data_prefix(output_location: str, query_id: str) -> tuple[str, str]:
    """(bucket, prefix) of a CTAS's data: `tables/<query id>/` beside the query's own output file."""
    bucket, key = split_s3(output_location)
    folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    return bucket, f"{folder}tables/{query_id}/"


def owned_prefix(location: str, query_id: str) -> tuple[str, str] | None:
    """(bucket, prefix ending in '/') of a table location, if it is the CTAS's own folder (its last
    segment is the CTAS's query id); None for anything else, which is never deleted."""
    try:
        bucket, key = split_s3(location)
    except ValueError:
        return None
    key = key.rstrip("/")
    if not query_id or key.rsplit("/", 1)[-1] != query_id:
        return None
    return bucket, key + "/"
