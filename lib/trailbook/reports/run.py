"""`run_report`: plan, prepare, execute, collect, render and publish, one step after another."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import catalog as C
from .. import findings as F
from .. import incidents as I
from ..errors import EXIT_FAILED, EXIT_FINDINGS, EXIT_NO_DATA, EXIT_OK
from ..redact import Redactor
from . import execute, publish, render, render_incidents, render_index, secrets
from .checks import check_out_dir
from .collect import NO_DATA, Collected, NotebookResult, collect, concat_findings
from .manifest import build_manifest
from .plan import ReportPlan, ReportUsageError, plan_report
from .prepare import prepare_local_store
from .scope import describe_scope, measure_scopes


@dataclass
class ReportResult:
    exit_code: int
    run_dir: Path | None
    index_path: Path | None
    manifest_path: Path | None
    notebooks: list[NotebookResult]
    findings: pd.DataFrame
    secret_hits: list[Any] = field(default_factory=list)  # credential material masked in the run's files

    @property
    def failed(self) -> list[NotebookResult]:
        return [n for n in self.notebooks if n.status != "ok"]


def _prepare(plan: ReportPlan, progress: bool) -> tuple[Any, str | None]:
    try:
        return prepare_local_store(plan, progress), None
    except Exception as exc:  # the notebooks will meet the same problem and report it in their pages
        return None, f"{type(exc).__name__}: {exc}"


def _exit_code(collected: Collected, findings: pd.DataFrame, fail_on: str | None) -> tuple[int, int | None]:
    """The run's exit code, and how many findings are at or above --fail-on (None without it)."""
    over = len(F.at_least(findings, fail_on)) if fail_on and len(findings) else (0 if fail_on else None)
    if any(r.status == "failed" for r in collected.results):
        return EXIT_FAILED, over
    if any(r.status == NO_DATA for r in collected.results):
        return EXIT_NO_DATA, over  # before findings: part of the run was blind
    return (EXIT_FINDINGS if over else EXIT_OK), over


def _alerts(collected: Collected, credential: pd.DataFrame) -> list[str]:
    """What the index says first: failed reports, reports without data, and credential material by field."""
    alerts = [f"Failed: {r.title} did not complete ({r.error['ename']}: {' '.join(str(r.error['evalue']).split())})"
              + (f"; its page ({r.html}) shows where." if r.html else "; the manifest records the failure.")
              for r in collected.results if r.status == "failed" and r.error]
    alerts += [f"No data: {r.title} saw 0 events in its window and scope. This is not a clean result: "
               "the source, the scope or the window is wrong, or the pipeline is broken."
               for r in collected.results if r.status == NO_DATA]
    return alerts + [f"{row['title']} ({row['event_count']}×, {row['found_by']}; the value is masked)"
                     for row in credential.to_dict(orient="records")]


def _write_findings_and_index(work: Path, plan: ReportPlan, stamp: str, collected: Collected,
                              findings: pd.DataFrame, alerts: list[str], scope: dict[str, Any]) -> None:
    F.write_jsonl(findings, work / "findings.jsonl")
    F.write_csv(findings, work / "findings.csv")
    checks = render_incidents.check_info(C.load_catalog(strict=False))
    correlation = I.correlate(findings, titles={name: c["title"] for name, c in checks.items()})
    I.write_jsonl(correlation, work / "incidents.jsonl")  # hashed with every other file by publish
    index = render_index.index_html(
        title=f"trailbook report {stamp}", run_id=stamp, engine=plan.engine, window=(plan.start, plan.end),
        reports=[{"name": r.name, "title": r.title, "status": r.status, "html": r.html,
                  "by_severity": r.by_severity, "findings": r.findings, "duration_s": r.duration_s,
                  "error": f"{r.error['ename']}: {r.error['evalue']}" if r.error else None}
                 for r in collected.results],
        severities=list(reversed(C.SEVERITIES)), findings=F.to_records(findings), alerts=alerts,
        incidents=[inc.to_dict() for inc in correlation.incidents], checks=checks, scope=scope)
    (work / "index.html").write_text(index, encoding="utf-8")


