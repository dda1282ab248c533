"""`trailbook report` as a user meets it, through the command line: exit codes, up-front checks, hostile
events (a session token in a user agent cannot suppress the report), --redact on every file, no data."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import QUERY_FIXTURES, write_records
from trailbook.errors import EXIT_FINDINGS, EXIT_NO_DATA, EXIT_USAGE
from trailbook.reports import publish

NOTEBOOKS = Path(__file__).parent / "fixtures" / "notebooks"
WINDOW = ["--start", "2022-11-01T00:00:00Z", "--end", "2024-09-01T00:00:00Z"]
# A session token's fixed prefix plus a tail: what an attacker puts in a user agent to stop the report.
TOKEN_UA = "Mozilla/5.0 IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJGMEQCIHexampleTAIL0123456789"


def cli(*args: str, notebooks: Path = NOTEBOOKS, env: dict | None = None, timeout: int = 600):
    environ = {**os.environ, "TRAILBOOK_NOTEBOOKS": str(notebooks), **(env or {})}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "trailbook.cli", "report", *args], capture_output=True, text=True,
                          env=environ, timeout=timeout)
    return done, time.monotonic() - started


# --- checked before anything runs: exit 2, one line, seconds ---------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--out", "/"], "system folder"),
    (["--out", "/etc"], "system folder"),
    (["--out", "/usr/share/reports"], "system folder"),
    (["--out", "/dev/null"], "refusing"),
    (["-p", "source=/no/such/cloudtrail"], "does not exist"),
    (["-p", "config=/no/such/trailbook.yml"], "config file"),
    (["-p", "accounts=12345"], "12-digit"),
    (["-p", "regions=moon-base-1"], "region"),
])
def test_bad_input_exits_2_with_one_line_before_anything_runs(tmp_path, args, message):
    out = ["--out", str(tmp_path / "out")] if "--out" not in args else []
    done, took = cli("--notebooks", "report_ok", *WINDOW, *out, *args)
    assert done.returncode == EXIT_USAGE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr
    assert took < 30  # no kernel started
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_out_naming_a_file_or_home_itself_is_refused(tmp_path):
    existing = tmp_path / "a-file"
    existing.write_text("x")
    done, _ = cli("--notebooks", "report_ok", *WINDOW, "--out", str(existing))
    assert done.returncode == EXIT_USAGE and "not a folder" in done.stderr
    home = tmp_path / "home"
    home.mkdir()
    done, _ = cli("--notebooks", "report_ok", *WINDOW, "--out", str(home), env={"HOME": str(home)})
    assert done.returncode == EXIT_USAGE and "home folder" in done.stderr


@pytest.mark.parametrize("notebook,param,message", [
    ("key_anomalies", "access_key_id=not-a-key", "access key id"),
    ("console_logins", "allowed_cidrs=10.0.0.0/33", "CIDR"),
])
def test_malformed_ids_in_the_real_notebooks_exit_2(tmp_path, notebook, param, message):
    real = Path(__file__).resolve().parents[1] / "notebooks"
    done, took = cli("--notebooks", notebook, *WINDOW, "--out", str(tmp_path), "-p", param, notebooks=real)
    assert done.returncode == EXIT_USAGE and message in done.stderr and took < 30, done.stderr


def test_partial_runs_of_dead_processes_are_cleaned_and_live_ones_kept(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f".2026-01-01T0000Z.partial-{int(gone.stdout)}-abcd1234"
    live = tmp_path / f".2026-01-01T0000Z.partial-{os.getppid()}-abcd1234"
    dead.mkdir()
    live.mkdir()
    (dead / "half.ipynb").write_text("{")
    assert publish.clean_stale(tmp_path) == [dead]
    assert not dead.exists() and live.exists()


# --- real runs ---------------------------------------------------------------------------------------

def _hostile_records() -> list[dict]:
    records = []
    for name in ("root_activity", "console_login_without_mfa"):
        records += json.loads((QUERY_FIXTURES / name / "match.json").read_text())
    for record in records:
        record["userAgent"] = TOKEN_UA  # on the very logins the report must show
    return records


def _raw_ids(records: list[dict]) -> set[str]:
    found = set()
    text = json.dumps(records)
    found |= set(re.findall(r"(?<!\d)\d{12}(?!\d)", text))
    found |= set(re.findall(r"(?:AKIA|ASIA)[A-Z0-9]{16}", text))
    ips = (r.get("sourceIPAddress", "") for r in records)
    found |= {ip for ip in ips if re.match(r"^\d+\.\d+\.\d+\.\d+$", ip)}
    return {value for value in found if value}


def _png_texts(path: Path) -> list[str]:
    """The Description metadata (the drawn text) of every PNG embedded in a page or notebook."""
    from PIL import Image

    texts = []
    for blob in re.findall(r"iVBORw0KGgo[A-Za-z0-9+/=\\n]+", path.read_text(errors="replace")):
        data = base64.b64decode(blob.replace("\\n", ""))
        texts.append(Image.open(io.BytesIO(data)).info.get("Description", ""))
    return texts


@pytest.mark.slow
def test_hostile_events_redacted_report_publishes_and_leaks_nothing(tmp_path):
    records = _hostile_records()
    source = write_records(records, tmp_path / "src")
    raw = _raw_ids(records)
    assert raw
    done, _ = cli("--notebooks", "report_ok", *WINDOW, "--out", str(tmp_path / "out"), "--redact", "--quiet",
                  "--fail-on", "high", "-p", f"source={source}", "-p", f"store={tmp_path / 'store'}")
    assert done.returncode == EXIT_FINDINGS, done.stderr  # the token did not stop the run; findings reported
    assert "credential material in CloudTrail" in done.stderr
    (run,) = list((tmp_path / "out").iterdir())
    findings = [json.loads(line) for line in (run / "findings.jsonl").read_text().splitlines()]
    assert {"root_activity", "credential_material_in_cloudtrail"} <= {f["detection"] for f in findings}
    manifest = json.loads((run / "manifest.json").read_text())
    masked = manifest["credential_material"]["masked_on_data"]
    assert masked["total"] > 0 and any("useragent" in field or "user_agent" in field
                                       for m in masked["by_notebook"].values() for field in m["by_field"])
    pngs = []
    for path in run.rglob("*"):
        text = path.read_bytes().decode("utf-8", errors="replace")
        leaked = {value for value in raw if value in text}
        assert not leaked, f"{path.name} holds raw {leaked}"
        assert "IQoJb3JpZ2lu" not in text, path.name
        if path.suffix in (".html", ".ipynb"):
            pngs += _png_texts(path)
    assert any(pngs), "every plot carries its drawn text"
    assert not {value for value in raw for drawn in pngs if value in drawn}
    for query in manifest["queries"]:
        assert not {value for value in raw if value in json.dumps(query)}


@pytest.mark.slow
def test_an_empty_window_is_no_data_not_clean(tmp_path):
    source = write_records(_hostile_records(), tmp_path / "src")
    done, _ = cli("--notebooks", "report_trail", "--start", "2030-01-01T00:00:00Z", "--end", "2030-01-08T00:00:00Z",
                  "--out", str(tmp_path / "out"), "--quiet", "-p", f"source={source}",
                  "-p", f"store={tmp_path / 'store'}")
    assert done.returncode == EXIT_NO_DATA, done.stderr
    assert "report_trail: no data" in done.stderr
    (run,) = list((tmp_path / "out").iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["no_data"] == ["report_trail"] and manifest["exit_code"] == EXIT_NO_DATA
    assert manifest["notebooks"][0]["coverage"]["events"] == 0
    index = (run / "index.html").read_text()
    assert "No data:" in index and "not a clean result" in index and "No findings in this window" not in index


# --- kill -9 in the middle of a report ---------------------------------------------------------------

@pytest.mark.slow
def test_a_report_killed_at_any_point_leaves_no_half_run_and_the_next_run_publishes(tmp_path):
    """SIGKILL a report at several points: nothing ever appears under a final run name unless it is
    complete (it verifies), and the next run cleans the dead run's .partial folder and publishes."""
    records = []
    for name in ("root_activity", "console_login_without_mfa"):
        records += json.loads((QUERY_FIXTURES / name / "match.json").read_text())
    source = write_records(records, tmp_path / "src")
    out = tmp_path / "out"
    args = [sys.executable, "-m", "trailbook.cli", "report", "--notebooks", "report_ok", "report_trail", *WINDOW,
            "--out", str(out), "--quiet", "-p", f"source={source}", "-p", f"store={tmp_path / 'store'}"]
    env = {**os.environ, "TRAILBOOK_NOTEBOOKS": str(NOTEBOOKS)}
    half_runs = 0
    for delay in (0.5, 2.0, 4.0, 7.0):
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        time.sleep(delay)
        os.killpg(process.pid, 9)  # the report and its notebook workers, as a machine losing power would
        process.wait()
        half_runs += sum(1 for p in (out.iterdir() if out.exists() else []) if p.name.startswith("."))
        for run in (out.iterdir() if out.exists() else []):
            if not run.name.startswith("."):  # a published name: it must be a whole, verifiable run
                assert publish.verify_run(run) == [], (delay, run.name)
    assert half_runs > 0  # at least one kill landed mid-run, with a run folder under construction
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, EXIT_FINDINGS), done.stderr
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # dead runs' .partial folders cleaned
    published = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert published and all(publish.verify_run(run) == [] for run in published)
