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
from pathlib import Path
from typing import Any

import analyze
import bench_lab
import datasets
import report
from measure import machine, run_child

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
APPROACHES = ("floor", "pandas", "ingest", "query_store", "query_raw", "findings", "findings_shared")
# Organization-shaped sets (issue 15): tens of thousands of tiny files, so no pandas or raw-file
# query; DuckDB's own partitioned COPY is the peer, in the same rounds.
ORG_APPROACHES = ("floor", "ingest", "duckdb_copy", "findings", "findings_shared")
# The warm-up only builds the reference store the queries read (and warms the page cache).
WARMUP = ("ingest",)


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
    store_py = b"".join(p.read_bytes() for p in sorted((target / "lib" / "trailbook" / "store").glob("*.py")))
    env = {**os.environ, "PYTHONPATH": str(target / "lib"), "TRAILBOOK_QUERIES": str(target / "queries")}
    return env, {"snapshot": str(target), "sha256": digest.hexdigest()[:16],
                 "store_py_sha256": hashlib.sha256(store_py).hexdigest()[:16]}


CHILD_ENV: dict[str, str] | None = None


def child(approach: str, data: datasets.Dataset, store: Path, query: str, timeout_s: float) -> dict[str, Any]:
    argv = [sys.executable, str(BENCH_DIR / "approaches.py"), approach, "--data", str(data.root),
            "--label", data.label, "--store", str(store), "--query", query]
    return run_child(argv, timeout_s=timeout_s, env=CHILD_ENV)


def run_size(label: str, *, rounds: int, pandas_rounds: int, query: str, seed: int, timeout_s: float,
             raw_out, records: list[dict[str, Any]]) -> None:
    data = datasets.ensure(label, log=log)
    ref_store = datasets.DATA_DIR / f"store-{label}"
    scratch_store = datasets.DATA_DIR / f"store-{label}-scratch"

    def record(approach: str, round_no: int, warmup: bool, position: int) -> dict[str, Any]:
        store = ref_store if (warmup or approach != "ingest") else scratch_store
        if approach == "duckdb_copy":  # writes (and first deletes) its own folder, never the reference store
            store = datasets.DATA_DIR / f"copy-{label}-scratch"
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
    for position, name in enumerate(WARMUP):
        record(name, 0, True, position)
    rng = random.Random(f"{seed}:{label}")
    for round_no in range(1, rounds + 1):
        order = [a for a in (ORG_APPROACHES if data.is_org else APPROACHES)
                 if a != "pandas" or round_no <= pandas_rounds]
        rng.shuffle(order)
        log(f"[{label}] round {round_no}/{rounds}: {' '.join(order)}")
        for position, name in enumerate(order):
            record(name, round_no, False, position)
        shutil.rmtree(scratch_store, ignore_errors=True)
        shutil.rmtree(datasets.DATA_DIR / f"copy-{label}-scratch", ignore_errors=True)
        if round_no == 1:
            for line in agreement(records, label):
                log(f"  check: {line}")


def agreement(records: list[dict[str, Any]], label: str) -> list[str]:
    """Did the approaches read the same events and give the same answers? Stated either way."""
    mine = [r for r in records if r["size"] == label and r["ok"]]
    if not mine:
        return ["no successful runs"]
    first = {}
    for run in sorted(mine, key=lambda r: (r["round"], r["position"])):
        first.setdefault(run["approach"], run["result"])
    expected = datasets.dataset(label).manifest()["event_count"]
    out = []
    floor_events = first.get("floor", {}).get("events")
    ingest = first.get("ingest", {})
    pandas_events = first.get("pandas", {}).get("events")
    same_count = floor_events == expected == ingest.get("events") and pandas_events in (None, expected)
    out.append(f"events: manifest {expected:,}; floor parsed {floor_events}; pandas rows {pandas_events}; "
               f"ingest read {ingest.get('events')}, loaded {ingest.get('events_loaded')} "
               f"({ingest.get('duplicates_removed')} duplicates removed) -> {'OK' if same_count else 'MISMATCH'}")
    digests = {r["result"].get("digest") for r in mine if r["approach"] in ("query_store", "query_raw")}
    store_q, raw_q = first.get("query_store", {}), first.get("query_raw", {})
    out.append(f"{store_q.get('query')}: store {store_q.get('rows')} rows, raw files {raw_q.get('rows')} rows; "
               f"result md5 over every run {'identical' if len(digests) == 1 else 'DIFFERENT: ' + str(digests)}")
    found = first.get("findings", {})
    runs = [r["result"] for r in mine if r["approach"] == "findings"]
    full = len({r.get("digest") for r in runs}) == 1
    keys = {r.get("key_digest") for r in runs if r.get("key_digest")}
    varying = sorted(name for name in {n for r in runs for n in r.get("per_detection", {})}
                     if len({r.get("per_detection", {}).get(name) for r in runs}) > 1)
    same = ("identical in every run" if full else
            "key columns identical in every run, arbitrary()-valued columns vary" if len(keys) == 1
            else "DIFFERENT between runs")
    if varying:
        same += f"; detections whose rows vary: {', '.join(varying)}"
    out.append(f"findings: {found.get('detections')} detections ran, {found.get('rows')} findings ({same}); "
               f"slowest detections (ms): {found.get('slowest_ms')}")
    return out


