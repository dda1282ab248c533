"""A real browser: headless Chromium opens a run's pages, checks the DOM and the layout, takes screenshots.

Two runs: a fixture notebook (fast), and every notebook over the demo (slow: minutes), on which
the index and every page are checked at 1400 px: no horizontal overflow, no NaN, NaT or "…" in a
table cell, no cell allowed to wrap at any character, no id piece laid out over two lines, every
finding's principal, key and address whole in one cell, no page taller than MAX_HEIGHT, every
image with alt text, the scope and logging-gap sections, and the demo's CloudTrail gap (from the
demo's own ground truth). Screenshots go to the run directory's
screenshots/ folder; the run itself lives in pytest's temporary directory. Set
TRAILBOOK_BROWSER_RUN to an existing run directory to check that one instead of running the demo.
"""

from __future__ import annotations

import datetime as dt
import json
import os
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
    assert "trailbook-findings-table" in dom
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


# --- every page of a demo run ---------------------------------------------------------------

WIDTH = 1400
MAX_HEIGHT = 15000  # px at WIDTH: taller dumps what should be paged or boxed (unused_permissions was 27,000)
# Runs after load: measures the layout and writes the result into the page for --dump-dom.
PROBE = """<script>window.addEventListener('load', function () {
  var cells = [].slice.call(document.querySelectorAll('td'));
  var tables = [].slice.call(document.querySelectorAll('table'));
  var gaps = document.getElementById('logging-gaps');
  var result = {
    scrollWidth: document.documentElement.scrollWidth,
    wideTables: tables.filter(function (t) { return t.getBoundingClientRect().right > %d + 0.5; })
      .map(function (t) { return (t.className || 'table') + ' ' + Math.round(t.getBoundingClientRect().right); }),
    badCells: cells.map(function (c) { return c.textContent; })
      .filter(function (t) { return /\\bNaN\\b|\\bNaT\\b|\u2026/.test(t); }).slice(0, 5),
    anywhere: cells.filter(function (c) { var s = getComputedStyle(c);
      return s.overflowWrap === 'anywhere' || s.wordBreak === 'break-all'; }).length,
    split: [].slice.call(document.querySelectorAll('.tb-nb')).filter(function (n) {
      return n.getClientRects().length > 1; }).map(function (n) { return n.textContent; }).slice(0, 5),
    cellTexts: cells.map(function (c) { return c.textContent; }),
    height: document.documentElement.scrollHeight,
    unpaged: tables.filter(function (t) {
      var rows = t.tBodies.length ? [].slice.call(t.tBodies[0].rows) : [];
      return rows.length > 25 && rows.filter(function (r) { return r.offsetParent !== null; }).length > 25;
    }).length,
    images: document.images.length,
    noAlt: [].filter.call(document.images, function (i) { return !(i.getAttribute('alt') || '').trim(); }).length,
    scope: !!document.getElementById('scope'),
    scope_text: document.getElementById('scope') ? document.getElementById('scope').innerText : '',
    gaps: gaps ? gaps.innerText : null
  };
  var out = document.createElement('pre');
  out.id = 'tb-probe';
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});</script>"""


def probe(page: Path, tmp_path: Path) -> dict:
    """Open a copy of the page with the probe added; the page's own files are not touched."""
    copy = page.parent / f".probe-{page.name}"
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE % WIDTH + "</body>"), encoding="utf-8")
    try:
        dom = chromium(tmp_path, "--dump-dom", "--virtual-time-budget=10000", f"--window-size={WIDTH},1000",
                       copy.as_uri())
    finally:
        copy.unlink()
    found = re.search(r'<pre id="tb-probe">(.*?)</pre>', dom, re.S)
    assert found, f"{page.name}: the probe did not run"
    import html

    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, demo_dir) -> tuple[Path, dict]:
    manifest = json.loads((demo_dir / "demo_manifest.json").read_text())
    given = os.environ.get("TRAILBOOK_BROWSER_RUN")
    if given:
        return Path(given), manifest
    root = tmp_path_factory.mktemp("browser-demo")
    window = manifest["window"]
    result = reports.run_report("all", engine="local", start=window["detection_start"], end=window["detection_end"],
                                out_dir=root / "out", progress=False,
                                params={"source": str(demo_dir / "cloudtrail"), "store": str(root / "store")})
    assert result.run_dir is not None and not result.failed, [n.error for n in result.failed]
    return result.run_dir, manifest


