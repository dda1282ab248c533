"""The SQL that types CloudTrail records: read_json over Records documents, and the projection
onto the store's columns (Athena's CloudTrail columns plus the three partitions).

File names reach DuckDB as bind parameters (``$files``) where the SQL is run here; SQL text
handed to others (`raw_view_sql`) quotes through `params.sql_string`, the one escaping path.
"""

from __future__ import annotations

from pathlib import Path

from .. import loader, schema
from ..params import sql_string
from . import tuning


def read_json_sql(files_sql: str, max_object_size: int, *, filename: bool = True,
                  extra_columns: str = "") -> str:
    """read_json over Records documents: the fast, robust form (perf.md §0 and §5)."""
    return (
        f"read_json({files_sql}, format = 'newline_delimited', records = true, "
        f"case_insensitive_keys = true, maximum_object_size = {int(max_object_size)}, "
        f"filename = {'true' if filename else 'false'}, "
        f"columns = {{{extra_columns}'Records': '{schema.records_struct()}'}})"
    )


def projection(path_account: str, path_region: str) -> str:
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


def _path_part(pattern: str, column: str) -> str:
    return f"nullif(regexp_extract({column}, {sql_string(pattern, 'path pattern')}, 1), '')"


def raw_view_sql(source_glob: str | Path | list) -> str:
    """A DuckDB SELECT giving the store's columns straight from raw Records files (json.gz).

    For comparisons with the store and ad-hoc use. It reads only ``{"Records": ...}`` files and
    does not remove duplicates; glob on ``AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz`` to leave
    digest files out. Rows without eventName or eventTime are left out, as in the store.
    """
    globs = source_glob if isinstance(source_glob, list) else [source_glob]
    files_sql = "[" + ", ".join(sql_string(str(g), "source path") for g in globs) + "]"
    columns = projection(_path_part(loader.PATH_ACCOUNT_RE, "_src"),
                         _path_part(loader.PATH_REGION_RE, "_src"))
    return (
        f"SELECT\n  {columns}\n"
        f"FROM (SELECT filename AS _src, unnest(Records, max_depth := 2)\n"
        f"      FROM {read_json_sql(files_sql, tuning.RAW_MAX_OBJECT_SIZE)})\n"
        f"WHERE eventname IS NOT NULL AND eventname <> '' AND eventtime IS NOT NULL"
    )


# Why a row cannot be stored as it is (NULL: it can). 'time' is a non-canonical eventTime,
# which Python canonicalises (loader.normalise_event_time) or reports.
# (20 characters that parse with this format are exactly the canonical form, a real date and time.)
_PROBLEM = ("CASE WHEN eventname IS NULL OR eventname = '' THEN 'no eventName' "
            "WHEN eventtime IS NULL THEN 'no eventTime' "
            "WHEN eventid IS NULL OR eventid = '' THEN 'no eventID' "
            "WHEN length(eventtime) <> 20 OR try_strptime(eventtime, '%Y-%m-%dT%H:%M:%SZ') IS NULL "
            f"OR eventtime < '{loader.EARLIEST_EVENT_TIME}' "
            "OR eventtime > strftime(now() + INTERVAL 1 DAY, '%Y-%m-%dT%H:%M:%SZ') "
            "THEN 'time' END")


def batch_sql(max_object_size: int) -> str:
    """The scan of one batch's tagged line files, which are bound as ``$files``."""
    source = read_json_sql("$files", max_object_size, filename=False,
                           extra_columns="'_file': 'INTEGER', '_base': 'BIGINT', '_acct': 'VARCHAR', "
                                         "'_region': 'VARCHAR', ")
    # _key: a hash of the dedupe key, to tell cheaply whether a batch repeats itself (a collision
    # only costs the exact check). _file: the source file's index in the batch.
    # _n: the record's place in its file (with _file, the source order that decides which copy of
    # a repeated event stays); _base counts the records of a file's earlier lines.
    return (f"SELECT _file, _n, {projection('_acct', '_region')},\n  {_PROBLEM} AS _problem,\n"
            f"  hash(eventid, eventtime, eventname) AS _key\n"
            f"FROM (SELECT _file, _acct, _region, coalesce(_base, 0) + generate_subscripts(Records, 1) AS _n, "
            f"unnest(Records, max_depth := 2) FROM {source})")
