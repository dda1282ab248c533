"""Render an executed notebook as one self-contained HTML page (code hidden, plots inline).

Reports are read offline by auditors, so nothing may load from the network. nbconvert's
lab template adds require.js, MathJax and mermaid from CDNs; the template below removes
those blocks. trailbook's outputs are tables (whose sort, filter and page script is inline,
notebook/tables.py) and PNG plots, inline as data: URIs with alt text. Pages use the full
width and link back to the run's index. With `--pdf`, headless Chromium prints each page to PDF
(`print_pdf`); the print styles show every row and every long cell in full.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block extra_css -%}
<style type="text/css">
body.jp-Notebook { max-width: none; margin: 0; padding: 8px 16px; box-sizing: border-box; }
nav.trailbook-back { font: 14px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 4px 0 8px; }
.jp-RenderedHTMLCommon table.trailbook-table { table-layout: auto; }
.jp-RenderedHTMLCommon table.trailbook-table th, .jp-RenderedHTMLCommon table.trailbook-table td {
  border: 1px solid #ddd; padding: 2px 4px; text-align: left; vertical-align: top; max-width: none; }
.jp-RenderedHTMLCommon table.trailbook-table td { overflow-wrap: normal; word-break: normal; }
.jp-RenderedHTMLCommon table.trailbook-table td.tb-id { white-space: nowrap; }
.jp-RenderedHTMLCommon table.trailbook-table td.tb-num { text-align: right; }
table.trailbook-table th { background: #f3f3f3; }
.jp-RenderedHTMLCommon pre, details pre { white-space: pre-wrap; overflow-wrap: break-word; }
.jp-OutputArea-output li { overflow-wrap: break-word; }
@media print { body.jp-Notebook { padding: 0; } nav.trailbook-back { display: none; } }
details pre { background: #f7f7f7; padding: 6px; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
<nav class="trailbook-back"><a href="index.html">&larr; Report index</a></nav>
{%- endblock body_header -%}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ output | get_metadata('alt', 'image/png') | escape_html }}">
</div>
{%- endblock data_png %}
"""
FALLBACK_ALT = "Plot"  # only when a figure was shown without trailbook's display set up


# A resource the browser would fetch: script/img/iframe src, stylesheet links, CSS url() and @import.
_EXTERNAL = re.compile(
    r"""<(?:script|img|iframe|source|embed|video|audio)\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


def external_resources(page: str) -> list[str]:
    """Every reference in the page that would make a browser fetch from the network."""
    return [page[m.start(): m.end() + 60] for m in _EXTERNAL.finditer(page)]


def notebook_title(nb: Any, default: str) -> str:
    """The notebook's first markdown heading, or `default`."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip() or default
    return default


def _with_alt_text(nb: Any) -> Any:
    """Every PNG output gets alt text: the figure's own (set by the kernel's display), else the section
    heading above it, so an image is never described by nothing."""
    heading = ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            headings = [line.lstrip("#").strip() for line in cell.source.splitlines() if line.startswith("#")]
            heading = headings[-1] if headings else heading  # the nearest heading above the plot
            continue
        for output in cell.get("outputs", []):
            if "image/png" not in output.get("data", {}):
                continue
            meta = output.setdefault("metadata", {}).setdefault("image/png", {})
            if not str(meta.get("alt") or "").strip():
                meta["alt"] = f"{FALLBACK_ALT}: {heading}" if heading else FALLBACK_ALT
    return nb


EMPTY_SECTION_NOTE = ("*Nothing to show for this run: this section's cells ran and displayed nothing. "
                      "The text above says when the section applies.*")


def _shows_something(output: Any) -> bool:
    """True when the output draws anything on the page (an empty HTML repr, as a silent object gives, does not)."""
    kind = output.get("output_type")
    if kind == "stream":
        return bool(str(output.get("text") or "").strip())
    if kind == "error":
        return True
    data = output.get("data", {})
    if any(mime.startswith("image/") for mime in data):
        return True
    for mime in ("text/html", "text/markdown", "text/plain"):  # the richest one is what the page shows
        if mime in data:
            return bool(str(data[mime] if isinstance(data[mime], str) else "".join(data[mime])).strip())
    return False


def _meant_to_show(cell: Any) -> bool:
    """True when the cell ran and ends in an expression or a call (it was meant to display something);
    a cell that only assigns (`timeline = ...`) shows nothing by design."""
    import ast

    if cell.get("execution_count") is None:
        return False  # never ran (the notebook stopped before it): the failure is reported on the page
    try:
        body = ast.parse(cell.source).body
    except SyntaxError:
        return False
    return bool(body) and isinstance(body[-1], ast.Expr)


def _with_empty_notes(nb: Any) -> Any:
    """A section (a `##` heading and the cells up to the next heading) whose display cells ran and all
    displayed nothing gets a note saying so, so a reader never meets a heading with nothing under it and
    wonders whether the report is broken (key_anomalies' incident sections in hunt mode, for example)."""
    import nbformat

    cells = list(nb.cells)
    section: list[Any] = []
    out: list[Any] = []

    def close() -> None:
        code = [c for c in section if c.cell_type == "code"]
        out.extend(section)
        titled = section and section[0].cell_type == "markdown" and section[0].source.lstrip().startswith("##")
        if titled and any(_meant_to_show(c) for c in code) and \
                not any(_shows_something(o) for c in code for o in c.get("outputs", [])):
            out.append(nbformat.v4.new_markdown_cell(EMPTY_SECTION_NOTE))

    for cell in cells:
        if cell.cell_type == "markdown" and any(line.startswith("#") for line in cell.source.splitlines()):
            close()
            section = []
        section.append(cell)
    close()
    nb.cells = out
    return nb


def notebook_html(nb: Any, title: str) -> str:
    """The executed notebook as one HTML page: outputs only, no prompts, no network references."""
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"trailbook_report.html.j2": _TEMPLATE})],
        template_file="trailbook_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    nb = _with_empty_notes(_with_alt_text(copy.deepcopy(nb)))
    page, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    found = external_resources(page)
    if found:
        raise ValueError(f"rendered report for {title!r} references network resources: {found[:3]}")
    return page


# --- PDF copies (`trailbook report --pdf`) --------------------------------------------------------

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Headless, sandbox off (containers and CI runners have none), and no network: the pages are
# self-contained, so nothing is resolved or fetched, and Chromium's own background calls are off.
_PDF_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND", "--no-pdf-header-footer",
              "--virtual-time-budget=10000"]
PDF_TIMEOUT_S = 180


def find_chromium() -> str | None:
    """The Chromium (or Chrome) on PATH, or None; TRAILBOOK_CHROMIUM names one explicitly."""
    import os
    import shutil

    given = os.environ.get("TRAILBOOK_CHROMIUM")
    if given is not None:
        return shutil.which(given) if given else None
    return next((found for found in map(shutil.which, CHROMIUM_NAMES) if found), None)


def print_pdf(chromium: str, page: Path, pdf: Path) -> None:
    """Print one page of the run to PDF with headless Chromium. Raises OSError when no PDF was written."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="trailbook-pdf-") as profile:
        done = subprocess.run([chromium, *_PDF_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf}",
                               page.resolve().as_uri()], capture_output=True, text=True, timeout=PDF_TIMEOUT_S,
                              check=False)
    if not pdf.is_file() or pdf.stat().st_size == 0 or not pdf.read_bytes().startswith(b"%PDF"):
        tail = " ".join((done.stderr or "").split())[-300:]
        raise OSError(f"Chromium wrote no PDF for {page.name} (exit {done.returncode}): {tail}")
