"""Cost model: the bytes Athena would scan for a weekly report, raw mode against one-scan mode, on the 1M demo.

    .venv/bin/python benchmarks/cost_model.py            # generates benchmarks/data/demo-1m on first use

Nothing runs on AWS; the model prices the 1M benchmark data as if it were the trail bucket.

Assumptions (also in benchmarks/README.md, "Cost model"):
- The report's queries are every detection that runs on Athena, once each, over the demo's detection
  week (10/22-10/29), with each detection's own read window: its baseline (`start - 14d`), its
  `lookback`, and the late-delivery day past the end (`engines.sql.LATE_DELIVERY_DAYS`).
- Raw mode: a query scans the gzip bytes of every object in its date partitions (JSON is not
  splittable by column, and the eventtime filter prunes no file). The partitions are
  `estimate.query_days`, the same code `trailbook athena estimate` and `report --estimate` use; the
  bytes come from the files on disk, and are checked against `estimate.list_days` over a local
  listing of the same files (an S3 listing's shape), so the estimate is checked against the model.
- One-scan mode: the CTAS scans the gzip bytes of the widest read window's partitions once (the
  union of every detection's window, the late day included; one copy for the whole report, while a
  report makes one per notebook that runs detections), then each detection scans the Parquet column
  chunks it cannot skip. The copy is written here with pyarrow (Snappy, as the CTAS asks) from the
  local store's rows of that window, with the columns the detections use (sqlglot's tokens of each
  rendered query, `engines.columns.columns_read`; a struct counts all its leaves), in four layouts
  measured in the same run:
  - old: one unpartitioned copy, every detection charged its whole columns (the design before);
  - by_day: partitioned by day only (`partitioned_by`; the local store's day is the event day,
    Athena's the delivery day: they differ by late files only);
  - by_day_bucketed: also bucketed by eventsource into `one_scan.layout(days)` buckets (4 for the
    22 days here: days x buckets <= 100 writers), what `engines.one_scan` writes;
  - by_day_bucketed_32: 32 buckets, more writers than one CTAS may open (what the limit costs).
  A file per (day, bucket), each one row group. Assumed, not documented by Athena: its CTAS writer
  closes a row group at 128 MB, the usual Parquet default (parquet-mr's `parquet.block.size`, and
  Trino's Hive writer block size), more than any file here, so statistics can only skip whole
  files. Rows go to buckets by Hive's bucketing hash (v1, the Hive connector's default for a new
  table; `hive_bucket`).
- What a detection's scan skips: files of other days (the copy's queries keep the table's
  `date_partition` predicate); with buckets, files of buckets its event sources do not hash to; and
  row groups whose min/max of eventsource/eventname hold none of its values. Only predicates that
  surely reach the scan count (`pushed_predicates`, sqlglot over the rendered SQL): top-level
  conjuncts `eventsource|eventname = 'x'` or `IN ('x', ...)` in the SELECT that reads the table,
  or in every SELECT reading a CTE that hands the column on unchanged (Trino inlines CTEs and pushes
  such conjuncts into the scan). An OR, a function, LIKE, a subquery, an outer join's outer side,
  or a CTE read once without the filter bounds nothing: that detection is charged all its columns
  of its days (conservative). A sensitivity row (by_day_bucketed_or) also credits an OR whose every
  branch bounds the column (Trino's planner derives such a column-wise union; Athena does not
  document it), reported but not the headline. Dictionary and page-index filtering and lazy column
  reads are not credited (an upper bound). Writing the copy is not a scan (S3 PUTs and minutes of
  storage are not priced).
- Athena bills at least 10 MB per query: "billed" adds that minimum; "scanned" is the bytes alone.
  The target (issue 14): one-scan scans <= 1.5x the window's compressed bytes.

Athena documentation relied on (Athena User Guide):
- CREATE TABLE AS, "CTAS table properties" (`partitioned_by`, `bucketed_by`, `bucket_count`; partition
  columns last in the SELECT): https://docs.aws.amazon.com/athena/latest/ug/create-table-as.html
- "Use partitioning and bucketing" and "What is bucketing?" (a hash puts a value's rows in one bucket
  file per partition; Athena reads only the files of the buckets a value hashes to):
  https://docs.aws.amazon.com/athena/latest/ug/ctas-partitioning-and-bucketing.html,
  https://docs.aws.amazon.com/athena/latest/ug/ctas-partitioning-and-bucketing-what-is-bucketing.html
- "Using CTAS and INSERT INTO to work around the 100 partition limit" (HIVE_TOO_MANY_OPEN_PARTITIONS:
  "Exceeded limit of 100 open writers for partitions/buckets"):
  https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html
- Columnar formats and predicate pushdown (Parquet min/max statistics let a reader skip row groups):
  the "Top 10 performance tuning tips for Amazon Athena" linked from "Use partitioning and bucketing".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "lib"))
sys.path.insert(0, str(BENCH))

import datasets  # noqa: E402
from trailbook import estimate as E  # noqa: E402
from trailbook import params as P  # noqa: E402
from trailbook import schema  # noqa: E402
from trailbook.catalog import load_catalog  # noqa: E402
from trailbook.engines import one_scan as O  # noqa: E402
from trailbook.engines.athena import AthenaEngine  # noqa: E402
from trailbook.engines.base import ATHENA_USD_PER_TB  # noqa: E402
from trailbook.engines.columns import columns_read  # noqa: E402
from trailbook.engines.one_scan import SCOPE_COLUMNS  # noqa: E402
from trailbook.engines.sql import LATE_DELIVERY_DAYS, window_days  # noqa: E402

RESULTS = BENCH / "results"
MIN_BILLED = 10 * 1024**2
_DAY = re.compile(r"/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/[^/]+$")


class LocalBucket:
    """Just enough of an S3 client for `estimate.list_days`: ListObjectsV2 pages over a local folder."""

    def __init__(self, root: Path) -> None:
        self.objects = sorted((p.relative_to(root).as_posix(), p.stat().st_size) for p in root.rglob("*")
                              if p.is_file())

    def get_paginator(self, name: str) -> LocalBucket:
        assert name == "list_objects_v2", name
        return self

    def paginate(self, Bucket: str, Prefix: str, Delimiter: str | None = None):  # noqa: N803 - boto3's names
        under = [(k, s) for k, s in self.objects if k.startswith(Prefix)]
        if Delimiter:
            folders = sorted({Prefix + k[len(Prefix):].split(Delimiter)[0] + Delimiter for k, _ in under
                              if Delimiter in k[len(Prefix):]})
            yield {"CommonPrefixes": [{"Prefix": f} for f in folders],
                   "Contents": [{"Key": k, "Size": s} for k, s in under if Delimiter not in k[len(Prefix):]]}
        else:
            yield {"Contents": [{"Key": k, "Size": s} for k, s in under]}


def file_days(data: datasets.Dataset) -> list[tuple[str, int]]:
    """('yyyy/MM/dd' folder, gzip bytes) of every Records file, from the disk."""
    out = []
    for path in data.record_files():
        match = _DAY.search(path.as_posix())
        assert match, path
        out.append(("/".join(match.group(3, 4, 5)), path.stat().st_size))
    return out


def bytes_on(files: list[tuple[str, int]], days: set[str]) -> int:
    return sum(size for day, size in files if day in days)


# --- what a pruned scan of the copy reads --------------------------------------------------------

PRUNE_COLUMNS = ("eventsource", "eventname")


def _conjuncts(node: Any) -> list[Any]:
    from sqlglot import exp

    if node is None:
        return []
    if isinstance(node, exp.Where):
        node = node.this
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _own_bounds(select: Any, alias: str, alone: bool, disjunctions: bool = False) -> dict[str, set[str]]:
    """Values of `eventsource`/`eventname` a SELECT's WHERE allows: only top-level conjuncts `col = 'x'`
    or `col IN ('x', ...)` on a column of this source (qualified by its alias, or bare when it is the
    SELECT's only source). Anything else (functions, LIKE, subqueries) bounds nothing; an OR bounds
    nothing either, unless `disjunctions`: then a column every branch bounds gets the union (the
    sensitivity run only)."""
    return _bounds(select.args.get("where"), alias, alone, disjunctions)


def _bounds(node: Any, alias: str, alone: bool, disjunctions: bool) -> dict[str, set[str]]:
    from sqlglot import exp

    bounds: dict[str, set[str]] = {}
    for term in _conjuncts(node):
        found: dict[str, set[str]] = {}
        column, values = None, None
        if isinstance(term, exp.EQ):
            sides = [term.this, term.expression]
            cols = [s for s in sides if isinstance(s, exp.Column)]
            lits = [s for s in sides if isinstance(s, exp.Literal) and s.is_string]
            if len(cols) == 1 and len(lits) == 1:
                column, values = cols[0], {lits[0].this}
        elif isinstance(term, exp.In) and isinstance(term.this, exp.Column) and not term.args.get("query"):
            items = term.expressions
            if items and all(isinstance(i, exp.Literal) and i.is_string for i in items):
                column, values = term.this, {i.this for i in items}
        elif isinstance(term, exp.Or) and disjunctions:
            branches = [_bounds(b, alias, alone, disjunctions) for b in _disjuncts(term)]
            found = {c: set().union(*[b[c] for b in branches]) for c in PRUNE_COLUMNS
                     if all(c in b for b in branches)}
        if column is not None and values is not None and column.name.lower() in PRUNE_COLUMNS and (
                (column.table and column.table.lower() == alias) or (not column.table and alone)):
            found = {column.name.lower(): values}
        for name, got in found.items():
            bounds[name] = bounds[name] & got if name in bounds else got
    return bounds


def _disjuncts(node: Any) -> list[Any]:
    from sqlglot import exp

    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Or):
        return _disjuncts(node.left) + _disjuncts(node.right)
    return [node]


def _passes(select: Any, column: str) -> bool:
    """Whether a SELECT hands `column` on unchanged (a star, or the bare column under its own name)."""
    from sqlglot import exp

    for item in select.expressions:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
            return True
        if isinstance(item, exp.Column) and item.name.lower() == column:
            return True
    return False


def _reference_bounds(tree: Any, table: Any, disjunctions: bool, depth: int = 0) -> dict[str, set[str] | None]:
    """What reaches the scan of `table` (a Table node): its SELECT's own bounds, else, when that SELECT is a
    CTE handing the column on, the union over every reference to the CTE, if each of them bounds it (Trino
    inlines a CTE into each reference and pushes conjuncts down to the scan). None: unbounded."""
    from sqlglot import exp

    out: dict[str, set[str] | None] = {c: None for c in PRUNE_COLUMNS}
    holder = table.parent
    select = holder.parent if isinstance(holder, (exp.From, exp.Join)) else None
    if not isinstance(select, exp.Select) or (isinstance(holder, exp.Join) and holder.side) or depth > 8:
        return out  # in a subquery expression, an outer join, or too deep: charged in full
    sources = len(select.args.get("joins") or []) + 1
    own = _own_bounds(select, table.alias_or_name.lower(), sources == 1, disjunctions)
    cte = select.parent if isinstance(select.parent, exp.CTE) else None
    for column in PRUNE_COLUMNS:
        if column in own:
            out[column] = own[column]
        elif cte is not None and _passes(select, column):
            name = cte.alias_or_name.lower()
            refs = [t for t in tree.find_all(exp.Table) if not t.db and t.name.lower() == name]
            found = [_reference_bounds(tree, ref, disjunctions, depth + 1)[column] for ref in refs]
            if refs and all(f is not None for f in found):
                out[column] = set().union(*[f for f in found if f is not None])
    return out


def pushed_predicates(sql: str, table: str, disjunctions: bool = False) -> dict[str, set[str] | None]:
    """Per pruning column, the values any scan of `table` in `sql` can need (None: unbounded). With
    several scans of the table, a column is bounded only if every scan bounds it."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="trino")
    scans = [t for t in tree.find_all(exp.Table) if t.name.lower() == table]
    out: dict[str, set[str] | None] = {c: (set() if scans else None) for c in PRUNE_COLUMNS}
    for scan in scans:
        found = _reference_bounds(tree, scan, disjunctions)
        for column in PRUNE_COLUMNS:
            got, have = found[column], out[column]
            out[column] = None if got is None or have is None else have | got
    return out


def hive_bucket(value: str, buckets: int) -> int:
    """Hive's bucketing v1 for one VARCHAR column (Trino's HiveBucketing): h = 31*h + signed byte over
    the UTF-8 bytes in 32-bit arithmetic, then (h & 0x7fffffff) % buckets."""
    h = 0
    for byte in value.encode("utf-8"):
        h = (31 * h + (byte - 256 if byte > 127 else byte)) & 0xFFFFFFFF
    return (h & 0x7FFFFFFF) % buckets


def window_rows(data: datasets.Dataset, store: Path, start: dt.datetime, end: dt.datetime, columns: list[str],
                log) -> Any:
    """The window's rows (these columns, and the local store's date_partition) as one Arrow table."""
    from trailbook import sources
    from trailbook.engines.local import LocalEngine

    log(f"[model] the local store {store} (ingested once, then reused) ...")
    prepared = sources.prepare(str(data.cloudtrail), str(store))
    engine = LocalEngine(store=prepared.store)
    fragments = engine.fragments(start, end)
    select = ", ".join(f'"{c}"' for c in columns)
    # In event-time order: deterministic (DuckDB's parallel scan order is not), and close to the CTAS's,
    # which reads the date partitions' files in turn.
    table = engine.con.sql(f"SELECT {select}, date_partition FROM {fragments['source']} "
                           f"WHERE {fragments['time_filter']} ORDER BY eventtime, eventid").to_arrow_table()
    engine.close()
    return table


def write_layout(table: Any, folder: Path, partitioned: bool, buckets: int) -> list[dict[str, Any]]:
    """Write the copy as the CTAS would lay it out: a file per (day, bucket), each one row group (Athena's
    Parquet writer closes a row group at 128 MB, more than any file here). Per file: its day, bucket and
    row groups (compressed bytes per top-level column, min/max of the pruning columns)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    days = table.column("date_partition").to_pylist()
    if buckets:
        of_source = {v: (hive_bucket(v, buckets) if v is not None else 0)
                     for v in set(table.column("eventsource").to_pylist())}
        bucket_ids = [of_source[v] for v in table.column("eventsource").to_pylist()]
    else:
        bucket_ids = [0] * len(days)
    keys = pa.array([f"{d if partitioned else ''}|{b}" for d, b in zip(days, bucket_ids, strict=True)])
    data = table.drop_columns(["date_partition"])
    files = []
    for key in sorted(set(keys.to_pylist())):
        part = data.filter(pc.equal(keys, key))
        day, bucket = key.split("|")
        path = folder / f"{day.replace('/', '-') or 'all'}_{bucket}.parquet"
        pq.write_table(part, path, compression="snappy", row_group_size=max(part.num_rows, 1))
        meta = pq.ParquetFile(path).metadata
        assert path.stat().st_size < 128 * 1024**2, path  # else Athena would write several row groups
        groups = []
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            sizes: dict[str, int] = {}
            stats: dict[str, tuple[str, str] | None] = {}
            for c in range(group.num_columns):
                chunk = group.column(c)
                root = chunk.path_in_schema.split(".")[0]
                sizes[root] = sizes.get(root, 0) + chunk.total_compressed_size
                if chunk.path_in_schema in PRUNE_COLUMNS:
                    s = chunk.statistics
                    stats[root] = (s.min, s.max) if s is not None and s.has_min_max else None
            groups.append({"sizes": sizes, "stats": stats})
        files.append({"day": day or None, "bucket": int(bucket), "bytes": path.stat().st_size, "groups": groups})
    return files


def charge(files: list[dict[str, Any]], columns: set[str], days: set[str] | None, buckets: int,
           bounds: dict[str, set[str] | None] | None) -> int:
    """The column chunks a query reads of a layout: files of its days (partition pruning), of its event
    sources' buckets (bucket pruning, equality/IN on eventsource), row groups whose min/max can hold one of
    its values (statistics); `bounds` None: nothing is pushed down (the old design's charge)."""
    wanted = None
    if buckets and bounds is not None and bounds["eventsource"] is not None:
        wanted = {hive_bucket(v, buckets) for v in bounds["eventsource"]}
    total = 0
    for f in files:
        if days is not None and f["day"] is not None and f["day"] not in days:
            continue
        if wanted is not None and f["bucket"] not in wanted:
            continue
        for group in f["groups"]:
            if bounds is not None and any(
                    bounds[c] is not None and group["stats"].get(c) is not None
                    and not any(group["stats"][c][0] <= v <= group["stats"][c][1] for v in bounds[c])  # type: ignore[union-attr]
                    for c in PRUNE_COLUMNS):
                continue
            total += sum(size for column, size in group["sizes"].items() if column in columns)
    return total


def model(label: str, log=print) -> dict[str, Any]:
    data = datasets.ensure(label, log=log)
    window = data.manifest()["window"]
    start = P.parse_timestamp(window["detection_start"], "start")
    end = P.parse_timestamp(window["detection_end"], "end")
    catalog = load_catalog()
    detections = [q for _, q in sorted(catalog.items()) if q.is_detection and "athena" in q.engines]
    files = file_days(data)

    # Raw mode: every detection scans every object of its partitions.
    per_query: list[dict[str, Any]] = []
    for query in detections:
        days = E.query_days(query, E.window_values(query, start, end))
        per_query.append({"query": query.name, "days": f"{days[0]}..{days[-1]}",
                          "raw_bytes": bytes_on(files, set(days))})
    # ... checked against the estimate over a listing of the same files.
    bucket = LocalBucket(data.cloudtrail)
    rows, sizes, _ = E.estimate(detections, start, end,
                                lambda wanted: E.list_days(bucket, E.Location("local", "AWSLogs/"), wanted))
    estimated = {row.query: row.bytes for row in rows}
    mismatched = [q["query"] for q in per_query if estimated[q["query"]] != q["raw_bytes"]]
    if mismatched:
        raise SystemExit(f"the estimate disagrees with the model for {mismatched}")

    # The window's own compressed bytes (the week, with its late-delivery day) and the widest read window's.
    week_days = set(E.day_range(*window_days(start, end, LATE_DELIVERY_DAYS)))
    widest = min(query.read_window(E.window_values(query, start, end))[0] for query in detections)
    widest_days = set(E.day_range(*window_days(widest, end, LATE_DELIVERY_DAYS)))
    week_bytes, widest_bytes = bytes_on(files, week_days), bytes_on(files, widest_days)

    # One-scan mode: the CTAS reads the widest window once; each detection reads its part of the copy.
    athena = AthenaEngine(connection=object())
    table_name = athena.settings["table"].lower()
    rendered = {q.name: q.render(athena, **E.window_values(q, start, end)).sql for q in detections}
    used = {name: set(columns_read(sql, schema.COLUMN_NAMES) or schema.COLUMN_NAMES)
            for name, sql in rendered.items()}  # None: it may read every column
    bounds = {name: pushed_predicates(sql, table_name) for name, sql in rendered.items()}
    with_or = {name: pushed_predicates(sql, table_name, disjunctions=True) for name, sql in rendered.items()}
    columns = [c for c in schema.COLUMN_NAMES if any(c in cols for cols in used.values())] + list(SCOPE_COLUMNS)
    shape = O.layout(len(widest_days))
    assert shape is not None, len(widest_days)
    layouts = [  # (key, what, partitioned by day, buckets, predicates pushed down)
        ("old", "old design: one unpartitioned copy, whole columns", False, 0, False),
        ("by_day", "partitioned by day", True, 0, True),
        ("by_day_bucketed", f"partitioned by day, {shape[1]} buckets by eventsource (one_scan.py)", True, shape[1],
         True),
        ("by_day_bucketed_32", "partitioned by day, 32 buckets by eventsource (over the 100 writers: not one CTAS)",
         True, 32, True),
        ("by_day_bucketed_or", "as by_day_bucketed, crediting OR branches that all bound a column (sensitivity)",
         True, shape[1], "or"),
    ]
    began = time.perf_counter()
    rows = window_rows(data, datasets.DATA_DIR / f"store-{label}-cost", widest, end, columns, log)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, what, partitioned, buckets, pushed in layouts:
            written = write_layout(rows, Path(tmp) / key, partitioned, buckets)
            parquet = 0
            for row, query in zip(per_query, detections, strict=True):
                days = set(E.query_days(query, E.window_values(query, start, end))) if partitioned else None
                pushdown = (with_or if pushed == "or" else bounds)[row["query"]] if pushed else None
                cost = charge(written, used[row["query"]], days, buckets, pushdown)
                row[f"{key}_bytes"] = cost
                parquet += cost
            total = widest_bytes + parquet
            results[key] = {"layout": what, "files": len(written), "copy_bytes": sum(f["bytes"] for f in written),
                            "ctas_bytes": widest_bytes, "parquet_bytes": parquet, "scanned_bytes": total,
                            "billed_bytes": max(widest_bytes, MIN_BILLED) + sum(
                                max(r[f"{key}_bytes"], MIN_BILLED) for r in per_query),
                            "to_week": total / week_bytes, "to_widest": total / widest_bytes,
                            "to_raw": total / raw_scanned(per_query)}
            results[key]["usd"] = scan_usd(results[key]["billed_bytes"])
            if key == "old":
                column_bytes: dict[str, int] = {}
                for f in written:
                    for group in f["groups"]:
                        for column, size in group["sizes"].items():
                            column_bytes[column] = column_bytes.get(column, 0) + size
    log(f"[model] {len(layouts)} layouts of {rows.num_rows:,} rows written and charged "
        f"({time.perf_counter() - began:.0f} s)")
    for row in per_query:
        row["columns"] = sorted(used[row["query"]])
        row["pushed"] = {c: (sorted(v) if v is not None else None) for c, v in bounds[row["query"]].items()}
        row["pushed_with_or"] = {c: (sorted(v) if v is not None else None) for c, v in with_or[row["query"]].items()}

    raw = raw_scanned(per_query)
    billed_raw = sum(max(r["raw_bytes"], MIN_BILLED) for r in per_query)
    return {
        "dataset": label, "events": data.manifest().get("event_count"), "window": [P.iso(start), P.iso(end)],
        "widest_read_window": [P.iso(widest), P.iso(end)], "detections": len(detections),
        "objects": len(files), "week_gz_bytes": week_bytes, "widest_gz_bytes": widest_bytes,
        "copy": {"rows": rows.num_rows, "columns": columns, "column_bytes": dict(sorted(column_bytes.items())),
                 "days": len(widest_days), "buckets": shape[1]},
        "raw": {"scanned_bytes": raw, "billed_bytes": billed_raw, "usd": scan_usd(billed_raw),
                "to_week": raw / week_bytes},
        "one_scan": results,
        "pushed_down": {"eventsource": sum(r["pushed"]["eventsource"] is not None for r in per_query),
                        "eventname": sum(r["pushed"]["eventname"] is not None for r in per_query),
                        "neither": sum(all(v is None for v in r["pushed"].values()) for r in per_query),
                        "neither_with_or": sum(all(v is None for v in r["pushed_with_or"].values())
                                               for r in per_query)},
        "estimate_checked": len(per_query),
        "queries": per_query,
    }


def raw_scanned(per_query: list[dict[str, Any]]) -> int:
    return sum(r["raw_bytes"] for r in per_query)


def scan_usd(billed: int) -> float:
    """Athena's price of bytes already billed (each query's 10 MB minimum applied): $5 per TB."""
    return round(billed / 1024**4 * ATHENA_USD_PER_TB, 4)


def summary(result: dict[str, Any]) -> list[str]:
    r, c, p = result["raw"], result["copy"], result["pushed_down"]
    lines = [
        f"{result['dataset']}: {result['detections']} detections over {result['window'][0]} .. {result['window'][1]}; "
        f"widest read window from {result['widest_read_window'][0]} ({c['days']} days)",
        f"week's gz bytes (with the late day): {result['week_gz_bytes']:,}; widest window's (the CTAS's scan): "
        f"{result['widest_gz_bytes']:,} = {result['widest_gz_bytes'] / result['week_gz_bytes']:.2f}x the week",
        f"raw mode: {r['scanned_bytes']:,} bytes scanned ({r['to_week']:.1f}x the week)",
        f"pushed down: eventsource bounded in {p['eventsource']}, eventname in {p['eventname']}, neither in "
        f"{p['neither']} of {result['detections']} detections ({p['neither_with_or']} crediting OR branches)",
    ]
    for key, o in result["one_scan"].items():
        lines.append(f"one-scan [{key}] {o['layout']}: CTAS {o['ctas_bytes']:,} + Parquet {o['parquet_bytes']:,} = "
                     f"{o['scanned_bytes']:,} = {o['to_week']:.2f}x the week (target <= 1.5x), "
                     f"{o['to_widest']:.2f}x the widest window, {o['to_raw']:.3f} of raw; {o['files']} files")
    lines.append(f"copy: {c['rows']:,} rows, {len(c['columns'])} columns; the estimate matched the model for "
                 f"{result['estimate_checked']} detections")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m", choices=sorted(datasets.SIZES))
    args = parser.parse_args(argv)
    result = model(args.size)
    for line in summary(result):
        print(line)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"cost_model-{args.size}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written: {RESULTS / f'cost_model-{args.size}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