def summarize(meta: dict[str, Any], records: list[dict[str, Any]], finished: dt.datetime) -> dict[str, Any]:
    sizes = [s for s in meta["config"]["sizes"] if any(r["size"] == s for r in records)]
    started = dt.datetime.strptime(meta["started_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    out_sizes = {}
    for label in sizes:
        out_sizes[label] = {
            "dataset": datasets.describe(datasets.dataset(label)),
            "approaches": analyze.per_approach(records, label),
            "checks": agreement(records, label),
            "failures": [f"r{r['round']} {r['approach']}: {r['error']}" for r in records
                         if r["size"] == label and not r["ok"]],
            "rounds_done": max((r["round"] for r in records if r["size"] == label), default=0),
        }
    return {**meta, "finished_at": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "minutes": (finished - started).total_seconds() / 60,
            "sizes": out_sizes, "targets": analyze.judge(records, sizes)}


def write_outputs(summary: dict[str, Any], quick: bool) -> str:
    RESULTS_DIR.mkdir(exist_ok=True)
    # Organization sets get files of their own (results/org-1m-summary.*) and leave the README's
    # generated block, which holds the demo sets' run, alone.
    org = bool(summary["sizes"]) and all(label.startswith("org-") for label in summary["sizes"])
    name = "quick-summary" if quick else ("-".join(summary["sizes"]) + "-summary" if org else "summary")
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    body = report.markdown(summary)
    (RESULTS_DIR / f"{name}.md").write_text(body)
    if not quick and not org and not report.splice_readme(BENCH_DIR / "README.md", body):
        log("README.md has no results markers; the results are in benchmarks/results/summary.md only")
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100k only, 1 round; README left alone")
    # Defaults: about 12 minutes on 2 cores, most of it pandas; the 1M size goes first so its
    # numbers land first.
    parser.add_argument("--sizes", nargs="+", default=["1m", "100k"],
                        choices=sorted(datasets.SIZES) + sorted(datasets.ORG_SIZES),
                        help="org-1m, org-10m, org-90d: organization-shaped sets (issue 15), not in the default")
    parser.add_argument("--rounds-org", type=int, default=3)
    parser.add_argument("--rounds-100k", type=int, default=5)
    parser.add_argument("--rounds-1m", type=int, default=3)
    parser.add_argument("--pandas-rounds-100k", type=int, default=2)
    parser.add_argument("--pandas-rounds-1m", type=int, default=3,
                        help="pandas takes minutes and GBs; it runs fewer rounds")
    parser.add_argument("--summarize", metavar="RAW_JSONL",
                        help="only re-analyse the raw records of an earlier (possibly interrupted) run")
    parser.add_argument("--query", default="console_login_without_mfa")
    parser.add_argument("--seed", type=int, default=1234, help="shuffles the order within rounds")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run before it is killed")
    parser.add_argument("--lab-rounds", type=int, default=5,
                        help="rounds of bench_lab.py (kernel start -> first result) after the sizes; 0 skips it")
    args = parser.parse_args(argv)
    if args.summarize:
        lines = [json.loads(line) for line in Path(args.summarize).read_text().splitlines() if line.strip()]
        meta, records = lines[0]["meta"], lines[1:]
        summary = summarize(meta, records, dt.datetime.now(dt.timezone.utc))
        print(write_outputs(summary, meta["config"]["quick"]))
        return 0
    if args.quick:
        args.sizes, args.rounds_100k, args.pandas_rounds_100k = ["100k"], 1, 1
        args.lab_rounds = min(args.lab_rounds, 1)

    global CHILD_ENV
    started = dt.datetime.now(dt.timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + ("-quick" if args.quick else "")
    datasets.DATA_DIR.mkdir(parents=True, exist_ok=True)
    CHILD_ENV, code = snapshot_code(stamp)
    raw_path = datasets.DATA_DIR / f"raw-{stamp}.jsonl"
    rounds = {"10k": args.rounds_100k, "100k": args.rounds_100k, "1m": args.rounds_1m,
              **{label: args.rounds_org for label in datasets.ORG_SIZES}}
    pandas_rounds = {"10k": args.pandas_rounds_100k, "100k": min(args.pandas_rounds_100k, args.rounds_100k),
                     "1m": min(args.pandas_rounds_1m, args.rounds_1m), **{label: 0 for label in datasets.ORG_SIZES}}
    meta = {
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config": {"sizes": args.sizes, "rounds": {s: rounds[s] for s in args.sizes},
                   "pandas_rounds": {s: pandas_rounds[s] for s in args.sizes}, "query": args.query,
                   "seed": args.seed, "quick": args.quick, "raw": str(raw_path.relative_to(BENCH_DIR))},
        "machine": {**machine(), "trailbook_code": code},
    }
    log(f"code snapshot {code}; raw records -> {raw_path}")
    records: list[dict[str, Any]] = []
    with raw_path.open("w") as raw_out:
        raw_out.write(json.dumps({"meta": meta}) + "\n")
        for label in args.sizes:
            run_size(label, rounds=rounds[label], pandas_rounds=pandas_rounds[label], query=args.query,
                     seed=args.seed, timeout_s=args.timeout, raw_out=raw_out, records=records)
    print(write_outputs(summarize(meta, records, dt.datetime.now(dt.timezone.utc)), args.quick))
    if args.lab_rounds:  # the same frozen code; results in results/lab.json
        log("lab: kernel start -> first result (bench_lab.py)")
        print(bench_lab.markdown(bench_lab.run(args.lab_rounds, env=CHILD_ENV, seed=args.seed)))
    return 0 if all(r["ok"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
