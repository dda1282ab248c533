"""Run one approach in a fresh process and measure it from outside: wall time, CPU, peak RSS.

`os.wait4` returns the rusage of exactly that child (and of the grandchildren it waited for),
so each run's `ru_maxrss` is its own peak, unlike `RUSAGE_CHILDREN`, which keeps the maximum
over every child this process ever had. On Linux `ru_maxrss` is the peak of the largest single
process in the tree (not a sum), which matters only for the 2-process floor.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

RESULT_PREFIX = "RESULT "


def run_child(argv: list[str], *, timeout_s: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run argv; return outside measurements plus the child's `RESULT {json}` line."""
    load_before = os.getloadavg()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, start_new_session=True)
        timed_out = threading.Event()

        def kill() -> None:  # the whole session, so pool workers die too
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; keep Popen consistent
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()

    result: dict[str, Any] | None = None
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX):])
    error = None
    if timed_out.is_set():
        error = f"timed out after {timeout_s:.0f} s"
    elif proc.returncode != 0:
        error = f"exit code {proc.returncode}: {_tail(stderr)}"
    elif result is None:
        error = f"no RESULT line in the output: {_tail(stderr)}"
    elif result.get("error"):
        error = result["error"]
    return {
        "ok": error is None,
        "error": error,
        "wall_s": wall,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "maxrss_mb": usage.ru_maxrss / 1024,  # Linux reports KiB
        "loadavg_1m_before": load_before[0],
        "result": result or {},
    }


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def emit(result: dict[str, Any]) -> None:
    """The child's side: print its one result line (the parent ignores everything else)."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus_online": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
    }
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["mem_total_gb"] = round(int(line.split()[1]) / 1024**2, 1)
    versions = {}
    for name in ("duckdb", "pandas", "pyarrow", "orjson", "numpy", "sqlglot"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "?")
        except ImportError:
            versions[name] = None
    info["versions"] = versions
    try:
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
            cwd=Path(__file__).resolve().parent, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lib", "queries"], capture_output=True,
                               text=True, cwd=Path(__file__).resolve().parent).stdout.strip()
        info["git_lib_dirty"] = bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        info["git_commit"] = None
    return info
