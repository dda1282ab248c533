"""What `trailbook report` tells the person at the terminal (or the cron mail), from a real process.

One run of two fixture notebooks, one of which fails: each notebook's status, the failed one's reason on
one line with the path of its error page, the findings by severity, the most severe incidents one line
each, and no control character from an event reaching the terminal. Expected counts are tallied here
from the run's own files (findings.jsonl, incidents.jsonl), not by trailbook's summary code.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import QUERY_FIXTURES, write_records

NOTEBOOKS = Path(__file__).parent / "fixtures" / "notebooks"
WINDOW = ["--start", "2022-11-01T00:00:00Z", "--end", "2024-09-01T00:00:00Z"]
ESCAPE = "\x1b]0;pwned\x07\x1b[2J"  # retitles and clears a terminal if printed raw
SEVERITIES = ["critical", "high", "medium", "low", "info"]  # README's findings contract, most severe first

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    root = tmp_path_factory.mktemp("terminal")
    records = []
    for name in ("root_activity", "console_login_without_mfa"):
        records += json.loads((QUERY_FIXTURES / name / "match.json").read_text())
    for record in records:  # a name from an event carries terminal control sequences
        identity = record.get("userIdentity") or {}
        if identity.get("type") == "Root":
            identity["arn"] = identity["arn"] + ESCAPE
    source = write_records(records, root / "src")
    out = root / "out"
    environ = {**os.environ, "TRAILBOOK_NOTEBOOKS": str(NOTEBOOKS)}
    done = subprocess.run([sys.executable, "-m", "trailbook.cli", "report", "--notebooks", "report_ok", "report_fails",
                           *WINDOW, "--out", str(out), "--quiet", "--fail-on", "high", "-p", f"source={source}",
                           "-p", f"store={root / 'store'}"], capture_output=True, text=True, env=environ, timeout=900)
    (run,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    return done, run


def test_a_failed_notebook_gets_its_reason_on_one_line_and_its_error_page(ran):
    done, run = ran
    assert done.returncode == 1, done.stderr  # README: a notebook failed
    lines = done.stderr.splitlines()
    (failed,) = [line for line in lines if line.startswith("  report_fails:")]
    assert failed.startswith("  report_fails: failed (CatalogError: ") and "no_such_query_in_the_catalog" in failed
    page = failed.rsplit("error page: ", 1)[1]
    assert Path(page) == run / "report_fails.html" and Path(page).is_file()
    assert "no_such_query_in_the_catalog" in Path(page).read_text()
    assert "  report_ok: ok" in lines
    assert done.stdout.strip() == f"report index: {run / 'index.html'}"


def test_findings_by_severity_match_the_run(ran):
    done, run = ran
    findings = [json.loads(line) for line in (run / "findings.jsonl").read_text().splitlines()]
    counts = collections.Counter(f["severity"] for f in findings)
    shown = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
    assert f"  findings: {len(findings)} ({shown})" in done.stderr.splitlines()
    over = counts["critical"] + counts["high"]
    assert f"  at or above --fail-on high: {over}" in done.stderr.splitlines() and over > 0


def test_top_incidents_one_line_each_without_control_characters(ran):
    done, run = ran
    incidents = [json.loads(line) for line in (run / "incidents.jsonl").read_text().splitlines()]
    assert incidents
    lines = done.stderr.splitlines()
    shown = [line for line in lines if line.startswith("  [")]
    assert [line.split()[1] for line in shown] == [inc["id"] for inc in incidents[:3]]
    assert any("\\x1b" in line for line in shown), shown  # the hostile name is there, escaped
    assert not any(ch in done.stderr for ch in "\x1b\x07")
