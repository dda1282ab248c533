"""Scheduled reports: run notebooks headlessly with papermill and publish a verifiable run directory.

    result = run_report("all", engine="local", start="2026-10-22T00:00:00Z", end="2026-10-29T00:00:00Z",
                        out_dir="reports/", fail_on="high")
    sys.exit(result.exit_code)

A run writes `out_dir/<YYYY-MM-DDTHHMMZ>/` (a suffix -2, -3… if that minute is taken) with,
for each notebook, the executed `.ipynb` (papermill's metadata kept) and a self-contained
`.html` (code hidden, plots inline, nothing loaded from the network); `findings.jsonl` and
`findings.csv` (every finding, shared columns, plus `report`); `index.html`;
`manifest.json` (version, catalog revision and hash, parameters, every query as run with
its statistics, times, SHA-256 of every file); and `SHA256SUMS` (`sha256sum -c` format,
covering manifest.json too). The directory is built under a hidden temporary name and
renamed when complete, so a final name never holds a half-written run.

Findings and evidence are read back from the executed notebooks' outputs, where
`trailbook.notebook.show_findings` / `show_evidence` put them under trailbook's MIME types.

Parameters are checked against each notebook's parameters cell before anything runs.
Shared values (engine, start, end, and any other name) go to every notebook that declares
them; a name no selected notebook declares is an error, as is a notebook that does not
declare engine/start/end, or one whose parameter defaults to None and is not given.

Every file is scanned for secret access keys and session tokens before publishing; a hit
refuses the whole run (the temporary directory is deleted) and exits EXIT_FAILED.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__, engines, paths, sources
from . import catalog as C
from . import findings as F
from . import params as P
from .contract import EVIDENCE_MIME

# Exit codes of `trailbook report` (and ReportResult.exit_code).
EXIT_OK = 0  # every notebook ran; no findings at or above --fail-on
EXIT_FAILED = 1  # a notebook or query failed, or the output held a secret and was not published
EXIT_USAGE = 2  # bad parameters or notebook names; nothing ran
EXIT_FINDINGS = 3  # every notebook ran, and findings at or above --fail-on exist

SHARED_REQUIRED = ("engine", "start", "end")
# Path parameters are made absolute against the caller's directory, so the record names exact files.
PATH_PARAMETERS = ("source", "store", "config")
KERNEL_NAME = "python3"
RUN_STAMP_FORMAT = "%Y-%m-%dT%H%MZ"


class ReportUsageError(ValueError):
    """The report was asked for something invalid; nothing ran. Exit with `exit_code`."""

    exit_code = EXIT_USAGE


# --- planning: notebooks and their parameters --------------------------------------------------

@dataclass
class NotebookPlan:
    name: str
    path: Path
    declared: dict[str, dict[str, Any]]
    parameters: dict[str, Any]


@dataclass
class ReportPlan:
    notebooks: list[NotebookPlan]
    notebooks_dir: Path
    engine: str
    start: str
    end: str
    shared: dict[str, Any]
    fail_on: str | None
    cell_timeout: int
    jobs: int


def _default_notebooks_dir() -> Path:
    return paths.notebooks_dir()


def _select(notebooks: str | Sequence[str], folder: Path) -> list[Path]:
    available = {p.stem: p for p in sorted(folder.glob("*.ipynb"))}
    names = [notebooks] if isinstance(notebooks, str) else list(notebooks)
    if not names or names == ["all"]:
        if not available:
            raise ReportUsageError(f"no notebooks in {folder}")
        return list(available.values())
    unknown = [n for n in names if Path(n).stem not in available]
    if unknown:
        raise ReportUsageError(f"unknown notebook(s) {unknown}; available in {folder}: {sorted(available)}")
    return [available[Path(n).stem] for n in dict.fromkeys(names)]


def _default_value(spec: Mapping[str, Any]) -> Any:
    """The parameters cell's default as a Python value (papermill gives its source text)."""
    try:
        return ast.literal_eval(str(spec.get("default")))
    except (ValueError, SyntaxError):
        return None  # an expression: no type to check against


