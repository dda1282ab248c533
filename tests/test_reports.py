"""The report runner: parameter validation (fast), then real papermill runs of the fixture notebooks (slow)."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
from pathlib import Path

import nbformat
import pytest

from conftest import QUERY_FIXTURES, local_session, write_records
from trailbook import findings as F
from trailbook import reports
from trailbook.reports import render, render_index

NOTEBOOKS = Path(__file__).parent / "fixtures" / "notebooks"
SECRET_EVENT = Path(__file__).parent / "fixtures" / "redact" / "get_federation_token.json"
QUERIES = ("root_activity", "console_login_without_mfa", "cloudtrail_logging_disabled")
WINDOW = {"start": "2022-11-01T00:00:00Z", "end": "2024-09-01T00:00:00Z"}  # covers every fixture's events


def _records() -> list[dict]:
    records = []
    for name in QUERIES:
        records += json.loads((QUERY_FIXTURES / name / "match.json").read_text())
    return records


def plan(names, **kwargs):
    kwargs = {"engine": "local", **WINDOW, "notebooks_dir": NOTEBOOKS, **kwargs}
    return reports.plan_report(names, **kwargs)


# --- validation: nothing runs ---------------------------------------------------------------------

def test_shared_parameters_go_to_the_notebooks_that_declare_them():
    result = plan(["report_ok", "params_only"], params={"note": "weekly", "role_arn": "arn:aws:iam::1:role/x",
                                                        "threshold": "7", "watch_list": "a, b"})
    by_name = {nb.name: nb.parameters for nb in result.notebooks}
    assert by_name["report_ok"]["note"] == "weekly" and "role_arn" not in by_name["report_ok"]
    assert by_name["params_only"]["threshold"] == 7  # text converted to the default's kind
    assert by_name["params_only"]["watch_list"] == ["a", "b"]
    assert "note" not in by_name["params_only"]
    for values in by_name.values():
        assert (values["engine"], values["start"], values["end"]) == ("local", WINDOW["start"], WINDOW["end"])


@pytest.mark.parametrize("names,params,message", [
    (["report_ok"], {"notte": "typo"}, "unknown parameter 'notte'"),
    (["params_only"], {}, "'role_arn' has no default"),
    (["params_only"], {"role_arn": "x", "threshold": "many"}, "expected an integer"),
    (["params_only"], {"role_arn": "x", "verbose": "perhaps"}, "expected true or false"),
    (["params_only"], {"role_arn": "x", "label": 3}, "expected text"),
    (["report_ok"], {"start": "2023-01-01T00:00:00Z"}, "given twice"),
    (["no_such_notebook"], {}, "unknown notebook"),
])
def test_bad_parameters_are_usage_errors(names, params, message):
    with pytest.raises(reports.ReportUsageError, match=message) as caught:
        plan(names, params=params)
    assert caught.value.exit_code == reports.EXIT_USAGE


@pytest.mark.parametrize("kwargs,message", [
    ({"engine": "bigquery"}, "engine must be one of"),
    ({"start": "2024-09-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"}, "not before"),
    ({"start": "yesterday-ish"}, "start"),
    ({"fail_on": "severe"}, "fail-on"),
    ({"cell_timeout": 0}, "timeout"),
    ({"jobs": 0}, "jobs"),
])
def test_bad_run_options_are_usage_errors(kwargs, message):
    with pytest.raises(reports.ReportUsageError, match=message):
        plan(["report_ok"], **kwargs)


def test_params_file_with_per_notebook_sections(tmp_path):
    good = tmp_path / "params.yaml"
    good.write_text("note: shared\nnotebooks:\n  params_only: {role_arn: 'arn:aws:iam::1:role/r', ratio: 2}\n")
    result = plan(["report_ok", "params_only"], params_file=good)
    by_name = {nb.name: nb.parameters for nb in result.notebooks}
    assert by_name["params_only"]["role_arn"] == "arn:aws:iam::1:role/r" and by_name["params_only"]["ratio"] == 2.0
    assert by_name["report_ok"]["note"] == "shared"
    bad = tmp_path / "bad.yaml"
    bad.write_text("notebooks:\n  report_ok: {role_arn: x}\n")
    with pytest.raises(reports.ReportUsageError, match="report_ok: unknown parameter 'role_arn'"):
        plan(["report_ok"], params_file=bad)
    bad.write_text("notebooks:\n  ghost: {x: 1}\n")
    with pytest.raises(reports.ReportUsageError, match="unknown notebook"):
        plan(["report_ok"], params_file=bad)
    with pytest.raises(reports.ReportUsageError, match="does not exist"):
        plan(["report_ok"], params_file=tmp_path / "missing.yaml")


def test_a_notebook_must_declare_the_shared_window(tmp_path):
    nb = nbformat.read(NOTEBOOKS / "report_trail.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("start ="))
    nbformat.write(nb, tmp_path / "no_start.ipynb")
    with pytest.raises(reports.ReportUsageError, match="does not declare 'start'"):
        plan(["no_start"], notebooks_dir=tmp_path)


def test_all_selects_every_notebook_and_jobs_never_exceed_them():
    result = plan("all", params={"role_arn": "x"}, jobs=64)
    assert [nb.name for nb in result.notebooks] == sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert result.jobs == len(result.notebooks)


def test_exit_codes_are_distinct():
    codes = [reports.EXIT_OK, reports.EXIT_FAILED, reports.EXIT_USAGE, reports.EXIT_FINDINGS]
    assert reports.EXIT_OK == 0 and len(set(codes)) == 4


def test_index_page_is_self_contained():
    page = render_index.index_html(
        title="t", run_id="r", engine="local", window=("a", "b"), severities=["high", "low"],
        reports=[{"name": "n", "title": "N <x>", "status": "ok", "html": "n.html", "by_severity": {"high": 2},
                  "findings": 2, "duration_s": 1.0, "error": None}],
        findings=[{"severity": "high", "detection": "d", "report": "n", "event_count": 3}])
    assert "N &lt;x&gt;" in page and "trailbook-findings-table" in page
    assert render.external_resources(page) == []
    assert render.external_resources('<script src="https://cdn.example/x.js"></script>')
    assert render.external_resources("<style>@import url('//fonts.example/f.css');</style>")


def test_catalog_revision_hashes_the_sql(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "q.sql").write_text("SELECT 1")
    first = reports.catalog_revision(tmp_path)
    (tmp_path / "a" / "q.sql").write_text("SELECT 2")
    second = reports.catalog_revision(tmp_path)
    assert first["queries"] == 1 and first["content_sha256"] != second["content_sha256"]


# --- real runs --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("report-data")
    source = write_records(_records(), root / "src")
    return {"source": str(source), "store": str(root / "store"), "root": root}


@pytest.fixture(scope="module")
def expected(data, tmp_path_factory):
    """What the detections find when run directly, in-process: the runner must report exactly this."""
    session = local_session(_records(), tmp_path_factory.mktemp("direct"), **WINDOW)
    try:
        return {name: session.run(name) for name in QUERIES}
    finally:
        session.close()


@pytest.fixture(scope="module")
def two_ok(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("out-ok")
    result = reports.run_report(["report_ok", "report_trail"], engine="local", **WINDOW, out_dir=out, jobs=2,
                                params={"source": data["source"], "store": data["store"], "note": "weekly run"},
                                fail_on="critical", progress=False, notebooks_dir=NOTEBOOKS)
    return result, out


@pytest.mark.slow
def test_two_notebooks_run_at_once_and_both_succeed(two_ok):
    result, out = two_ok
    assert [n.status for n in result.notebooks] == ["ok", "ok"]
    first, second = result.notebooks
    # Two workers: each notebook started before the other one ended.
    assert first.started_at < second.ended_at and second.started_at < first.ended_at
    assert [p.name for p in out.iterdir()] == [result.run_dir.name]  # no temporary directory left
    assert result.run_dir.name.startswith(tuple("0123456789")) and result.run_dir.name.endswith("Z")


@pytest.mark.slow
def test_findings_are_collected_from_the_notebook_outputs(two_ok, expected):
    result, _ = two_ok
    on_disk = F.read_jsonl(result.run_dir / "findings.jsonl")
    direct = F.concat(list(expected.values()))
    assert len(on_disk) == len(direct) > 0
    assert sorted(map(tuple, on_disk["event_ids"])) == sorted(map(tuple, direct["event_ids"]))
    wanted = {"report_ok": {"root_activity", "console_login_without_mfa"},
              "report_trail": {"cloudtrail_logging_disabled"}}
    for report, detections in wanted.items():
        assert set(on_disk.loc[on_disk["report"] == report, "detection"]) == detections & set(direct["detection"])
    with open(result.run_dir / "findings.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(direct) and list(rows[0])[:14] == list(F.FINDING_COLUMNS)
    per_notebook = {n.name: n.by_severity for n in result.notebooks}
    assert sum(sum(c.values()) for c in per_notebook.values()) == len(direct)


@pytest.mark.slow
def test_fail_on_gives_the_findings_exit_code(two_ok):
    result, _ = two_ok
    critical = len(F.at_least(result.findings, "critical"))
    assert result.exit_code == (reports.EXIT_FINDINGS if critical else reports.EXIT_OK)
    assert critical > 0  # the root console sign-in without MFA is critical
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["exit_code"] == result.exit_code and manifest["findings"]["at_or_above_fail_on"] == critical


@pytest.mark.slow
def test_manifest_hashes_match_the_files_and_record_the_queries(two_ok, data):
    result, _ = two_ok
    run = result.run_dir
    manifest = json.loads((run / "manifest.json").read_text())
    on_disk = {str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()} - {"manifest.json", "SHA256SUMS"}
    assert set(manifest["files"]) == on_disk
    # Independent oracles: hashlib, and coreutils' own check of SHA256SUMS, not the library's hasher.
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256((run / name).read_bytes()).hexdigest()
    sums = dict(line.split("  ", 1)[::-1] for line in (run / "SHA256SUMS").read_text().splitlines())
    assert sums["manifest.json"] == hashlib.sha256((run / "manifest.json").read_bytes()).hexdigest()
    assert set(sums) == on_disk | {"manifest.json"}
    checked = subprocess.run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=run, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert reports.verify_run(run) == []
    (run / "findings.csv").write_text("tampered\n")
    assert reports.verify_run(run) == ["findings.csv: changed"]
    tampered = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=run, capture_output=True, text=True)
    assert tampered.returncode == 1 and "findings.csv: FAILED" in tampered.stdout
    ran = {(q["notebook"], q["query"]) for q in manifest["queries"]}
    assert ran == {("report_ok", "root_activity"), ("report_ok", "console_login_without_mfa"),
                   ("report_trail", "cloudtrail_logging_disabled")}
    for query in manifest["queries"]:
        assert query["status"] == "ok" and query["execution_id"] and "SELECT" in query["sql"]
        assert query["parameters"]["start"] == WINDOW["start"]
    assert manifest["trailbook_version"] and len(manifest["catalog"]["content_sha256"]) == 64
    assert manifest["parameters"]["note"] == "weekly run" and manifest["window"] == WINDOW
    assert manifest["local_store"]["store"] == str(Path(data["store"]).resolve())
    for entry in manifest["notebooks"]:  # every parameter as it ran, defaults included
        assert entry["effective_parameters"]["start"] == WINDOW["start"]
        assert entry["effective_parameters"]["engine"] == "local"


@pytest.mark.slow
def test_reports_are_self_contained_html_with_code_hidden(two_ok):
    result, _ = two_ok
    page = (result.run_dir / "report_ok.html").read_text()
    assert render.external_resources(page) == []
    assert "tb.notebook.begin" not in page and "import trailbook" not in page
    assert "data:image/png;base64," in page
    assert "trailbook-evidence" in page and page.rindex("trailbook-evidence") > page.rindex("trailbook-findings")
    executed = nbformat.read(result.run_dir / "report_ok.ipynb", as_version=4)
    assert executed.metadata.papermill["parameters"]["note"] == "weekly run"
    assert not executed.metadata.papermill["exception"]  # papermill writes None on success
    index = (result.run_dir / "index.html").read_text()
    assert "report_ok.html" in index and "report_trail.html" in index and WINDOW["start"] in index


@pytest.fixture(scope="module")
def failing_and_redacted(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("out-fail")
    result = reports.run_report(["report_fails", "report_ok"], engine="local", **WINDOW, out_dir=out, redact=True,
                                params={"source": data["source"], "store": data["store"]}, progress=False,
                                notebooks_dir=NOTEBOOKS)
    return result


@pytest.mark.slow
def test_a_failing_notebook_gives_the_failure_code_and_an_error_report(failing_and_redacted):
    result = failing_and_redacted
    status = {n.name: n for n in result.notebooks}
    assert result.exit_code == reports.EXIT_FAILED
    assert status["report_fails"].status == "failed" and status["report_ok"].status == "ok"
    assert status["report_fails"].error["ename"] == "CatalogError"
    page = (result.run_dir / "report_fails.html").read_text()
    assert "no_such_query_in_the_catalog" in page and "CatalogError" in page
    manifest = json.loads(result.manifest_path.read_text())
    entry = next(n for n in manifest["notebooks"] if n["name"] == "report_fails")
    assert entry["status"] == "failed" and entry["error"]["ename"] == "CatalogError"
    assert "failed" in (result.run_dir / "index.html").read_text()


@pytest.mark.slow
def test_redact_masks_accounts_ips_and_key_ids_everywhere(failing_and_redacted):
    result = failing_and_redacted
    originals = set()
    for record in _records():
        originals |= {record.get("recipientAccountId"), record.get("sourceIPAddress")}
        originals.add(record.get("userIdentity", {}).get("accessKeyId"))
    originals = {o for o in originals if o and (o[:1].isdigit() or o.startswith(("AKIA", "ASIA")))}
    assert originals
    for path in result.run_dir.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".ipynb", ".jsonl", ".csv", ".json"):
            text = path.read_text()
            leaked = {o for o in originals if o in text}
            assert not leaked, f"{path.name} still holds {leaked}"
    assert result.findings["account_id"].dropna().str.startswith("acct-").all()
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["redaction"]["enabled"] is True


@pytest.mark.slow
def test_a_secret_in_any_output_is_masked_published_and_reported(data, tmp_path):
    event = json.loads(SECRET_EVENT.read_text())[0]
    token = event["responseElements"]["credentials"]["sessionToken"]
    planted = json.dumps(event["responseElements"])  # a real GetFederationToken response, session token included
    result = reports.run_report(["report_ok"], engine="local", **WINDOW, out_dir=tmp_path, progress=False,
                                params={"source": data["source"], "store": data["store"], "note": planted},
                                fail_on="critical", notebooks_dir=NOTEBOOKS)
    assert result.run_dir is not None and result.exit_code == reports.EXIT_FINDINGS
    assert [p.name for p in tmp_path.iterdir()] == [result.run_dir.name]  # published, nothing half-written
    for path in result.run_dir.rglob("*"):
        assert token[:40] not in path.read_bytes().decode("utf-8", "replace"), path.name
    credential = result.findings[result.findings["detection"] == "credential_material_in_cloudtrail"]
    assert len(credential) >= 1 and set(credential["severity"]) == {"critical"}
    assert result.secret_hits
    index = (result.run_dir / "index.html").read_text()
    assert "credential material in CloudTrail field" in index
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["credential_material"]["final_scan"] or manifest["credential_material"]["manifest_scan"]
    assert manifest["findings"]["by_severity"]["critical"] >= len(credential)
    assert reports.verify_run(result.run_dir) == []  # hashes taken after masking
