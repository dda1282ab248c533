"""One approach per process: `python benchmarks/approaches.py APPROACH --data DIR [...]`.

Each prints one `RESULT {json}` line: `phase_s` is the in-process time of the measured work
(imports and interpreter start excluded; the parent measures the whole process too), plus
facts that let the parent check every approach read the same data and got the same answer.

Approaches:
  floor        gzip-decompress + orjson-parse every Records file on a 2-process pool
  pandas       the notebook author's way: json.load per file -> json_normalize -> concat
  ingest       trailbook.store.ingest into a fresh store
  query_store  one detection via Session + LocalEngine on the store
  query_raw    the same detection via LocalEngine.over_raw_files on the json.gz files
  findings     Session.detect(): every detection that runs locally, on the store
  findings_shared  the same with the local engine's shared copy of the window (shared_copy=True)
  duckdb_copy  the peer: DuckDB's own partitioned COPY of the same full schema to Parquet
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import time
import zlib
from collections.abc import Callable
from multiprocessing import Pool
from pathlib import Path
from typing import Any

from datasets import MANIFEST, ORG_MANIFEST, Dataset
from measure import emit

APPROACHES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {}


def approach(func: Callable[[argparse.Namespace], dict[str, Any]]):
    APPROACHES[func.__name__] = func
    return func


def _data(args: argparse.Namespace) -> Dataset:
    root = Path(args.data)
    return Dataset(args.label, root, ORG_MANIFEST if (root / ORG_MANIFEST).is_file() else MANIFEST)


# ------------------------------------------------------------------ the floor

def _parse_one(path: str) -> tuple[int, int]:
    raw = zlib.decompress(Path(path).read_bytes(), wbits=31)  # 31: gzip header
    import orjson

    return len(orjson.loads(raw)["Records"]), len(raw)


@approach
def floor(args: argparse.Namespace) -> dict[str, Any]:
    files = [str(p) for p in _data(args).record_files()]
    began = time.perf_counter()
    with Pool(2) as pool:  # pool start-up counts: it is part of using 2 processes
        counts = pool.map(_parse_one, files, chunksize=16)
    seconds = time.perf_counter() - began
    return {"phase_s": seconds, "files": len(files), "events": sum(c for c, _ in counts),
            "bytes_uncompressed": sum(b for _, b in counts)}


# ------------------------------------------------------------------ the notebook author

@approach
def pandas(args: argparse.Namespace) -> dict[str, Any]:
    import gzip
    import json

    import pandas as pd

    files = _data(args).record_files()
    began = time.perf_counter()
    frames = []
    for path in files:
        with gzip.open(path, "rt") as handle:
            frames.append(pd.json_normalize(json.load(handle)["Records"]))
    frame = pd.concat(frames, ignore_index=True)
    seconds = time.perf_counter() - began
    return {"phase_s": seconds, "files": len(files), "events": len(frame), "columns": frame.shape[1]}


# ------------------------------------------------------------------ trailbook

@approach
def ingest(args: argparse.Namespace) -> dict[str, Any]:
    from trailbook import store

    target = Path(args.store)
    if target.exists():  # always a cold, empty store: this measures a first ingest
        shutil.rmtree(target)
    began = time.perf_counter()
    report = store.ingest(_data(args).cloudtrail, target, progress=False)
    seconds = time.perf_counter() - began
    problems = report.bad_files or report.bad_records
    return {"phase_s": seconds, "files": report.files_new, "events": report.events_read,
            "events_loaded": report.events_loaded, "duplicates_removed": report.duplicates_removed,
            "store_bytes": store.store_bytes(target),
            "error": f"ingest reported bad input: {report.summary()}" if problems else None}


def _session(engine, data: Dataset, *, detection_week: bool = False):
    """The whole data set as the window, or the demo's detection week (history before it)."""
    from trailbook.session import Session

    window = data.manifest()["window"]
    if data.is_org:  # one trail's whole span: detections over its last day, the days before as baseline
        end = window["end"]
        start = _day_before(end) if detection_week else window["start"]
        return Session(engine, start=max(start, window["start"]), end=end)
    start = window["detection_start"] if detection_week else window["history_start"]
    return Session(engine, start=start, end=window["detection_end"])