def _coerce_like(default: Any, value: Any, what: str) -> Any:
    """Check `value` against the kind of the parameter's default; convert text where unambiguous."""
    if default is None or value is None:
        return value
    try:
        if isinstance(default, bool):
            return P.coerce("bool", value, what)
        if isinstance(default, int):
            return P.coerce("int", value, what)
        if isinstance(default, float):
            return P.coerce("float", value, what)
    except P.ParameterError as exc:
        raise ReportUsageError(str(exc)) from None
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ReportUsageError(f"{what}: expected text, got {type(value).__name__} {value!r}")
        return value
    if isinstance(default, (list, tuple)):
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)):
            raise ReportUsageError(f"{what}: expected a list, got {type(value).__name__} {value!r}")
        return list(value)
    if isinstance(default, dict) and not isinstance(value, dict):
        raise ReportUsageError(f"{what}: expected a mapping, got {type(value).__name__} {value!r}")
    return value


def _load_params_file(path: str | Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A YAML/JSON mapping of parameter names to values, with an optional `notebooks: {name: {...}}` section."""
    import yaml

    file = Path(path).expanduser()
    if not file.is_file():
        raise ReportUsageError(f"parameters file {file} does not exist")
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ReportUsageError(f"parameters file {file} is not valid YAML/JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise ReportUsageError(f"parameters file {file} must hold a mapping of parameter names to values")
    per_notebook = loaded.pop("notebooks", None) or {}
    if not isinstance(per_notebook, dict) or not all(isinstance(v, dict) for v in per_notebook.values()):
        raise ReportUsageError(f"parameters file {file}: `notebooks` must map notebook names to mappings")
    return loaded, per_notebook


def plan_report(
    notebooks: str | Sequence[str] = "all",
    *,
    engine: str,
    start: Any,
    end: Any,
    params: Mapping[str, Any] | None = None,
    params_file: str | Path | None = None,
    fail_on: str | None = None,
    cell_timeout: int = 600,
    jobs: int | None = None,
    notebooks_dir: str | Path | None = None,
) -> ReportPlan:
    """Resolve notebooks and validate every parameter against their parameters cells. Runs nothing."""
    import papermill

    folder = (Path(notebooks_dir) if notebooks_dir else _default_notebooks_dir()).expanduser().resolve()
    if not folder.is_dir():
        raise ReportUsageError(f"notebooks folder {folder} does not exist")
    if engine not in engines.names():
        raise ReportUsageError(f"engine must be one of {list(engines.names())}, not {engine!r}")
    try:
        start_ts, end_ts = P.parse_timestamp(start, "start"), P.parse_timestamp(end, "end")
    except P.ParameterError as exc:
        raise ReportUsageError(str(exc)) from None
    if not start_ts < end_ts:
        raise ReportUsageError(f"start {P.iso(start_ts)} is not before end {P.iso(end_ts)}")
    if fail_on is not None and fail_on not in C.SEVERITIES:
        raise ReportUsageError(f"--fail-on must be one of {list(C.SEVERITIES)}, not {fail_on!r}")
    if not isinstance(cell_timeout, int) or cell_timeout <= 0:
        raise ReportUsageError(f"cell timeout must be a positive number of seconds, not {cell_timeout!r}")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ReportUsageError(f"jobs must be a positive integer, not {jobs!r}")

    file_shared, file_per_notebook = _load_params_file(params_file) if params_file else ({}, {})
    given = {**file_shared, **dict(params or {})}
    # Relative times ("now-7d") are fixed once here, so every notebook and the record see one window.
    window = {"engine": engine, "start": P.iso(start_ts), "end": P.iso(end_ts)}
    for name, value in window.items():
        if name in given and str(given.pop(name)) != value:
            raise ReportUsageError(f"{name} is given twice with different values; pass it only as --{name}")
    for name in PATH_PARAMETERS:
        value = given.get(name)
        if isinstance(value, str):
            given[name] = sources.absolute(value)
    shared = {**window, **given}

    paths = _select(notebooks, folder)
    names = [p.stem for p in paths]
    unknown_sections = sorted(set(file_per_notebook) - {p.stem for p in folder.glob("*.ipynb")})
    if unknown_sections:
        raise ReportUsageError(f"parameters file names unknown notebook(s) {unknown_sections}")

    plans: list[NotebookPlan] = []
    declared_anywhere: set[str] = set()
    problems: list[str] = []
    for path in paths:
        try:
            declared = dict(papermill.inspect_notebook(str(path)))
        except Exception as exc:  # papermill raises its own errors for unreadable notebooks
            raise ReportUsageError(f"cannot read the parameters cell of {path}: {exc}") from None
        declared_anywhere |= set(declared)
        own = file_per_notebook.get(path.stem, {})
        for name in sorted(set(own) - set(declared)):
            problems.append(f"{path.stem}: unknown parameter {name!r} (declares: {', '.join(sorted(declared))})")
        for name in SHARED_REQUIRED:
            if name not in declared:
                problems.append(f"{path.stem}: its parameters cell does not declare {name!r}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in own:
                raw = own[name]
            elif name in shared:
                raw = shared[name]
            elif _default_value(spec) is None and str(spec.get("default")).strip() == "None":
                problems.append(f"{path.stem}: parameter {name!r} has no default and was not given")
                continue
            else:
                continue
            try:
                values[name] = _coerce_like(_default_value(spec), raw, f"{path.stem}: {name}")
            except ReportUsageError as exc:
                problems.append(str(exc))
        plans.append(NotebookPlan(path.stem, path, declared, values))
    for name in sorted(set(given) - declared_anywhere):
        problems.append(f"unknown parameter {name!r}: none of {names} declares it")
    if problems:
        raise ReportUsageError("invalid report parameters:\n  " + "\n  ".join(problems))
    chosen_jobs = max(1, min(jobs or os.cpu_count() or 1, len(plans)))
    return ReportPlan(plans, folder, engine, window["start"], window["end"], shared, fail_on, cell_timeout,
                      chosen_jobs)


# --- one notebook, in its own worker process -----------------------------------------------------

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


def execute_notebook(task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one notebook with papermill, then write its .ipynb and .html into the run's work dir.

    Runs in a worker process (the kernel is a further process), so it returns plain data.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from . import html_render
    from .redact import Redactor

    os.environ["TRAILBOOK_NOTEBOOKS"] = str(task["notebooks_dir"])  # notebook.begin reads the declared cell there
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    name, work = task["name"], Path(task["work_dir"])
    ipynb_path, html_path = work / f"{name}.ipynb", work / f"{name}.html"
    started, clock = _now(), time.perf_counter()
    status, error = "ok", None
    try:
        papermill.execute_notebook(
            str(task["path"]), str(ipynb_path), parameters=dict(task["parameters"]), kernel_name=KERNEL_NAME,
            execution_timeout=task["cell_timeout"], progress_bar=False, log_output=False,
        )
    except PapermillExecutionError as exc:
        status, error = "failed", {"ename": exc.ename, "evalue": exc.evalue, "cell": exc.cell_index}
    except Exception as exc:  # timeout, dead kernel, unreadable notebook: still report it
        status, error = "failed", {"ename": type(exc).__name__, "evalue": str(exc), "cell": None}
    ended = _now()

    if ipynb_path.exists():
        nb = nbformat.read(ipynb_path, as_version=4)
    else:  # papermill failed before writing anything: publish the input with the error on top
        nb = nbformat.read(task["path"], as_version=4)
    if status == "ok":
        found = _error_of(nb)
        if found:
            status, error = "failed", found
    if status == "failed" and not _error_of(nb):
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(
            f"**This report failed:** `{error['ename']}`: {error['evalue']}"))
    evidence = _payloads(nb, EVIDENCE_MIME)
    if status == "ok" and not evidence:
        status, error = "failed", {"ename": "NoEvidence", "evalue": "the notebook did not end with "
                                   "tb.notebook.show_evidence(session), so its queries are not on record",
                                   "cell": None}
    if task.get("redact_key"):
        redactor = Redactor(bytes.fromhex(task["redact_key"]))
        redactor.notebook(nb)
        error = redactor.value(error)
    nbformat.write(nb, ipynb_path)
    title = html_render.notebook_title(nb, name)
    html_path.write_text(html_render.notebook_html(nb, title), encoding="utf-8")

    findings = [record for payload in _payloads(nb, F.FINDINGS_MIME) for record in payload]
    return {
        "name": name, "title": title, "status": status, "error": error,
        "started_at": started, "ended_at": ended, "duration_s": round(time.perf_counter() - clock, 3),
        "parameters": nb.metadata.get("papermill", {}).get("parameters", {}),
        "ipynb": ipynb_path.name, "html": html_path.name,
        "findings": findings, "evidence": evidence[-1] if evidence else None,
    }


# --- the run ---------------------------------------------------------------------------------------

@dataclass
class NotebookResult:
    name: str
    title: str
    status: str  # ok | failed
    error: dict[str, Any] | None
    started_at: str
    ended_at: str
    duration_s: float
    parameters: dict[str, Any]
    ipynb: str
    html: str
    findings: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    failed_queries: list[str] = field(default_factory=list)
    # Every parameter as the notebook ran with it (its defaults included), from its evidence output.
    effective_parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReportResult:
    exit_code: int
    run_dir: Path | None  # None when the run was refused (a secret in the output)
    index_path: Path | None
    manifest_path: Path | None
    notebooks: list[NotebookResult]
    findings: pd.DataFrame
    secret_hits: list[Any] = field(default_factory=list)

    @property
    def failed(self) -> list[NotebookResult]:
        return [n for n in self.notebooks if n.status != "ok"]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def catalog_revision(root: Path | None = None) -> dict[str, Any]:
    """The query catalog's identity: a hash of every .sql file, and the git commit when there is one."""
    root = Path(root or paths.queries_dir())
    digest = hashlib.sha256()
    files = sorted(root.rglob("*.sql"))
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    out: dict[str, Any] = {"path": str(root), "queries": len(files), "content_sha256": digest.hexdigest(),
                           "git_revision": None, "git_dirty": None}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode == 0:
            out["git_revision"] = head.stdout.strip()
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "."],
                                   capture_output=True, text=True, timeout=10)
            out["git_dirty"] = bool(dirty.stdout.strip()) if dirty.returncode == 0 else None
    return out


