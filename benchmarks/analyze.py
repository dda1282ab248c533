"""Turn raw run records into medians, paired per-round ratios and PASS/FAIL per target.

A record is one approach run in one fresh process: size, round, approach, `phase_s` (in-process
time of the measured work), `wall_s` (the whole process), `maxrss_mb`, load average, result.
Ratios are computed inside a round (both sides measured minutes apart) and summarised by their
median and min-max, which is robust to a noisy shared machine.
"""

from __future__ import annotations

import operator
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

GB_MB = 1024.0
TRAILBOOK = ("ingest", "query_store", "findings", "findings_shared")


@dataclass(frozen=True)
class Target:
    name: str
    numerator: tuple[str, str]    # (approach, metric)
    denominator: tuple[str, str]
    op: str                       # "<=" or ">="
    threshold: float
    sizes: tuple[str, ...]        # where the target is judged (other sizes are shown for scale)
    note: str = ""
    cpu_too: bool = False         # also show the ratio of whole-process CPU seconds (less load-sensitive)


TARGETS = (
    Target("ingest within 1.5x the floor (time)", ("ingest", "phase_s"), ("floor", "phase_s"), "<=", 1.5,
           ("100k", "1m"), cpu_too=True),
    Target("ingest >= 10x faster than pandas (time)", ("pandas", "phase_s"), ("ingest", "phase_s"), ">=", 10.0,
           ("100k", "1m"), "ratio = pandas / ingest", cpu_too=True),
    Target("ingest peak RSS <= 1/5 of pandas", ("ingest", "maxrss_mb"), ("pandas", "maxrss_mb"), "<=", 0.2,
           ("100k", "1m")),
    Target("query on store >= 5x faster than on raw files", ("query_raw", "query_s"), ("query_store", "query_s"),
           ">=", 5.0, ("100k", "1m"), "ratio = raw / store, query execution (engine already open)"),
    Target("findings (every detection) <= 2x ingest (time)", ("findings", "phase_s"), ("ingest", "phase_s"),
           "<=", 2.0, ("1m",), cpu_too=True),
    # issue 15
    Target("findings (every detection) <= 1x ingest (time)", ("findings", "phase_s"), ("ingest", "phase_s"),
           "<=", 1.0, ("1m",), cpu_too=True),
    Target("ingest within 2x the floor, organization shape (time)", ("ingest", "phase_s"), ("floor", "phase_s"),
           "<=", 2.0, ("org-1m",), cpu_too=True),
    Target("ingest within 2.5x the floor, tiny files (time)", ("ingest", "phase_s"), ("floor", "phase_s"),
           "<=", 2.5, ("100k",), cpu_too=True),
    Target("ingest no slower than DuckDB's partitioned COPY (time)", ("ingest", "phase_s"),
           ("duckdb_copy", "phase_s"), "<=", 1.0, ("org-1m",), cpu_too=True),
    Target("findings with the shared copy vs per query (time)", ("findings_shared", "phase_s"),
           ("findings", "phase_s"), "<=", 1.0, (), "below 1: the copy pays", cpu_too=True),
)

_OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}


def metric(record: dict[str, Any], name: str) -> float | None:
    """A number from a run: outside measurements first, then the child's own result."""
    if name == "cpu_s":
        return record["user_s"] + record["sys_s"]
    if name in record:
        return record[name]
    value = record.get("result", {}).get(name)
    return float(value) if isinstance(value, (int, float)) else None


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"n": len(values), "median": statistics.median(values), "min": min(values), "max": max(values)}


def measured(records: list[dict[str, Any]], size: str) -> list[dict[str, Any]]:
    """The runs that count: this size, not warm-up, finished cleanly."""
    return [r for r in records if r["size"] == size and not r["warmup"] and r["ok"]]


def per_approach(records: list[dict[str, Any]], size: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    runs = measured(records, size)
    order = ("floor", "pandas", "ingest", "duckdb_copy", "query_store", "query_raw", "findings", "findings_shared")
    for name in sorted({r["approach"] for r in runs}, key=lambda a: (order.index(a) if a in order else 99, a)):
        mine = [r for r in runs if r["approach"] == name]
        out[name] = {key: spread([v for v in (metric(r, key) for r in mine) if v is not None])
                     for key in ("phase_s", "query_s", "open_s", "wall_s", "cpu_s", "maxrss_mb",
                                 "loadavg_1m_before")}
        out[name] = {k: v for k, v in out[name].items() if v is not None}
    return out


def paired_ratios(records: list[dict[str, Any]], size: str, target: Target, cpu: bool = False) -> list[float]:
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for r in measured(records, size):
        by_round.setdefault(r["round"], {})[r["approach"]] = r
    ratios = []
    for runs in by_round.values():
        top, bottom = runs.get(target.numerator[0]), runs.get(target.denominator[0])
        if top is None or bottom is None:
            continue
        if cpu:
            a, b = metric(top, "cpu_s"), metric(bottom, "cpu_s")
        else:
            a, b = metric(top, target.numerator[1]), metric(bottom, target.denominator[1])
        if a is not None and b:
            ratios.append(a / b)
    return ratios


def judge(records: list[dict[str, Any]], sizes: list[str]) -> list[dict[str, Any]]:
    """Every target at every size measured: median and range of the per-round ratios, verdict."""
    rows = []
    for target in TARGETS:
        for size in sizes:
            ratios = paired_ratios(records, size, target)
            stats = spread(ratios)
            verdict = None
            if stats and size in target.sizes:
                verdict = "PASS" if _OPS[target.op](stats["median"], target.threshold) else "FAIL"
            cpu = spread(paired_ratios(records, size, target, cpu=True)) if target.cpu_too else None
            rows.append({"target": target.name, "size": size, "want": f"{target.op} {target.threshold:g}",
                         "ratio": stats, "cpu_ratio": cpu,
                         "verdict": verdict or ("n/a" if stats else "not measured"), "note": target.note})
    rows += memory_targets(records, sizes)
    return rows


def memory_targets(records: list[dict[str, Any]], sizes: list[str]) -> list[dict[str, Any]]:
    """Peak RSS of trailbook's steps: < 1 GB at 1M, and growing slower than the data from 100k."""
    rows = []
    medians = {size: per_approach(records, size) for size in sizes}
    if "1m" in sizes:
        peaks = {a: medians["1m"][a]["maxrss_mb"]["median"] for a in TRAILBOOK if a in medians["1m"]}
        if peaks:
            worst = max(peaks, key=peaks.get)
            rows.append({"target": "trailbook peak RSS < 1 GB at 1M", "size": "1m", "want": "< 1024 MB",
                         "ratio": None, "value": f"{peaks[worst]:.0f} MB ({worst})",
                         "verdict": "PASS" if peaks[worst] < GB_MB else "FAIL",
                         "note": ", ".join(f"{a} {v:.0f} MB" for a, v in peaks.items())})
    if "1m" in sizes and "100k" in sizes:
        for approach in TRAILBOOK:
            small = medians["100k"].get(approach, {}).get("maxrss_mb")
            large = medians["1m"].get(approach, {}).get("maxrss_mb")
            if not small or not large:
                continue
            growth = large["median"] / small["median"]
            rows.append({"target": f"{approach} peak RSS grows sublinearly 100k -> 1M", "size": "100k->1m",
                         "want": "< 10x (data grows 10x)", "ratio": None,
                         "value": f"{growth:.2f}x ({small['median']:.0f} -> {large['median']:.0f} MB)",
                         "verdict": "PASS" if growth < 10 else "FAIL", "note": ""})
    return rows