def _pages(run_dir: Path) -> list[Path]:
    pages = sorted(p for p in run_dir.glob("*.html") if not p.name.startswith("."))
    assert run_dir / "index.html" in pages and len(pages) >= 5, pages  # the index and the four notebooks
    return pages


def test_every_demo_page_fits_1400px_has_clean_cells_and_alt_text(demo_run, tmp_path):
    run_dir, _ = demo_run
    problems = {}
    for page in _pages(run_dir):
        found = probe(page, tmp_path)
        # unpaged: long, no pages; anywhere: cells that may wrap at any character; split: an id piece on two lines
        bad = {k: found[k] for k in ("wideTables", "badCells", "unpaged", "anywhere", "split") if found[k]}
        if found["height"] > MAX_HEIGHT:
            bad["height"] = found["height"]
        if found["scrollWidth"] > WIDTH:
            bad["scrollWidth"] = found["scrollWidth"]
        if found["noAlt"]:
            bad["images without alt"] = found["noAlt"]
        if bad:
            problems[page.name] = bad
    assert not problems


def _whole_hours(gap: dict) -> tuple[str, str]:
    """The first and the end of the whole UTC hours inside a gap, as the page writes times."""
    start = dt.datetime.fromisoformat(gap["start"].replace("Z", "+00:00"))
    end = dt.datetime.fromisoformat(gap["end"].replace("Z", "+00:00"))
    first = start.replace(minute=0, second=0) + (dt.timedelta(hours=1) if (start.minute, start.second) != (0, 0)
                                                  else dt.timedelta())
    return f"{first:%Y-%m-%d %H:%M:%S}Z", f"{end.replace(minute=0, second=0):%Y-%m-%d %H:%M:%S}Z"


def test_index_states_scope_and_shows_the_demo_cloudtrail_gap(demo_run, tmp_path):
    run_dir, manifest = demo_run
    found = probe(run_dir / "index.html", tmp_path)
    assert found["scope"] and found["gaps"] is not None
    (gap,) = manifest["logging_gaps"]  # the demo's ground truth: when the stopped trail delivered nothing
    first, until = _whole_hours(gap)
    rows = [line for line in found["gaps"].splitlines() if first in line]
    assert len(rows) == 1 and until in rows[0], found["gaps"]
    assert "No logging gaps" not in found["gaps"]
    for account in manifest["accounts"]:
        assert account["account_id"] in found["scope_text"]
    collected = dt.datetime.fromisoformat(manifest["window"]["snapshot_time"].replace("Z", "+00:00"))
    assert f"collected {collected:%Y-%m-%d %H:%M:%S}Z" in found["scope_text"]  # the IAM snapshot's collection time


def test_screenshots_of_every_demo_page_are_saved_in_the_run(demo_run, tmp_path):
    from matplotlib.image import imread

    run_dir, _ = demo_run
    shots = run_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    for page in _pages(run_dir):
        shot = shots / f"{page.stem}.png"
        chromium(tmp_path, f"--screenshot={shot}", f"--window-size={WIDTH},1800", page.as_uri())
        pixels = imread(shot)
        assert pixels.shape[:2] == (1800, WIDTH)
        assert pixels[..., :3].std() > 0.05  # not a blank page


def test_index_cells_hold_each_findings_values_whole(demo_run, tmp_path):
    run_dir, _ = demo_run
    found = probe(run_dir / "index.html", tmp_path)
    cells = set(found["cellTexts"])
    findings = [json.loads(line) for line in (run_dir / "findings.jsonl").read_text().splitlines()]
    values = {f[k] for f in findings for k in ("principal_arn", "access_key_id", "source_ip", "account_id") if f[k]}
    assert values and not values - cells  # each in a cell of its own, every character there
