"""`trailbook report --pdf`: every page also printed to PDF by headless Chromium, in the run directory,
hashed in manifest.json and SHA256SUMS like every other file (checked here with hashlib and coreutils);
without Chromium, one line and exit 2 before anything runs (README's exit-code table)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import QUERY_FIXTURES, write_records
from trailbook import reports

NOTEBOOKS = Path(__file__).parent / "fixtures" / "notebooks"
WINDOW = {"start": "2022-11-01T00:00:00Z", "end": "2024-09-01T00:00:00Z"}
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("pdf")
    records = json.loads((QUERY_FIXTURES / "root_activity" / "match.json").read_text())
    return write_records(records, root / "src"), root


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
def test_every_page_is_printed_to_pdf_and_hashed(source):
    src, root = source
    result = reports.run_report(["report_ok"], engine="local", **WINDOW, out_dir=root / "out", progress=False,
                                params={"source": str(src), "store": str(root / "store")}, notebooks_dir=NOTEBOOKS,
                                pdf=True)
    run = result.run_dir
    assert result.exit_code == reports.EXIT_OK
    pages = sorted(p.stem for p in run.glob("*.html"))
    assert pages == ["index", "report_ok"]
    manifest = json.loads(result.manifest_path.read_text())
    sums = dict(line.split("  ", 1)[::-1] for line in (run / "SHA256SUMS").read_text().splitlines())
    for stem in pages:
        pdf = run / f"{stem}.pdf"
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF-") and (b"/Type /Page" in data or b"/Type/Page" in data), stem
        digest = hashlib.sha256(data).hexdigest()
        assert manifest["files"][pdf.name] == {"sha256": digest, "bytes": len(data)}
        assert sums[pdf.name] == digest
    assert manifest["pdf"]["pages"] == {f"{s}.html": f"{s}.pdf" for s in pages} and manifest["pdf"]["failed"] == {}
    checked = subprocess.run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=run, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert reports.verify_run(run) == []


def test_without_chromium_pdf_fails_before_the_run_with_one_line(source, tmp_path):
    src, root = source
    out = tmp_path / "out"
    environ = {**os.environ, "TRAILBOOK_NOTEBOOKS": str(NOTEBOOKS), "TRAILBOOK_CHROMIUM": ""}  # "": none installed
    done = subprocess.run([sys.executable, "-m", "trailbook.cli", "report", "--notebooks", "report_ok", "--pdf",
                           "--start", WINDOW["start"], "--end", WINDOW["end"], "--out", str(out), "-p",
                           f"source={src}", "-p", f"store={root / 'store-none'}"], capture_output=True, text=True,
                          env=environ, timeout=300)
    assert done.returncode == 2  # README: a user error, found before anything runs
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr and "--pdf needs Chromium" in lines[0], done.stderr
    assert not out.exists() and not (root / "store-none").exists()  # nothing ran