def _masked_record(plan: ReportPlan, collected: Collected, redactor: Redactor | None,
                   prepared: Any) -> tuple[dict[str, Any], list[Any]]:
    """The parts of the manifest taken from parameters and queries, pseudonymized and masked."""
    record = {"shared": plan.shared, "queries": collected.queries, "local_store": prepared,
              "notebooks": [{"parameters": r.parameters, "effective_parameters": r.effective_parameters,
                             "error": r.error} for r in collected.results]}
    if redactor:
        record = redactor.value(record)
    masked, hits = secrets.mask_record(record)
    collected.queries = masked["queries"]
    for result, entry in zip(collected.results, masked["notebooks"], strict=True):
        result.parameters, result.effective_parameters = entry["parameters"], entry["effective_parameters"]
        result.error = entry["error"]
    return masked, hits


def _print_pdfs(work: Path, chromium: str) -> dict[str, Any]:
    """Every page of the run printed to PDF beside it; a page Chromium cannot print is recorded, not fatal."""
    printed: dict[str, str] = {}
    failed: dict[str, str] = {}
    for page in sorted(work.glob("*.html")):
        pdf = page.with_suffix(".pdf")
        try:
            render.print_pdf(chromium, page, pdf)
            printed[page.name] = pdf.name
        except (OSError, subprocess.SubprocessError) as exc:  # a timeout too: the run is still published
            pdf.unlink(missing_ok=True)
            failed[page.name] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return {"chromium": chromium, "pages": printed, "failed": failed}


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
    pdf: bool = False,
) -> ReportResult:
    """Run notebooks and publish one dated run directory under out_dir. Raises ReportUsageError on bad input.
    With `pdf`, every page is also printed to PDF by headless Chromium (checked for before anything runs)."""
    plan = plan_report(notebooks, engine=engine, start=start, end=end, params=params, params_file=params_file,
                       fail_on=fail_on, cell_timeout=cell_timeout, jobs=jobs, notebooks_dir=notebooks_dir)
    chromium = render.find_chromium() if pdf else None
    if pdf and chromium is None:
        raise ReportUsageError("--pdf needs Chromium to print the pages, and none was found (install chromium, "
                               "or name it in TRAILBOOK_CHROMIUM); nothing ran")
    out = check_out_dir(out_dir)
    publish.clean_stale(out)
    started_at = dt.datetime.now(dt.timezone.utc)
    stamp = started_at.strftime(publish.RUN_STAMP_FORMAT)
    work = publish.work_dir(out, stamp)
    try:
        prepared, prepare_error = _prepare(plan, progress)
        redactor, key_source = Redactor.from_env() if redact else (None, None)
        tasks = execute.tasks_for(plan, work, redactor.key_hex if redactor else None)
        covered = measure_scopes(plan)
        scope = describe_scope(plan, prepared)  # the index's scope and logging-gaps section
        scope = redactor.value(scope) if redactor else scope  # it names accounts
        collected = collect(execute.run_all(tasks, plan.jobs, progress), covered)
        file_hits = secrets.mask_files(work)  # the safety net over the notebooks' pages
        record, record_hits = _masked_record(plan, collected, redactor, prepared)
        credential = secrets.findings({r.name: r.masked for r in collected.results}, file_hits, record_hits,
                                      (plan.start, plan.end))
        findings = collected.findings = concat_findings([collected.findings, credential])
        exit_code, over = _exit_code(collected, findings, fail_on)
        _write_findings_and_index(work, plan, stamp, collected, findings, _alerts(collected, credential), scope)
        printed = _print_pdfs(work, chromium) if chromium else None
        if printed and printed["failed"]:
            exit_code = EXIT_FAILED
        manifest = build_manifest(
            plan=plan, stamp=stamp, started_at=started_at, collected=collected, findings=findings, over=over,
            exit_code=exit_code, shared=record["shared"], redaction={"enabled": redact, "key": key_source},
            local_store=record["local_store"], local_store_error=prepare_error)
        manifest["scope"] = scope
        manifest["pdf"] = printed  # None without --pdf
        manifest["no_data"] = [r.name for r in collected.results if r.status == NO_DATA]
        manifest["credential_material"] = {
            "masked_on_data": secrets.summary(collected.results),
            "final_scan": [hit.to_dict() for hit in file_hits],
            "manifest_scan": [{"kind": hit.kind, "where": hit.where} for hit in record_hits]}
        manifest["credential_material"]["late"] = [h.to_dict() for h in secrets.mask_files(work)]  # expect none
        publish.write_manifest(work, manifest)
        secret_hits = [*file_hits, *record_hits]
        final = publish.publish(work, out, stamp)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return ReportResult(exit_code, final, final / "index.html", final / "manifest.json", collected.results,
                        findings, secret_hits)
