"""Execute notebooks with papermill, each in its own worker process, and render its page there.

A worker is a fresh interpreter (`python -m trailbook.reports TASK.json`) rather than a
multiprocessing pool: no `if __name__ == "__main__"` needed in callers' scripts, no
fork-with-threads hazards, and a crash stays in its own process.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from .. import findings as F
from ..contract import EVIDENCE_MIME
from ..redact import REDACT_ENV
from .plan import ReportPlan

KERNEL_NAME = "python3"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def tasks_for(plan: ReportPlan, work: Path, redact_key: str | None) -> list[dict[str, Any]]:
    """What each worker needs: plain data, written to a task file."""
    return [{"name": nb.name, "path": str(nb.path), "parameters": nb.parameters,
             "notebooks_dir": str(plan.notebooks_dir), "work_dir": str(work), "cell_timeout": plan.cell_timeout,
             "redact_key": redact_key} for nb in plan.notebooks]


def _error_of(nb: Any) -> dict[str, Any] | None:
    """The first error output of an executed notebook (papermill stops at the first)."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return {"ename": output.get("ename"), "evalue": output.get("evalue"), "cell": index}
    return None


def _payloads(nb: Any, mime: str) -> list[Any]:
    return [output["data"][mime] for cell in nb.cells for output in cell.get("outputs", [])
            if mime in output.get("data", {})]


def _papermill(task: Mapping[str, Any], ipynb_path: Path) -> dict[str, Any] | None:
    """Run the notebook; the error that stopped it, or None."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(task["path"]), str(ipynb_path), parameters=dict(task["parameters"]), kernel_name=KERNEL_NAME,
            execution_timeout=task["cell_timeout"], progress_bar=False, log_output=False,
        )
    except PapermillExecutionError as exc:
        return {"ename": exc.ename, "evalue": exc.evalue, "cell": exc.cell_index}
    except Exception as exc:  # timeout, dead kernel, unreadable notebook: still report it
        return {"ename": type(exc).__name__, "evalue": str(exc), "cell": None}
    return None


def _read_executed(task: Mapping[str, Any], ipynb_path: Path, error: dict[str, Any] | None) -> tuple[Any, Any]:
    """The executed notebook (or the input with the error on top) and its first error."""
    import nbformat

    if ipynb_path.exists():
        nb = nbformat.read(ipynb_path, as_version=4)
    else:  # papermill failed before writing anything: publish the input with the error on top
        nb = nbformat.read(task["path"], as_version=4)
    error = error or _error_of(nb)
    if error and not _error_of(nb):
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(
            f"**This report failed:** `{error['ename']}`: {error['evalue']}"))
    return nb, error


def execute_notebook(task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one notebook with papermill, then write its .ipynb and .html into the run's work dir.

    Runs in a worker process (the kernel is a further process), so it returns plain data.
    """
    import nbformat

    from ..redact import Redactor
    from . import render

    os.environ["TRAILBOOK_NOTEBOOKS"] = str(task["notebooks_dir"])  # notebook.begin reads the declared cell there
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if task.get("redact_key"):  # the kernel pseudonymizes what it shows (trailbook.redact.active)
        os.environ[REDACT_ENV] = task["redact_key"]
    name, work = task["name"], Path(task["work_dir"])
    ipynb_path, html_path = work / f"{name}.ipynb", work / f"{name}.html"
    started, clock = now(), time.perf_counter()
    nb, error = _read_executed(task, ipynb_path, _papermill(task, ipynb_path))
    ended = now()
    if task.get("redact_key"):  # a second pass over what the kernel did not draw: sources, tracebacks
        redactor = Redactor(bytes.fromhex(task["redact_key"]))
        redactor.notebook(nb)
        error = redactor.value(error)
    evidence = _payloads(nb, EVIDENCE_MIME)  # read after redaction: the manifest takes its SQL and parameters
    if not error and not evidence:
        error = {"ename": "NoEvidence", "evalue": "the notebook did not end with "
                 "tb.notebook.show_evidence(session), so its queries are not on record", "cell": None}
    nbformat.write(nb, ipynb_path)
    title = render.notebook_title(nb, name)
    html_path.write_text(render.notebook_html(nb, title), encoding="utf-8")
    findings = [record for payload in _payloads(nb, F.FINDINGS_MIME) for record in payload]
    return {
        "name": name, "title": title, "status": "failed" if error else "ok", "error": error,
        "started_at": started, "ended_at": ended, "duration_s": round(time.perf_counter() - clock, 3),
        "parameters": nb.metadata.get("papermill", {}).get("parameters", {}),
        "ipynb": ipynb_path.name, "html": html_path.name,
        "findings": findings, "evidence": evidence[-1] if evidence else None,
    }


def _run_one_in_subprocess(task: dict[str, Any], scratch: Path) -> dict[str, Any]:
    """One notebook in a fresh interpreter; a worker that dies is reported as a failed notebook."""
    task_file = scratch / f"{task['name']}.task.json"
    result_file = scratch / f"{task['name']}.result.json"
    log_file = scratch / f"{task['name']}.log"
    task_file.write_text(json.dumps({**task, "result_file": str(result_file)}, default=str), encoding="utf-8")
    with open(log_file, "wb") as log:
        code = subprocess.run([sys.executable, "-m", "trailbook.reports", str(task_file)], stdout=log,
                              stderr=subprocess.STDOUT, check=False).returncode
    if code == 0 and result_file.exists():
        result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
        return result
    tail = log_file.read_text(encoding="utf-8", errors="replace")[-2000:]
    return {"name": task["name"], "title": task["name"], "status": "failed",
            "error": {"ename": "WorkerFailed", "evalue": f"report worker exited with {code}: {tail}", "cell": None},
            "started_at": None, "ended_at": now(), "duration_s": 0.0, "parameters": task["parameters"],
            "ipynb": "", "html": "", "findings": [], "evidence": None}


def run_all(tasks: list[dict[str, Any]], jobs: int, progress: bool) -> list[dict[str, Any]]:
    """Every task, `jobs` at once; results in the tasks' order."""
    from tqdm import tqdm

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="trailbook-report-") as scratch, \
            ThreadPoolExecutor(max_workers=jobs) as pool, \
            tqdm(total=len(tasks), desc="notebooks", unit="nb", file=sys.stderr, disable=not progress) as bar:
        futures = [pool.submit(_run_one_in_subprocess, task, Path(scratch)) for task in tasks]
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            bar.set_postfix_str(f"{result['name']}: {result['status']}")
            bar.update(1)
    order = [t["name"] for t in tasks]
    return sorted(results, key=lambda r: order.index(r["name"]))


def worker_main(task_file: str) -> int:
    task = json.loads(Path(task_file).read_text(encoding="utf-8"))
    result = execute_notebook(task)
    Path(task["result_file"]).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0
