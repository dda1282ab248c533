"""The benchmark, in one command: `.venv/bin/python benchmarks/run.py` (or `make bench`).

For each size (100k, then 1M events of `trailbook.demo.generate` output): a warm-up round builds
the reference store, warms the page cache and checks that the approaches agree; then rounds in
a per-round shuffled order run every approach in a fresh process (see approaches.py). Raw
records go to benchmarks/data/raw-<stamp>.jsonl; the summary to benchmarks/results/ and the
results section of benchmarks/README.md. `--quick`: 100k only, one round, README untouched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import analyze
import datasets
import report
from measure import machine, run_child

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
APPROACHES = ("floor", "pandas", "ingest", "query_store", "query_raw", "findings")
# The warm-up builds the store first (queries need it); pandas is left out (minutes and GBs).
WARMUP = ("ingest", "floor", "query_store", "query_raw", "findings")


def log(message: str) -> None:
    print(f"{dt.datetime.now():%H:%M:%S} {message}", flush=True)


def snapshot_code(stamp: str) -> tuple[dict[str, str], dict[str, str]]:
    """Freeze lib/trailbook and queries/ for this run: colleagues edit the tree while it runs,
    and every round must measure the same code. Returns the children's env and a fingerprint."""
    repo = BENCH_DIR.parent
    target = datasets.DATA_DIR / f"code-{stamp}"
    shutil.copytree(repo / "lib" / "trailbook", target / "lib" / "trailbook",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(repo / "queries", target / "queries")  # catalog finds it at parents[2]/queries
    digest = hashlib.sha256()
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(target)).encode() + path.read_bytes())
    store_py = (target / "lib" / "trailbook" / "store.py").read_bytes()
    env = {**os.environ, "PYTHONPATH": str(target / "lib"), "TRAILBOOK_QUERIES": str(target / "queries")}
    return env, {"snapshot": str(target), "sha256": digest.hexdigest()[:16],
                 "store_py_sha256": hashlib.sha256(store_py).hexdigest()[:16]}


CHILD_ENV: dict[str, str] | None = None


def child(approach: str, data: datasets.Dataset, store: Path, query: str, timeout_s: float) -> dict[str, Any]:
    argv = [sys.executable, str(BENCH_DIR / "approaches.py"), approach, "--data", str(data.root),
            "--label", data.label, "--store", str(store), "--query", query]
    return run_child(argv, timeout_s=timeout_s, env=CHILD_ENV)


def run_size(label: str, *, rounds: int, pandas_rounds: int, query: str, seed: int, timeout_s: float,
             raw_out, records: list[dict[str, Any]]) -> dict[str, Any]:
    data = datasets.ensure(label, log=log)
    ref_store = datasets.DATA_DIR / f"store-{label}"
    scratch_store = datasets.DATA_DIR / f"store-{label}-scratch"

    def record(approach: str, round_no: int, warmup: bool, position: int) -> dict[str, Any]:
        store = ref_store if (warmup or approach != "ingest") else scratch_store
        run = child(approach, data, store, query, timeout_s)
        run.update(size=label, round=round_no, warmup=warmup, approach=approach, position=position)
        records.append(run)
        raw_out.write(json.dumps(run) + "\n")
        raw_out.flush()
        res = run["result"]
        shown = f"phase {res['phase_s']:.2f}s" if "phase_s" in res else ""
        log(f"  [{label} r{round_no}{' warm-up' if warmup else ''}] {approach:<11} {shown:<16} "
            f"wall {run['wall_s']:.2f}s rss {run['maxrss_mb']:.0f}MB load {run['loadavg_1m_before']:.1f}"
            + ("" if run["ok"] else f"  FAILED: {run['error']}"))
        return run

    log(f"[{label}] warm-up")
    warm = {name: record(name, 0, True, n) for n, name in enumerate(WARMUP)}
    checks = agreement(warm, data)
    for line in checks:
        log(f"  check: {line}")

    rng = random.Random(seed)
    for round_no in range(1, rounds + 1):
        order = [a for a in APPROACHES if a != "pandas" or round_no <= pandas_rounds]
        rng.shuffle(order)
        log(f"[{label}] round {round_no}/{rounds}: {' '.join(order)}")
        for position, name in enumerate(order):
            record(name, round_no, False, position)
        shutil.rmtree(scratch_store, ignore_errors=True)

    failures = [f"r{r['round']} {r['approach']}: {r['error']}" for r in records
                if r["size"] == label and not r["ok"]]
    return {"dataset": datasets.describe(data), "approaches": analyze.per_approach(records, label),
            "checks": checks, "failures": failures}


