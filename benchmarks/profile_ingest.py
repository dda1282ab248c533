"""Where does `store.ingest` spend its time? `python benchmarks/profile_ingest.py --size 1m --files 1000`

1. Runs the real `store.ingest` on the first N Records files of a data set (hard links in a
   scratch folder) with every DuckDB statement timed, grouped by statement.
2. Splits the staging statement: parse only, unnest + read two columns, the full INSERT.
3. Measures two candidate fixes in isolation on the same files:
   - file bookkeeping: `executemany(INSERT OR REPLACE ...)` per file, against one INSERT of
     unnest()ed list parameters;
   - staging: `read_json` over the N gzip files, against Python decompressing them into one
     newline-delimited file whose lines carry their source path (`{"_src": ..., "Records": ...}`)
     read by one `read_json`.
Read-only on trailbook: it wraps `store.connect` in this process only.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import datasets


class TimedConnection:
    """Forwards to a DuckDB connection, timing execute/executemany by statement text."""

    def __init__(self, con: Any, stats: dict[str, list[float]]) -> None:
        self._con, self._stats = con, stats

    def _timed(self, method: str, sql: str, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        result = getattr(self._con, method)(sql, *args, **kwargs)
        key = ("executemany: " if method == "executemany" else "") + " ".join(sql.split())[:80]
        entry = self._stats.setdefault(key, [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - began
        return result

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return self._timed("execute", sql, *args, **kwargs)

    def executemany(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return self._timed("executemany", sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def sample_source(files: list[Path], root: Path, target: Path) -> Path:
    """Hard links to `files` under target, keeping the AWSLogs/... layout."""
    if target.exists():
        shutil.rmtree(target)
    for path in files:
        link = target / path.relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, link)
    return target


def profile_ingest(source: Path, store_dir: Path) -> dict[str, Any]:
    from trailbook import store

    stats: dict[str, list[float]] = {}
    real_connect = store.connect
    store.connect = lambda *a, **k: TimedConnection(real_connect(*a, **k), stats)
    try:
        shutil.rmtree(store_dir, ignore_errors=True)
        began = time.perf_counter()
        report = store.ingest(source, store_dir, progress=False)
        total = time.perf_counter() - began
    finally:
        store.connect = real_connect
    top = sorted(stats.items(), key=lambda kv: -kv[1][1])
    return {"total_s": total, "files": report.files_new, "events": report.events_loaded,
            "statements": [{"sql": k, "calls": n, "seconds": round(t, 3)} for k, (n, t) in top[:8]]}


def bookkeeping(n_files: int) -> dict[str, float]:
    import duckdb

    from trailbook import store

    con = duckdb.connect()
    con.execute(store._FILES_DDL)
    now = time.time()
    rows = [(f"/sample/{i}.json.gz", 1000 + i, 10**18 + i, 100, "loaded", None, now) for i in range(n_files)]
    began = time.perf_counter()
    con.executemany(f"INSERT OR REPLACE INTO {store.FILES_TABLE} VALUES (?, ?, ?, ?, ?, ?, to_timestamp(?))", rows)
    many = time.perf_counter() - began
    con.execute(f"DELETE FROM {store.FILES_TABLE}")
    columns = [list(c) for c in zip(*rows)]
    began = time.perf_counter()
    con.execute(
        f"INSERT OR REPLACE INTO {store.FILES_TABLE} SELECT unnest($p), unnest($s), unnest($m), unnest($e), "
        "unnest($st), unnest($r::VARCHAR[]), to_timestamp(unnest($t))",
        dict(zip(("p", "s", "m", "e", "st", "r", "t"), columns)))
    single = time.perf_counter() - began
    assert con.execute(f"SELECT count(*) FROM {store.FILES_TABLE}").fetchone()[0] == n_files
    return {"executemany_s": many, "one_statement_s": single}


def staging(files: list[Path]) -> dict[str, Any]:
    import duckdb
    import orjson

    from trailbook import schema, store

    con = duckdb.connect()
    con.execute(store._staged_ddl())
    paths = [str(p) for p in files]
    source = store._read_json_sql("$files")
    began = time.perf_counter()  # parse only: DuckDB skips what nobody reads
    con.execute(f"SELECT sum(len(Records)) FROM {source}", {"files": paths}).fetchall()
    parse_s = time.perf_counter() - began
    began = time.perf_counter()  # every column typed and unnested, but not stored
    con.execute(f"SELECT count(*), sum(length(CAST(requestparameters AS VARCHAR))), "
                f"sum(length(CAST(useridentity AS VARCHAR))) FROM "
                f"(SELECT unnest(Records, max_depth := 2) FROM {source})", {"files": paths}).fetchall()
    unnest_s = time.perf_counter() - began
    began = time.perf_counter()
    con.execute(store._stage_sql("filename"), {"files": paths})
    per_file = time.perf_counter() - began
    direct_rows = con.execute("SELECT count(*) FROM staged").fetchone()[0]
    con.execute("DELETE FROM staged")

    began = time.perf_counter()
    handle, joined = tempfile.mkstemp(suffix=".json")
    with os.fdopen(handle, "wb") as out:
        for path in paths:  # each delivery file is one compact {"Records":[...]} line
            body = zlib.decompress(Path(path).read_bytes(), wbits=31).strip()
            out.write(b'{"_src":' + orjson.dumps(path) + b"," + body[1:] + b"\n")
    concat_s = time.perf_counter() - began
    sql = (
        "INSERT INTO staged SELECT * FROM (SELECT _src, len(Records), "
        "unnest(CASE WHEN len(Records) > 0 THEN Records ELSE [NULL] END, max_depth := 2) "
        f"FROM read_json($files, format = 'newline_delimited', records = true, case_insensitive_keys = true, "
        f"maximum_object_size = {store.MAX_OBJECT_SIZE}, "
        f"columns = {{'_src': 'VARCHAR', 'Records': '{schema.records_struct()}'}})) ORDER BY eventtime")
    began = time.perf_counter()
    con.execute(sql, {"files": [joined]})
    read_s = time.perf_counter() - began
    joined_rows = con.execute("SELECT count(*) FROM staged").fetchone()[0]
    os.unlink(joined)
    return {"read_json_count_only_s": parse_s, "read_json_unnest_two_columns_s": unnest_s,
            "per_file_read_json_s": per_file, "concat_python_s": concat_s, "concat_read_json_s": read_s,
            "rows_direct": direct_rows, "rows_concat": joined_rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1m", choices=sorted(datasets.SIZES))
    parser.add_argument("--files", type=int, default=1000, help="how many Records files to sample")
    args = parser.parse_args()
    data = datasets.dataset(args.size)
    files = data.record_files()
    step = max(1, len(files) // args.files)
    sample = files[::step][:args.files]  # spread over the whole window, not only its first day
    scratch = datasets.DATA_DIR / "profile"
    source = sample_source(sample, data.cloudtrail, scratch / "cloudtrail")
    out = {"size": args.size, "files": len(sample),
           "events": None, "ingest": profile_ingest(source, scratch / "store"),
           "bookkeeping": bookkeeping(len(sample)), "staging": staging(sample)}
    out["events"] = out["ingest"]["events"]
    shutil.rmtree(scratch)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
