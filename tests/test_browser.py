"""A real browser: headless Chromium opens the run's index.html and one report, checks the DOM, takes screenshots."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import QUERY_FIXTURES, write_records
from trailbook import reports

NOTEBOOKS = Path(__file__).parent / "fixtures" / "notebooks"
WINDOW = {"start": "2022-11-01T00:00:00Z", "end": "2024-09-01T00:00:00Z"}
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]

pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")]


def chromium(tmp_path: Path, *args: str) -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    records = []
    for name in ("root_activity", "console_login_without_mfa"):
        records += json.loads((QUERY_FIXTURES / name / "match.json").read_text())
    source = write_records(records, root / "src")
    result = reports.run_report(["report_ok"], engine="local", **WINDOW, out_dir=root / "out", progress=False,
                                params={"source": str(source), "store": str(root / "store")},
                                notebooks_dir=NOTEBOOKS)
    assert result.run_dir is not None and result.notebooks[0].status == "ok"
    return result


def _title(dom: str) -> str:
    found = re.search(r"<title>(.*?)</title>", dom, re.S)
    return found.group(1).strip() if found else ""


def test_index_renders_with_title_and_findings_table(run, tmp_path):
    dom = chromium(tmp_path, "--dump-dom", run.index_path.as_uri())
    run_id = json.loads(run.manifest_path.read_text())["run_id"]
    assert _title(dom) == f"trailbook report {run_id}"
    assert 'class="trailbook-findings-table"' in dom
    assert len(re.findall(r"<tr class=\"sev-", dom)) == len(run.findings) > 0
    assert 'href="report_ok.html"' in dom


def test_report_renders_title_findings_plot_and_no_code(run, tmp_path):
    page = run.run_dir / "report_ok.html"
    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert _title(dom) == run.notebooks[0].title == "Fixture report: root and console sign-ins"
    assert 'class="trailbook-findings"' in dom and "trailbook-table" in dom
    assert re.search(r"<img[^>]+src=\"data:image/png;base64,", dom), "no plot image"
    code_cells = re.findall(r'class="(jp-Cell jp-CodeCell[^"]*)"', dom)
    assert code_cells and all("jp-mod-noInput" in c for c in code_cells), "a code cell shows its code"
    assert not re.search(r'class="[^"]*\bjp-(InputPrompt|CodeMirrorEditor)\b', dom)
    assert "tb.notebook" not in dom and "import trailbook" not in dom
    assert dom.rindex("trailbook-evidence") > dom.rindex("data:image/png")  # the appendix comes last

    for name, target in (("report_ok.png", page), ("index.png", run.index_path)):
        shot = run.run_dir / name
        chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", target.as_uri())
        from matplotlib.image import imread

        pixels = imread(shot)
        assert pixels.shape[:2] == (1600, 1200)
        assert pixels[..., :3].std() > 0.05  # not a blank page