def agreement(warm: dict[str, dict[str, Any]], data: datasets.Dataset) -> list[str]:
    """Do the approaches read the same events and give the same answer? Stated either way."""
    out = []
    expected = data.manifest()["event_count"]
    floor_events = warm["floor"]["result"].get("events")
    ingest = warm["ingest"]["result"]
    out.append(f"manifest events {expected:,}; floor parsed {floor_events}; ingest read "
               f"{ingest.get('events')} and loaded {ingest.get('events_loaded')} "
               f"({ingest.get('duplicates_removed')} duplicates removed) -> "
               + ("OK" if floor_events == expected == ingest.get("events") else "MISMATCH"))
    store_q, raw_q = warm["query_store"]["result"], warm["query_raw"]["result"]
    same = store_q.get("digest") is not None and store_q.get("digest") == raw_q.get("digest")
    out.append(f"{store_q.get('query')}: store {store_q.get('rows')} rows / raw {raw_q.get('rows')} rows, "
               f"result md5 {'identical' if same else 'DIFFERENT'}")
    found = warm["findings"]["result"]
    out.append(f"findings: {found.get('detections')} detections ran, {found.get('rows')} findings; "
               f"slowest (ms): {found.get('slowest_ms')}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100k only, 1 round; README left alone")
    parser.add_argument("--sizes", nargs="+", default=["100k", "1m"], choices=sorted(datasets.SIZES))
    parser.add_argument("--rounds-100k", type=int, default=5)
    parser.add_argument("--rounds-1m", type=int, default=3)
    parser.add_argument("--pandas-rounds-1m", type=int, default=3,
                        help="pandas at 1M takes minutes and GBs; it may run fewer rounds")
    parser.add_argument("--query", default="console_login_without_mfa")
    parser.add_argument("--seed", type=int, default=1234, help="shuffles the order within rounds")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run before it is killed")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.rounds_100k = ["100k"], 1

    started = dt.datetime.now(dt.timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + ("-quick" if args.quick else "")
    datasets.DATA_DIR.mkdir(parents=True, exist_ok=True)
    raw_path = datasets.DATA_DIR / f"raw-{stamp}.jsonl"
    global CHILD_ENV
    CHILD_ENV, code = snapshot_code(stamp)
    log(f"code snapshot {code}")
    records: list[dict[str, Any]] = []
    rounds = {"10k": args.rounds_100k, "100k": args.rounds_100k, "1m": args.rounds_1m}
    pandas_rounds = {"10k": args.rounds_100k, "100k": args.rounds_100k, "1m": min(args.pandas_rounds_1m, args.rounds_1m)}
    sizes: dict[str, Any] = {}
    began = time.perf_counter()
    log(f"raw records -> {raw_path}")
    with raw_path.open("w") as raw_out:
        for label in args.sizes:
            sizes[label] = run_size(label, rounds=rounds[label], pandas_rounds=pandas_rounds[label],
                                    query=args.query, seed=args.seed, timeout_s=args.timeout,
                                    raw_out=raw_out, records=records)

    summary = {
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "minutes": (time.perf_counter() - began) / 60,
        "config": {"sizes": args.sizes, "rounds": {s: rounds[s] for s in args.sizes},
                   "pandas_rounds": {s: pandas_rounds[s] for s in args.sizes}, "query": args.query,
                   "seed": args.seed, "quick": args.quick, "raw": str(raw_path.relative_to(BENCH_DIR))},
        "machine": {**machine(), "trailbook_code": code},
        "sizes": sizes,
        "targets": analyze.judge(records, args.sizes),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    name = "quick-summary" if args.quick else "summary"
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    body = report.markdown(summary)
    (RESULTS_DIR / f"{name}.md").write_text(body)
    if not args.quick and not report.splice_readme(BENCH_DIR / "README.md", body):
        log("README.md has no results markers; results are in benchmarks/results/summary.md only")
    print(body)
    return 0 if all(r["ok"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