def _day_before(iso_time: str) -> str:
    import datetime as dt

    moment = dt.datetime.fromisoformat(iso_time.replace("Z", "+00:00")) - dt.timedelta(days=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _history_start(data: Dataset) -> str:
    window = data.manifest()["window"]
    return window["start"] if data.is_org else window["history_start"]


def _frame_digest(frame) -> str:
    """md5 of the rows in a stable order, so two engines' answers can be compared."""
    text = frame.astype(str)
    text = text.sort_values(list(text.columns)).to_csv(index=False)
    return hashlib.md5(text.encode()).hexdigest()


def _run_query(engine_factory, args: argparse.Namespace) -> dict[str, Any]:
    data = _data(args)
    began = time.perf_counter()
    engine = engine_factory()
    session = _session(engine, data)
    opened = time.perf_counter()
    frame = session.run(args.query)
    done = time.perf_counter()
    session.close()
    return {"phase_s": done - began, "open_s": opened - began, "query_s": done - opened,
            "query": args.query, "rows": len(frame), "digest": _frame_digest(frame),
            "event_count_sum": int(frame["event_count"].sum()) if len(frame) else 0}


@approach
def query_store(args: argparse.Namespace) -> dict[str, Any]:
    from trailbook.engines.local import LocalEngine

    return _run_query(lambda: LocalEngine(store=args.store), args)


@approach
def query_raw(args: argparse.Namespace) -> dict[str, Any]:
    from trailbook.engines.local import LocalEngine

    return _run_query(lambda: LocalEngine.over_raw_files(_data(args).records_glob), args)


@approach
def findings(args: argparse.Namespace, shared_copy: bool = False) -> dict[str, Any]:
    from trailbook.engines.local import LocalEngine

    data = _data(args)
    began = time.perf_counter()
    # As the demo is meant to be read: detections over its last week, baselines over the
    # three weeks before (queries with a trailing baseline declare baseline_start).
    engine = LocalEngine(store=args.store)
    engine.shared_copy = shared_copy
    session = _session(engine, data, detection_week=True)
    frame = session.detect(baseline_start=_history_start(data))
    seconds = time.perf_counter() - began
    per_query = sorted(((run.query, run.stats.get("engine_ms") or 0) for run in session.evidence),
                       key=lambda item: -item[1])
    session.close()
    # Columns built with arbitrary() or tie-broken lists may differ run to run; the key does not.
    key = [c for c in ("detection", "severity", "first_seen", "last_seen", "account_id", "principal_arn",
                       "access_key_id", "source_ip", "event_count") if c in frame.columns]
    return {"phase_s": seconds, "detections": len(session.evidence), "rows": len(frame),
            "digest": _frame_digest(frame), "key_digest": _frame_digest(frame[key]),
            "per_detection": {name: _frame_digest(group) for name, group in frame.groupby("detection")},
            "slowest_ms": per_query[:5]}


@approach
def findings_shared(args: argparse.Namespace) -> dict[str, Any]:
    return findings(args, shared_copy=True)


@approach
def duckdb_copy(args: argparse.Namespace) -> dict[str, Any]:
    """DuckDB's own partitioned COPY of the store's full schema, straight from the json.gz files."""
    import duckdb

    from trailbook.store import raw_view_sql

    target = Path(args.store)
    if target.exists():
        shutil.rmtree(target)
    data = _data(args)
    began = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"COPY ({raw_view_sql(data.records_glob)}) TO '{target}' "
                "(FORMAT parquet, PARTITION_BY (account_partition, region_partition, date_partition))")
    seconds = time.perf_counter() - began
    events = con.execute(f"SELECT count(*) FROM read_parquet('{target}/**/*.parquet')").fetchone()[0]
    con.close()
    return {"phase_s": seconds, "events": events}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("approach", choices=sorted(APPROACHES))
    parser.add_argument("--data", required=True, help="a trailbook.demo.generate output folder")
    parser.add_argument("--label", default="?", help="size label, for the record")
    parser.add_argument("--store", help="store folder (ingest: rebuilt; query_store/findings: read)")
    parser.add_argument("--query", default="console_login_without_mfa")
    args = parser.parse_args()
    try:
        result = APPROACHES[args.approach](args)
    except Exception as exc:  # report, so the parent records a failed run instead of a number
        result = {"error": f"{type(exc).__name__}: {exc}"}
    emit({"approach": args.approach, **result})


if __name__ == "__main__":
    main()
