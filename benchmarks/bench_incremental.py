"""Ninety days of an organization's daily deliveries, ingested a day at a time (issue 15).

    .venv/bin/python benchmarks/bench_incremental.py [--days 90] [--events-per-day 100000] [--rounds 3]

Data: day d is `trailbook.demo.generate_org(..., start=<day d>, days=1)` (20 accounts x every
region, a file per account, region and 5 minutes) in benchmarks/data/org-90d/day-NNN/
(git-ignored; generated on first use, reused while its manifest matches).

1. **The history.** Each day is ingested into one store by `trailbook.store.ingest` over that
   day's folder, in a fresh process: wall, CPU and peak RSS per day (a curve, taken while the
   machine does other work). Copies of the store are kept after days 9, 83 and 89.
2. **Paired rounds**, in an order shuffled per round, each step in a fresh process:
   - `day10`: day 10 ingested into a copy of the store after day 9;
   - `day90`: day 90 ingested into a copy of the store after day 89;
   - `last7_ingest`: days 84-90 ingested, in one call, into a copy of the store after day 83;
   - `findings`: every detection over the last 7 days of the 90-day store (baselines: the 28 days
     before), with the engine's defaults;
   - `findings_compacted`: the same on a copy compacted by `store.compact`.
   Targets, as ratios inside each round (medians over rounds): day90 / day10 <= 1.2 (a day's
   ingest stays flat), findings / findings_compacted <= 1.2 (queries on day 90 as fast as on a
   compacted store), findings / last7_ingest <= 1 (findings on a week cost no more than ingesting it).

Output: benchmarks/results/incremental.json and incremental.md. Copying a store is never timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import datasets  # noqa: E402
from measure import emit, machine, run_child  # noqa: E402

ROOT = datasets.DATA_DIR / "org-90d"
CACHE_HOME = ROOT / "home"  # the children's TRAILBOOK_HOME (the translation cache)
RESULTS = BENCH_DIR / "results"
FIRST_DAY = dt.date(2026, 7, 1)
ACCOUNTS = 20
KEEP_AFTER = (9, 83, 89)
TARGETS = (("day90", "day10", 1.2, "a day's ingest stays flat: day 90 / day 10"),
           ("findings", "findings_compacted", 1.2, "findings on the 90-day store / on it compacted"),
           ("findings", "last7_ingest", 1.0, "findings on the last 7 days / ingesting those 7 days"))


def log(text: str) -> None:
    print(f"[{dt.datetime.now(dt.timezone.utc):%H:%M:%S}] {text}", flush=True)


def day_dir(day: int) -> Path:
    return ROOT / f"day-{day:03d}"


def day_start(day: int) -> str:
    return (FIRST_DAY + dt.timedelta(days=day - 1)).isoformat()


def ensure_day(day: int, events: int) -> None:
    manifest = day_dir(day) / datasets.ORG_MANIFEST
    if manifest.is_file():
        made = json.loads(manifest.read_text())
        if (made.get("format"), made.get("events_requested"), made.get("start"), len(made.get("accounts", []))) \
                == (datasets.ORG_FORMAT, events, day_start(day), ACCOUNTS):
            return
    code = ("from trailbook.demo import generate_org; "
            f"generate_org({str(day_dir(day))!r}, seed={datasets.SEED}, events={events}, accounts={ACCOUNTS}, "
            f"days=1, start={day_start(day)!r})")
    subprocess.run([sys.executable, "-c", code], check=True, env=_env())


# ------------------------------------------------------------------ children (measured)

def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["ingest", "findings"])
    parser.add_argument("--store", required=True)
    parser.add_argument("--source", nargs="*", default=[])
    parser.add_argument("--end")
    args = parser.parse_args(argv)
    import time

    from trailbook import store

    began = time.perf_counter()
    if args.step == "ingest":
        report = store.ingest(args.source, args.store, progress=False)
        problems = report.bad_files or report.bad_records
        emit({"phase_s": time.perf_counter() - began, "files": report.files_new, "events": report.events_loaded,
              "error": f"ingest reported bad input: {report.summary()}" if problems else None})
        return
    from trailbook.engines.local import LocalEngine
    from trailbook.session import Session

    end = dt.datetime.fromisoformat(args.end)
    start = end - dt.timedelta(days=7)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    session = Session(LocalEngine(store=args.store), start=start.strftime(iso), end=end.strftime(iso))
    frame = session.detect(baseline_start=(start - dt.timedelta(days=28)).strftime(iso))
    seconds = time.perf_counter() - began
    detections = len(session.evidence)
    session.close()
    emit({"phase_s": seconds, "detections": detections, "rows": len(frame)})


CHILD_ENV: dict[str, str] | None = None


def _env() -> dict[str, str] | None:
    return CHILD_ENV


def measured(step: str, store: Path, *, source: list[Path] = (), end: str | None = None) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", step, "--store", str(store)]
    if source:
        argv += ["--source", *map(str, source)]
    if end:
        argv += ["--end", end]
    record = run_child(argv, timeout_s=3600, env=CHILD_ENV)
    record["cpu_s"] = record["user_s"] + record["sys_s"]
    if not record["ok"]:
        raise RuntimeError(f"{step} failed: {record['error']}")
    return record


def copy_store(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)


# ------------------------------------------------------------------ the run

def history(days: int, events: int, out: dict[str, Any]) -> None:
    store = ROOT / "store"
    if store.exists():
        shutil.rmtree(store)
    for day in range(1, days + 1):
        ensure_day(day, events)
        record = measured("ingest", store, source=[day_dir(day) / "cloudtrail"])
        parts = sum(1 for _ in (store / "cloudtrail").rglob("*.parquet"))
        out["days"].append({"day": day, "wall_s": record["wall_s"], "cpu_s": record["cpu_s"],
                            "maxrss_mb": record["maxrss_mb"], "events": record["result"]["events"],
                            "files": record["result"]["files"], "parquet_files": parts,
                            "load_1m": record["loadavg_1m_before"]})
        log(f"day {day}: {record['result']['files']} files, {record['result']['events']} events, "
            f"{record['wall_s']:.1f} s wall, {record['cpu_s']:.1f} s CPU, {record['maxrss_mb']:.0f} MB, "
            f"{parts} parquet files")
        if day in KEEP_AFTER:
            copy_store(store, ROOT / f"store-after-{day:03d}")


def rounds(days: int, count: int, seed: int, out: dict[str, Any]) -> None:
    from trailbook import store as trailbook_store  # the live code: the copy is untimed set-up

    final = ROOT / "store"
    compacted = ROOT / "store-compacted"
    copy_store(final, compacted)
    trailbook_store.compact(compacted, progress=False)
    end = (FIRST_DAY + dt.timedelta(days=days)).isoformat() + "T00:00:00+00:00"
    work = ROOT / "work-store"
    steps = {
        "day10": lambda: (copy_store(ROOT / "store-after-009", work),
                          measured("ingest", work, source=[day_dir(10) / "cloudtrail"]))[1],
        "day90": lambda: (copy_store(ROOT / f"store-after-{days - 1:03d}", work),
                          measured("ingest", work, source=[day_dir(days) / "cloudtrail"]))[1],
        "last7_ingest": lambda: (copy_store(ROOT / f"store-after-{days - 7:03d}", work),
                                 measured("ingest", work,
                                          source=[day_dir(d) / "cloudtrail" for d in range(days - 6, days + 1)]))[1],
        "findings": lambda: measured("findings", final, end=end),
        "findings_compacted": lambda: measured("findings", compacted, end=end),
    }
    # The translated SQL is cached between runs (engines/sql_cache.py): one run with an empty
    # cache is recorded apart; the rounds then run as a daily job does, with the cache warm.
    shutil.rmtree(CACHE_HOME, ignore_errors=True)
    cold = measured("findings", final, end=end)
    out["findings_cold_cache"] = {"wall_s": cold["wall_s"], "cpu_s": cold["cpu_s"], "maxrss_mb": cold["maxrss_mb"],
                                  "result": cold["result"]}
    log(f"findings with an empty translation cache: {cold['wall_s']:.1f} s wall, {cold['cpu_s']:.1f} s CPU")
    rng = random.Random(seed)
    for number in range(1, count + 1):
        order = list(steps)
        rng.shuffle(order)
        for step in order:
            record = steps[step]()
            out["rounds"].append({"round": number, "step": step, "wall_s": record["wall_s"],
                                  "cpu_s": record["cpu_s"], "maxrss_mb": record["maxrss_mb"],
                                  "result": record["result"], "load_1m": record["loadavg_1m_before"]})
            log(f"round {number} {step}: {record['wall_s']:.1f} s wall, {record['cpu_s']:.1f} s CPU, "
                f"{record['maxrss_mb']:.0f} MB")
    shutil.rmtree(work, ignore_errors=True)


def judge(out: dict[str, Any]) -> list[dict[str, Any]]:
    verdicts = []
    for top, bottom, want, what in TARGETS:
        ratios = {"wall_s": [], "cpu_s": []}
        for number in sorted({r["round"] for r in out["rounds"]}):
            by_step = {r["step"]: r for r in out["rounds"] if r["round"] == number}
            for key in ratios:
                ratios[key].append(by_step[top][key] / by_step[bottom][key])
        wall = statistics.median(ratios["wall_s"])
        verdicts.append({"target": what, "want": want, "wall": wall, "wall_range": [min(ratios["wall_s"]),
                         max(ratios["wall_s"])], "cpu": statistics.median(ratios["cpu_s"]),
                         "verdict": "PASS" if wall <= want else "FAIL"})
    return verdicts


def markdown(out: dict[str, Any]) -> str:
    lines = [f"Run {out['started_at']} → {out['finished_at']}, {out['config']}", "",
             "| target | want | wall ratio, median (min–max) | CPU ratio | verdict |", "|---|---|---|---|---|"]
    for v in out["targets"]:
        lines.append(f"| {v['target']} | <= {v['want']} | {v['wall']:.2f} ({v['wall_range'][0]:.2f}–"
                     f"{v['wall_range'][1]:.2f}) | {v['cpu']:.2f} | **{v['verdict']}** |")
    cold = out.get("findings_cold_cache")
    if cold:
        lines += ["", "Findings with an empty translation cache (once, before the rounds): "
                      f"{cold['wall_s']:.1f} s wall, {cold['cpu_s']:.1f} s CPU, {cold['maxrss_mb']:.0f} MB; "
                      "the rounds run with it warm, as a daily job does."]
    lines += ["", "| step | rounds | wall s, median | CPU s, median | peak RSS MB, max |", "|---|---|---|---|---|"]
    for step in sorted({r["step"] for r in out["rounds"]}):
        rows = [r for r in out["rounds"] if r["step"] == step]
        lines.append(f"| {step} | {len(rows)} | {statistics.median(r['wall_s'] for r in rows):.1f} | "
                     f"{statistics.median(r['cpu_s'] for r in rows):.1f} | {max(r['maxrss_mb'] for r in rows):.0f} |")
    lines += ["", "The history (one ingest a day, taken while the machine did other work):", "",
              "| day | files | events | wall s | CPU s | peak RSS MB | Parquet files in the store |",
              "|---|---|---|---|---|---|---|"]
    for d in out["days"]:
        if d["day"] in (1, 2, 5) or d["day"] % 10 == 0 or d["day"] == len(out["days"]):
            lines.append(f"| {d['day']} | {d['files']:,} | {d['events']:,} | {d['wall_s']:.1f} | {d['cpu_s']:.1f} | "
                         f"{d['maxrss_mb']:.0f} | {d['parquet_files']:,} |")
    lines += ["", f"Machine: {out['machine']}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--events-per-day", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1234, help="shuffles the order within rounds")
    parser.add_argument("--generate-only", action="store_true", help="write the days' data and stop")
    args = parser.parse_args(argv)
    if args.days < 11:
        parser.error("--days must be at least 11 (day 10 and the last 7 days are compared)")
    from run import snapshot_code  # the parent only: children need not import the harness

    global CHILD_ENV
    started = dt.datetime.now(dt.timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + "-incremental"
    ROOT.mkdir(parents=True, exist_ok=True)
    CHILD_ENV, code = snapshot_code(stamp)
    CHILD_ENV["TRAILBOOK_HOME"] = str(CACHE_HOME)
    if args.generate_only:
        for day in range(1, args.days + 1):
            ensure_day(day, args.events_per_day)
            log(f"day {day} ready")
        return 0
    out: dict[str, Any] = {"started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "config": {"days": args.days, "events_per_day": args.events_per_day,
                                      "accounts": ACCOUNTS, "rounds": args.rounds},
                           "machine": {**machine(), "trailbook_code": code}, "days": [], "rounds": []}
    global KEEP_AFTER
    KEEP_AFTER = (9, args.days - 7, args.days - 1)
    history(args.days, args.events_per_day, out)
    rounds(args.days, args.rounds, args.seed, out)
    out["finished_at"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out["targets"] = judge(out)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "incremental.json").write_text(json.dumps(out, indent=2) + "\n")
    body = markdown(out)
    (RESULTS / "incremental.md").write_text(body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