def _prepare_local_store(plan: ReportPlan, progress: bool) -> dict[str, Any] | None:
    """Prepare the local store once, before the notebooks start (`sources.prepare`), and give every
    notebook its path: they open it read-only, which many processes may do together."""
    if plan.engine != "local":
        return None
    takers = [nb for nb in plan.notebooks if {"source", "store"} <= set(nb.declared)]
    source = next((nb.parameters.get("source", _default_value(nb.declared["source"])) for nb in takers), None)
    store = next((nb.parameters.get("store", _default_value(nb.declared["store"])) for nb in takers), None)
    if not takers or not source:
        return None

    prepared = sources.prepare(source, store or None, progress=progress)
    for nb in takers:
        nb.parameters["source"], nb.parameters["store"] = "", str(prepared.store)
    return prepared.to_dict()


def _run_one_in_subprocess(task: dict[str, Any], scratch: Path) -> dict[str, Any]:
    """One notebook in a fresh interpreter (`python -m trailbook.reports TASK.json`).

    A subprocess rather than a multiprocessing pool: no `if __name__ == "__main__"` needed in
    callers' scripts, no fork-with-threads hazards, and a crash stays in its own process.
    """
    task_file = scratch / f"{task['name']}.task.json"
    result_file = scratch / f"{task['name']}.result.json"
    log_file = scratch / f"{task['name']}.log"
    task_file.write_text(json.dumps({**task, "result_file": str(result_file)}, default=str), encoding="utf-8")
    with open(log_file, "wb") as log:
        code = subprocess.run([sys.executable, "-m", "trailbook.reports", str(task_file)], stdout=log,
                              stderr=subprocess.STDOUT, check=False).returncode
    if code == 0 and result_file.exists():
        return json.loads(result_file.read_text(encoding="utf-8"))
    tail = log_file.read_text(encoding="utf-8", errors="replace")[-2000:]
    return {"name": task["name"], "title": task["name"], "status": "failed",
            "error": {"ename": "WorkerFailed", "evalue": f"report worker exited with {code}: {tail}", "cell": None},
            "started_at": None, "ended_at": _now(), "duration_s": 0.0, "parameters": task["parameters"],
            "ipynb": "", "html": "", "findings": [], "evidence": None}


