"""The scale curve (issue 15): ingest and findings on organization-shaped sets of growing size.

    .venv/bin/python benchmarks/bench_scale.py [--sizes org-100k org-1m org-10m] [--rounds 1]

Each step runs in a fresh process (`approaches.py`), as `run.py` runs them: the parse `floor`
(zlib + orjson on 2 processes), `ingest` into an empty store, then `findings` (every detection,
per query) and `findings_shared` (with the shared copy of the window) on that store, over the set's
last day with the days before as baselines. The set's files are read once, untimed, before the
first round, and the floor and ingest swap places every other round. Recorded: wall and CPU
seconds and peak RSS per step and size; the ratio of each size to the one before shows how time and memory grow. Output:
results/scale.json, results/scale.md and results/scale.png.
The translation cache (engines/sql_cache.py) starts empty and is filled by one findings run on the
first set before anything is timed (recorded as `warm_up`): every timed run is a daily job's, warm.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import datasets  # noqa: E402
from measure import machine, run_child  # noqa: E402

RESULTS = BENCH_DIR / "results"
STEPS = ("floor", "ingest", "findings", "findings_shared")


def log(text: str) -> None:
    print(f"[{dt.datetime.now(dt.timezone.utc):%H:%M:%S}] {text}", flush=True)


def step(approach: str, data: datasets.Dataset, store: Path, env: dict[str, str]) -> dict[str, Any]:
    argv = [sys.executable, str(BENCH_DIR / "approaches.py"), approach, "--data", str(data.root),
            "--label", data.label, "--store", str(store)]
    record = run_child(argv, timeout_s=7200, env=env)
    if not record["ok"]:
        raise RuntimeError(f"{approach} on {data.label} failed: {record['error']}")
    return {"wall_s": record["wall_s"], "cpu_s": record["user_s"] + record["sys_s"],
            "maxrss_mb": record["maxrss_mb"], "load_1m": record["loadavg_1m_before"],
            "rows": record["result"].get("rows"), "events": record["result"].get("events")}


def warm_page_cache(data: datasets.Dataset) -> None:
    """Read every file of the set once, untimed: generating a bigger set evicts a smaller one's
    files, and the first step to read them would pay the disk for the others."""
    began = dt.datetime.now(dt.timezone.utc)
    total = 0
    for path in data.record_files():
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                total += len(chunk)
    log(f"{data.label}: page cache warmed ({total / 1e6:,.0f} MB in "
        f"{(dt.datetime.now(dt.timezone.utc) - began).total_seconds():.0f} s)")


def _in_round(size: dict[str, Any], top: str, bottom: str, key: str) -> str:
    """The median of the ratios taken inside each round, with their range when there are several."""
    runs = size.get("runs")
    if not runs:  # an older results file: medians only
        return f"{size[top][key] / size[bottom][key]:.2f}"
    ratios = sorted(a[key] / b[key] for a, b in zip(runs[top], runs[bottom], strict=True))
    middle = f"{statistics.median(ratios):.2f}"
    return middle if len(ratios) == 1 else f"{middle} ({ratios[0]:.2f}-{ratios[-1]:.2f})"


def markdown(out: dict[str, Any]) -> str:
    sizes = list(out["sizes"])
    lines = [f"Run {out['started_at']} → {out['finished_at']}, rounds: {out['rounds']} "
             "(medians; single runs when rounds is 1).", "",
             "| set | events | files | " + " | ".join(f"{s} wall s / CPU s / peak MB" for s in STEPS) + " |",
             "|---|---|---|" + "---|" * len(STEPS)]
    for label in sizes:
        size = out["sizes"][label]
        cells = [f"{size[s]['wall_s']:.1f} / {size[s]['cpu_s']:.1f} / {size[s]['maxrss_mb']:.0f}" for s in STEPS]
        lines.append(f"| {label} | {size['events']:,} | {size['files']:,} | " + " | ".join(cells) + " |")
    lines += ["", "Growth from one size to the next (the data grows 10×):", "",
              "| from → to | " + " | ".join(f"{s} CPU × / peak MB ×" for s in STEPS) + " |",
              "|---|" + "---|" * len(STEPS)]
    for before, after in zip(sizes, sizes[1:], strict=False):
        a, b = out["sizes"][before], out["sizes"][after]
        cells = [f"{b[s]['cpu_s'] / a[s]['cpu_s']:.2f} / {b[s]['maxrss_mb'] / a[s]['maxrss_mb']:.2f}" for s in STEPS]
        lines.append(f"| {before} → {after} | " + " | ".join(cells) + " |")
    lines += ["", "Ingest / floor (the targets: <= 2 at organization shape, <= 2.5 on tiny files):", "",
              "| set | events per file | wall | CPU |", "|---|---|---|---|"]
    for label in sizes:
        size = out["sizes"][label]
        lines.append(f"| {label} | {size['events'] / size['files']:.1f} | "
                     f"{_in_round(size, 'ingest', 'floor', 'wall_s')} | "
                     f"{_in_round(size, 'ingest', 'floor', 'cpu_s')} |")
    lines += ["", "Findings / ingest (the target at 1M in one batch: <= 1):", "",
              "| set | findings per query, wall | CPU | shared copy, wall | CPU |", "|---|---|---|---|---|"]
    for label in sizes:
        size = out["sizes"][label]
        lines.append(f"| {label} | {_in_round(size, 'findings', 'ingest', 'wall_s')} | "
                     f"{_in_round(size, 'findings', 'ingest', 'cpu_s')} | "
                     f"{_in_round(size, 'findings_shared', 'ingest', 'wall_s')} | "
                     f"{_in_round(size, 'findings_shared', 'ingest', 'cpu_s')} |")
    lines += ["", f"Machine: {out['machine']}", ""]
    return "\n".join(lines)


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(out["sizes"])
    events = [out["sizes"][s]["events"] for s in sizes]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name in STEPS:
        left.plot(events, [out["sizes"][s][name]["cpu_s"] for s in sizes], marker="o", label=name)
        right.plot(events, [out["sizes"][s][name]["maxrss_mb"] for s in sizes], marker="o", label=name)
    for axis, title, unit in ((left, "CPU seconds", "s"), (right, "peak RSS", "MB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("events (organization shape)")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    right.axhline(1024, color="grey", linestyle="--", linewidth=1)
    right.axhline(2048, color="grey", linestyle=":", linewidth=1)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    from run import snapshot_code

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["org-100k", "org-1m", "org-10m"],
                        choices=sorted(datasets.ORG_SIZES))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--once", nargs="*", default=["org-10m"],
                        help="sizes run a single round whatever --rounds says (org-10m: ~15 minutes a round)")
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + "-scale"
    env, code = snapshot_code(stamp)
    home = datasets.DATA_DIR / f"home-{stamp}"
    env["TRAILBOOK_HOME"] = str(home)
    shutil.rmtree(home, ignore_errors=True)
    once = [label for label in args.sizes if label in args.once]
    rounds = f"{args.rounds}" + (f" (1 for {', '.join(once)})" if once and args.rounds != 1 else "")
    out: dict[str, Any] = {"started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"), "rounds": rounds,
                           "machine": {**machine(), "trailbook_code": code}, "sizes": {}}
    for label in args.sizes:
        data = datasets.ensure(label, log=log)
        facts = datasets.describe(data)
        store = datasets.DATA_DIR / f"store-scale-{label}"
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in STEPS}
        warm_page_cache(data)
        for number in range(1 if label in args.once else args.rounds):
            # The floor and ingest read the same files: the first of them must not pay for a cold
            # page cache alone, so their order alternates between rounds.
            order = STEPS if number % 2 == 0 else ("ingest", "floor", *STEPS[2:])
            for name in order:
                runs[name].append(step(name, data, store, env))
                if name == "ingest" and "warm_up" not in out:  # fill the translation cache, untimed
                    out["warm_up"] = step("findings_shared", data, store, env)
                last = runs[name][-1]
                log(f"{label} round {number + 1} {name}: {last['wall_s']:.1f} s wall, {last['cpu_s']:.1f} s CPU, "
                    f"{last['maxrss_mb']:.0f} MB")
        out["sizes"][label] = {
            "events": facts["event_count"], "files": facts["record_files"],
            **{name: {key: statistics.median(r[key] for r in rows) for key in ("wall_s", "cpu_s", "maxrss_mb")}
               for name, rows in runs.items()},
            "runs": runs}
        shutil.rmtree(store, ignore_errors=True)
    out["finished_at"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(out, indent=2) + "\n")
    body = markdown(out)
    (RESULTS / "scale.md").write_text(body)
    plot(out, RESULTS / "scale.png")
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
