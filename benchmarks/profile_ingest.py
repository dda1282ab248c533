"""Where does `store.ingest` spend its time? `python benchmarks/profile_ingest.py --size 1m`

Runs the real `store.ingest` into a scratch store with its stages timed (wall seconds, summed
per thread kind), and reports the process CPU next to the wall time. The stages overlap
(pipelined), so their sum exceeds the wall time; CPU / wall shows how busy the cores were.
It also times the pieces alone, on the same data: gunzip + tag into line files (2 threads),
the DuckDB scan with its output discarded, and the scan streamed to Arrow.
Read-only on trailbook: it wraps functions in this process only.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import datasets


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _timed(stats: dict[str, float], owner: Any, name: str, label: str | None = None) -> None:
    func = getattr(owner, name)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            thread = "main" if threading.current_thread() is threading.main_thread() else "worker threads"
            stats[f"{label or name} ({thread})"] += time.perf_counter() - began

    setattr(owner, name, wrapper)


def profile_ingest(source: Path, store_dir: Path) -> dict[str, Any]:
    from trailbook import store
    from trailbook.store import lines, pipeline, scan, write

    stats: dict[str, float] = collections.defaultdict(float)
    _timed(stats, lines.Prepared, "finish", "wait for gunzip")
    for owner, name in ((scan, "read"), (scan, "take"), (pipeline, "commit"), (pipeline, "dedupe"),
                        (write, "write_parts"), (lines, "write_lines")):
        _timed(stats, owner, name)
    shutil.rmtree(store_dir, ignore_errors=True)
    began, cpu = time.perf_counter(), _cpu()
    report = store.ingest(source, store_dir, progress=False)
    wall = time.perf_counter() - began
    return {"wall_s": round(wall, 2), "cpu_s": round(_cpu() - cpu, 2), "events": report.events_loaded,
            "parquet_files": report.parquet_files_written,
            "stages_s": {k: round(v, 2) for k, v in sorted(stats.items())}}


def pieces(source: Path, scratch: Path) -> dict[str, Any]:
    import duckdb

    from trailbook import loader
    from trailbook.store import discover, lines, sql, tuning

    files = loader.discover(source).files
    items = list(enumerate(discover.Pending(str(p), 0, 0, discover.json_size(p)) for p in files))
    scratch.mkdir(parents=True, exist_ok=True)
    chunks = lines.split(items, 2)
    namers = [lambda number, n=n: scratch / f"lines-{n}-{number}.ndjson" for n in range(2)]
    out: dict[str, Any] = {}
    began, cpu = time.perf_counter(), _cpu()
    with ThreadPoolExecutor(2) as pool:
        written = [entry for files in pool.map(lines.write_lines, chunks, namers) for entry in files]
    out["gunzip_and_tag_2_threads"] = {"wall_s": round(time.perf_counter() - began, 2),
                                       "cpu_s": round(_cpu() - cpu, 2)}
    targets = [path for path, _ in written]
    scan_sql, bound = sql.batch_sql(tuning.MAX_OBJECT_SIZE), {"files": [str(t) for t in targets]}
    for label, run in (("duckdb_scan_count_only",
                        lambda con: con.execute(f"SELECT count(*) FROM ({scan_sql})", bound).fetchall()),
                       ("duckdb_scan_to_arrow",
                        lambda con: [b for b in con.sql(scan_sql, params=bound).to_arrow_reader(65536)][:0])):
        con = duckdb.connect()
        con.execute("SET preserve_insertion_order = false")
        began, cpu = time.perf_counter(), _cpu()
        run(con)
        out[label] = {"wall_s": round(time.perf_counter() - began, 2), "cpu_s": round(_cpu() - cpu, 2)}
        con.close()
    for target in targets:
        target.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1m", choices=sorted(datasets.SIZES) + sorted(datasets.ORG_SIZES))
    args = parser.parse_args()
    data = datasets.ensure(args.size)
    scratch = datasets.DATA_DIR / "profile"
    try:
        out = {"size": args.size, "ingest": profile_ingest(data.cloudtrail, scratch / "store"),
               "pieces": pieces(data.cloudtrail, scratch / "pieces")}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