def _run_all(tasks: list[dict[str, Any]], jobs: int, progress: bool) -> list[dict[str, Any]]:
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

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


def _final_dir(out_dir: Path, stamp: str) -> Path:
    candidate, n = out_dir / stamp, 1
    while candidate.exists():
        n += 1
        candidate = out_dir / f"{stamp}-{n}"
    return candidate


def _query_record(run: Mapping[str, Any], notebook: str) -> dict[str, Any]:
    stats = run.get("stats") or {}
    return {
        "notebook": notebook, "query": run.get("query"), "engine": run.get("engine"), "status": run.get("status"),
        "execution_id": stats.get("execution_id"), "bytes_scanned": stats.get("bytes_scanned"),
        "events_scanned": stats.get("events_scanned"), "cost_usd": stats.get("cost_usd"),
        "engine_ms": stats.get("engine_ms"), "rows": run.get("rows"), "started_at": run.get("started_at"),
        "ended_at": run.get("ended_at"), "parameters": run.get("parameters"), "sql": run.get("sql"),
        "local_sql": stats.get("local_sql"), "error": run.get("error"),
    }


def run_report(
    notebooks: str | Sequence[str] = "all",
    *,
    engine: str,
    start: Any,
    end: Any,
    params: Mapping[str, Any] | None = None,
    params_file: str | Path | None = None,
    out_dir: str | Path,
    fail_on: str | None = None,
    redact: bool = False,
    jobs: int | None = None,
    cell_timeout: int = 600,
    progress: bool = True,
    notebooks_dir: str | Path | None = None,
) -> ReportResult:
    """Run notebooks and publish one dated run directory under out_dir. Raises ReportUsageError on bad input."""
    from . import html_render
    from .redact import Redactor, scan_files

    plan = plan_report(notebooks, engine=engine, start=start, end=end, params=params, params_file=params_file,
                       fail_on=fail_on, cell_timeout=cell_timeout, jobs=jobs, notebooks_dir=notebooks_dir)
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    started_at = dt.datetime.now(dt.timezone.utc)
    stamp = started_at.strftime(RUN_STAMP_FORMAT)
    work = out / f".{stamp}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    try:
        prepared, prepare_error = None, None
        try:
            prepared = _prepare_local_store(plan, progress)
        except Exception as exc:  # the notebooks will meet the same problem and report it in their pages
            prepare_error = f"{type(exc).__name__}: {exc}"
        redactor, key_source = Redactor.from_env() if redact else (None, None)
        tasks = [{"name": nb.name, "path": str(nb.path), "parameters": nb.parameters,
                  "notebooks_dir": str(plan.notebooks_dir), "work_dir": str(work), "cell_timeout": plan.cell_timeout,
                  "redact_key": redactor.key_hex if redactor else None} for nb in plan.notebooks]
        raw = _run_all(tasks, plan.jobs, progress)

        results, frames, queries = [], [], []
        for item in raw:
            frame = F.normalize(pd.DataFrame(item["findings"])) if item["findings"] else F.empty()
            frame = frame.drop_duplicates(subset=["detection", "first_seen", "last_seen", "principal_arn",
                                                  "access_key_id", "source_ip", "event_count"]) if len(frame) else frame
            frame = frame.assign(report=item["name"])
            frames.append(frame)
            runs = (item["evidence"] or {}).get("queries", [])
            queries.extend(_query_record(run, item["name"]) for run in runs)
            failed_queries = [run.get("query") for run in runs if run.get("status") != "ok"]
            result = NotebookResult(
                name=item["name"], title=item["title"], status=item["status"], error=item["error"],
                started_at=item["started_at"], ended_at=item["ended_at"], duration_s=item["duration_s"],
                parameters=item["parameters"], ipynb=item["ipynb"], html=item["html"], findings=len(frame),
                by_severity=F.counts_by_severity(frame), failed_queries=failed_queries,
                effective_parameters=dict((item["evidence"] or {}).get("parameters") or {}))
            if result.status == "ok" and failed_queries:
                result.status = "failed"
                result.error = {"ename": "QueryFailed", "evalue": f"queries failed: {failed_queries}", "cell": None}
            results.append(result)
        findings = F.concat(frames) if any(len(f) for f in frames) else F.empty().assign(report=pd.Series(dtype=object))
        F.write_jsonl(findings, work / "findings.jsonl")
        F.write_csv(findings, work / "findings.csv")

        failed = [r for r in results if r.status != "ok"]
        over = F.at_least(findings, fail_on) if fail_on and len(findings) else findings.iloc[0:0]
        exit_code = EXIT_FAILED if failed else (EXIT_FINDINGS if fail_on and len(over) else EXIT_OK)

        shared = redactor.value(plan.shared) if redactor else plan.shared
        window = (plan.start, plan.end)
        index = html_render.index_html(
            title=f"trailbook report {stamp}", run_id=stamp, engine=plan.engine, window=window,
            reports=[{"name": r.name, "title": r.title, "status": r.status, "html": r.html,
                      "by_severity": r.by_severity, "findings": r.findings, "duration_s": r.duration_s,
                      "error": f"{r.error['ename']}: {r.error['evalue']}" if r.error else None} for r in results],
            severities=list(reversed(C.SEVERITIES)), findings=F.to_records(findings))
        (work / "index.html").write_text(index, encoding="utf-8")

        manifest = {
            "trailbook_version": __version__,
            "run_id": stamp,
            "created_at": started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "finished_at": _now(),
            "engine": plan.engine,
            "window": {"start": plan.start, "end": plan.end},
            "catalog": catalog_revision(),
            "parameters": shared,
            "fail_on": fail_on,
            "exit_code": exit_code,
            "exit_codes": {"ok": EXIT_OK, "failed": EXIT_FAILED, "usage": EXIT_USAGE, "findings": EXIT_FINDINGS},
            "redaction": {"enabled": redact, "key": key_source},
            "local_store": (redactor.value(prepared) if redactor and prepared else prepared),
            "local_store_error": prepare_error,
            "python": sys.version.split()[0],
            "notebooks": [asdict(r) for r in results],
            "findings": {"total": len(findings), "by_severity": F.counts_by_severity(findings),
                         "at_or_above_fail_on": len(over) if fail_on else None},
            "queries": queries,
            "files": {},
        }
        files = sorted(p for p in work.rglob("*") if p.is_file())
        manifest["files"] = {str(p.relative_to(work)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                             for p in files}
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str) + "\n", encoding="utf-8")

        hits = scan_files(work)
        if hits:
            shutil.rmtree(work, ignore_errors=True)
            print("trailbook report: refusing to publish, secret-looking values in the output:\n  "
                  + "\n  ".join(map(str, hits)), file=sys.stderr)
            return ReportResult(EXIT_FAILED, None, None, None, results, findings, hits)

        sums = [f"{sha256_file(p)}  {p.relative_to(work)}" for p in sorted(work.rglob("*")) if p.is_file()]
        (work / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
        final = _final_dir(out, stamp)
        os.rename(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return ReportResult(exit_code, final, final / "index.html", final / "manifest.json", results, findings)


def verify_run(run_dir: str | Path) -> list[str]:
    """Files whose SHA-256 no longer matches manifest.json (or that are missing); [] when intact."""
    root = Path(run_dir)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    problems = []
    for name, entry in manifest["files"].items():
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{name}: changed")
    return problems


def iter_runs(out_dir: str | Path) -> Iterable[Path]:
    """Published run directories under out_dir, oldest first (temporary ones are hidden and skipped)."""
    root = Path(out_dir)
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "manifest.json").is_file())


def _worker_main(task_file: str) -> int:
    task = json.loads(Path(task_file).read_text(encoding="utf-8"))
    result = execute_notebook(task)
    Path(task["result_file"]).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1]))
