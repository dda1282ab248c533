"""Render the summary (JSON facts -> markdown tables) and splice it into benchmarks/README.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

START = "<!-- results:start (written by benchmarks/run.py) -->"
END = "<!-- results:end -->"

LABELS = {
    "floor": "floor: zlib + orjson, 2 processes",
    "pandas": "pandas: json.load -> json_normalize -> concat",
    "ingest": "trailbook ingest (fresh store)",
    "query_store": "query on the store (console_login_without_mfa)",
    "query_raw": "same query on raw json.gz",
    "findings": "findings: every detection on the store",
    "findings_shared": "findings with the shared copy of the window (shared_copy)",
    "duckdb_copy": "peer: DuckDB partitioned COPY, full schema",
}


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _range(stats: dict[str, float] | None, digits: int = 2) -> str:
    if not stats:
        return "–"
    return f"{stats['median']:.{digits}f} ({stats['min']:.{digits}f}–{stats['max']:.{digits}f})"


def markdown(summary: dict[str, Any]) -> str:
    lines: list[str] = []
    cfg = summary["config"]
    lines.append(f"Run {summary['started_at']} → {summary['finished_at']} "
                 f"({summary['minutes']:.1f} min), rounds: {cfg['rounds']}, pandas rounds: {cfg['pandas_rounds']}, "
                 f"query: `{cfg['query']}`.")
    lines.append("")
    lines.append("### Targets (per-round ratios: median (min–max))")
    lines.append("")
    lines.append("| target | size | want | measured | same ratio in process CPU s | verdict |")
    lines.append("|---|---|---|---|---|---|")
    for row in summary["targets"]:
        shown = _range(row["ratio"]) if row.get("ratio") else row.get("value", "–")
        note = f" — {row['note']}" if row.get("note") else ""
        lines.append(f"| {row['target']}{note} | {row['size']} | {row['want']} | {shown} | "
                     f"{_range(row.get('cpu_ratio'))} | **{row['verdict']}** |")
    for size, facts in summary["sizes"].items():
        data = facts["dataset"]
        lines.append("")
        lines.append(f"### {size}: {data['event_count']:,} events in {data['record_files']:,} files "
                     f"({data['bytes_compressed'] / 1e6:.0f} MB gz, "
                     f"{(data['bytes_uncompressed_manifest'] or 0) / 1e9:.2f} GB uncompressed)")
        lines.append("")
        lines.append("| approach | runs | in-process s, median (min–max) | process wall s | process CPU s "
                     "| peak RSS MB, median (max) | load avg 1m |")
        lines.append("|---|---|---|---|---|---|---|")
        for name, stats in facts["approaches"].items():
            timing = stats.get("phase_s")
            extra = ""
            if "query_s" in stats:
                extra = f"; query only {_range(stats['query_s'])}"
            rss = stats.get("maxrss_mb")
            lines.append(
                f"| {LABELS.get(name, name)} | {timing['n'] if timing else 0} | {_range(timing)}{extra} | "
                f"{_num(stats.get('wall_s', {}).get('median'))} | {_num(stats.get('cpu_s', {}).get('median'))} | "
                f"{_num(rss['median'], 0) if rss else '–'} ({_num(rss['max'], 0) if rss else '–'}) | "
                f"{_num(stats.get('loadavg_1m_before', {}).get('median'), 1)} |")
        checks = facts.get("checks", [])
        if checks:
            lines.append("")
            lines += [f"- check: {c}" for c in checks]
        failures = facts.get("failures", [])
        if failures:
            lines.append("")
            lines += [f"- failed run: {f}" for f in failures]
    machine = summary["machine"]
    lines.append("")
    lines.append(f"Machine: {machine.get('cpu_model', '?')}, {machine.get('cpus_usable')} usable CPUs, "
                 f"{machine.get('mem_total_gb')} GB RAM; {machine.get('platform')}; Python {machine.get('python')}; "
                 + ", ".join(f"{k} {v}" for k, v in machine.get("versions", {}).items())
                 + f"; trailbook commit {machine.get('git_commit')}"
                 + (" (+ uncommitted changes in lib/ or queries/)" if machine.get("git_lib_dirty") else "")
                 + f"; code snapshot sha256 {machine.get('trailbook_code', {}).get('sha256')}"
                 + f" (store.py {machine.get('trailbook_code', {}).get('store_py_sha256')}).")
    return "\n".join(lines) + "\n"


def splice_readme(readme: Path, body: str) -> bool:
    """Replace the results section of README.md; False when the markers are missing."""
    text = readme.read_text()
    if START not in text or END not in text:
        return False
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + START + "\n\n" + body + "\n" + END + tail)
    return True
