"""The documented exit codes of `findings` and `ingest`, from a real process, as cron and CI see them.

`report`'s codes are proven the same way in test_report_hostile.py (2, 3, 4) and test_reports.py (1).
Expected codes come from the README's table, not from trailbook.errors.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES

STRATUS = FIXTURES / "stratus"
WINDOW = ("--start", "2024-07-31", "--end", "2024-08-03")
REPO = Path(__file__).resolve().parents[1]


def trailbook(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    merged = {**os.environ, "PYTHONPATH": str(REPO / "lib"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "trailbook.cli", *args], capture_output=True, text=True,
                          env=merged, timeout=300)


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture()
def logs(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(STRATUS / "aws.defense-evasion.cloudtrail-stop.json", folder)  # a high finding
    return folder


def test_findings_exit_0_then_3_with_fail_on(logs, tmp_path):
    store = str(tmp_path / "store")
    clean = trailbook("findings", "--source", str(logs), "--store", store, *WINDOW, "--quiet")
    assert clean.returncode == 0, clean.stderr
    assert any(json.loads(line)["detection"] == "cloudtrail_logging_disabled" for line in clean.stdout.splitlines())
    failing = trailbook("findings", "--source", str(logs), "--store", store, *WINDOW, "--quiet", "--fail-on", "high")
    assert failing.returncode == 3, failing.stderr
    above = trailbook("findings", "--source", str(logs), "--store", store, *WINDOW, "--quiet",
                      "--fail-on", "critical")
    assert above.returncode == 0, above.stderr


def test_findings_exit_4_for_an_empty_window_and_2_for_a_bad_one(logs, tmp_path):
    store = str(tmp_path / "store")
    empty = trailbook("findings", "--source", str(logs), "--store", store, "--start", "2025-01-01",
                      "--end", "2025-01-08", "--quiet")
    assert empty.returncode == 4 and one_line(empty).startswith("trailbook: no data")
    bad = trailbook("findings", "--source", str(logs), "--store", store, "--start", "2024-08-03",
                    "--end", "2024-07-31", "--quiet")
    assert bad.returncode == 2
    one_line(bad)


def test_ingest_exit_0_2_and_1_when_the_store_stays_busy(logs, tmp_path):
    store = tmp_path / "store"
    missing = trailbook("ingest", str(tmp_path / "nowhere"), "--store", str(store), "--quiet")
    assert missing.returncode == 2
    one_line(missing)
    (store).mkdir()
    with open(store / ".ingest.lock", "a+") as handle:  # another ingest holds the store
        fcntl.flock(handle, fcntl.LOCK_EX)
        busy = trailbook("ingest", str(logs), "--store", str(store), "--quiet", env={"TRAILBOOK_INGEST_WAIT": "0"})
    assert busy.returncode == 1 and "another ingest" in one_line(busy)
    done = trailbook("ingest", str(logs), "--store", str(store), "--quiet")
    assert done.returncode == 0, done.stderr
