"""Query time on a fragmented store against the same store compacted, in one run (issue 15).

    .venv/bin/python benchmarks/bench_compact.py [--events 100000] [--ingests 30] [--rounds 5]

The demo (seed 7) is ingested ``--ingests`` times, each run taking every n-th file (as if ingested
many times a day), with automatic compaction off: every partition gets up to that many files. A
copy is compacted with `store.compact`. Each round then times, on a fresh connection to each store
in turn, a full scan (count and distinct eventIDs) and three detections over the whole window.
Printed: files, medians per store and the ratio fragmented / compacted. Data goes to
benchmarks/data/ (git-ignored).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "lib"))

from trailbook import store  # noqa: E402
from trailbook.demo import generate  # noqa: E402
from trailbook.store import tuning  # noqa: E402

DETECTIONS = ("console_login_without_mfa", "iam_admin_policy_granted", "key_new_source_ip")


def build(events: int, ingests: int) -> tuple[Path, Path, Path]:
    data = ROOT / "data" / f"compact-{events}"
    demo = data / "demo"
    if not (demo / "demo_manifest.json").exists():
        shutil.rmtree(demo, ignore_errors=True)
        generate(demo, seed=7, events=events)
    fragmented, compacted = data / f"fragmented-{ingests}", data / f"compacted-{ingests}"
    if not store.db_path(fragmented).exists():
        files = sorted((demo / "cloudtrail").rglob("*.json.gz"))
        saved, tuning.AUTO_COMPACT_FILES = tuning.AUTO_COMPACT_FILES, 1 << 30
        try:
            for n in range(ingests):
                store.ingest(files[n::ingests], fragmented, progress=False)
        finally:
            tuning.AUTO_COMPACT_FILES = saved
    shutil.rmtree(compacted, ignore_errors=True)
    shutil.copytree(fragmented, compacted, ignore=shutil.ignore_patterns(".readers"))
    began = time.perf_counter()
    report = store.compact(compacted)
    print(f"compaction: {report.partitions_compacted} partitions, {report.files_replaced} files, "
          f"{time.perf_counter() - began:.1f} s")
    return demo, fragmented, compacted


def time_queries(target: Path, demo: Path) -> dict[str, float]:
    import json

    from trailbook.engines.local import LocalEngine
    from trailbook.session import Session

    window = json.loads((demo / "demo_manifest.json").read_text())["window"]
    seconds = {}
    began = time.perf_counter()
    con = store.connect(target)
    con.execute("SELECT count(*), count(DISTINCT eventid) FROM cloudtrail").fetchall()
    seconds["scan"] = time.perf_counter() - began
    con.close()
    session = Session(LocalEngine(store=target), start=window["history_start"], end=window["detection_end"])
    for name in DETECTIONS:
        began = time.perf_counter()
        session.run(name)
        seconds[name] = time.perf_counter() - began
    seconds["total"] = sum(seconds.values())
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--ingests", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    demo, fragmented, compacted = build(args.events, args.ingests)
    stores = {"fragmented": fragmented, "compacted": compacted}
    for name, target in stores.items():
        print(f"{name}: {len(store.data_files(target))} Parquet files")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in stores}
    time_queries(fragmented, demo)  # warm-up: imports, catalog, page cache
    for _ in range(args.rounds):
        for name, target in stores.items():
            runs[name].append(time_queries(target, demo))
    print(f"medians of {args.rounds} rounds (s):")
    print(f"{'query':<28}{'fragmented':>12}{'compacted':>12}{'ratio':>8}")
    for query in runs["fragmented"][0]:
        slow, fast = (statistics.median(r[query] for r in runs[name]) for name in stores)
        print(f"{query:<28}{slow:>12.3f}{fast:>12.3f}{slow / fast:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
