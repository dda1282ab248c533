"""Render an executed notebook as one self-contained HTML page (code hidden, plots inline).

Reports are read offline by auditors, so nothing may load from the network. nbconvert's
lab template adds require.js, MathJax and mermaid from CDNs; the template below removes
those blocks. trailbook's outputs are tables (whose sort, filter and page script is inline,
notebook/tables.py) and PNG plots, inline as data: URIs with alt text. Pages use the full
width and link back to the run's index.
"""

from __future__ import annotations

import copy
import re
from typing import Any

_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block extra_css -%}
<style type="text/css">
body.jp-Notebook { max-width: none; margin: 0; padding: 8px 24px; box-sizing: border-box; }
nav.trailbook-back { font: 14px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 4px 0 8px; }
.jp-RenderedHTMLCommon table.trailbook-table { table-layout: auto; }
.jp-RenderedHTMLCommon table.trailbook-table th, .jp-RenderedHTMLCommon table.trailbook-table td {
  border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; max-width: none; }
.jp-RenderedHTMLCommon table.trailbook-table td { overflow-wrap: anywhere; }
.jp-RenderedHTMLCommon table.trailbook-table td.tb-id { white-space: nowrap; overflow-wrap: normal; }
.jp-RenderedHTMLCommon table.trailbook-table td.tb-time { overflow-wrap: normal; }
.jp-RenderedHTMLCommon table.trailbook-table td.tb-wide { min-width: 18em; }
.jp-RenderedHTMLCommon table.trailbook-table td.tb-num { text-align: right; }
table.trailbook-table th { background: #f3f3f3; }
.jp-RenderedHTMLCommon pre, details pre { white-space: pre-wrap; overflow-wrap: anywhere; }
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
    nb = _with_alt_text(copy.deepcopy(nb))
    page, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    found = external_resources(page)
    if found:
        raise ValueError(f"rendered report for {title!r} references network resources: {found[:3]}")
    return page
