"""Render an executed notebook as one self-contained HTML page (code hidden, plots inline).

Reports are read offline by auditors, so nothing may load from the network. nbconvert's
lab template adds require.js, MathJax and mermaid from CDNs; the template below removes
those blocks (trailbook's outputs are tables and PNG plots, which need no JavaScript).
Plots stay inline as data: URIs, which is nbconvert's default for image outputs.
"""

from __future__ import annotations

import re
from typing import Any

_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block extra_css -%}
<style type="text/css">
body { max-width: 1200px; margin: 0 auto; }
table.trailbook-table { border-collapse: collapse; font-size: 12px; }
.jp-RenderedHTMLCommon table.trailbook-table th, .jp-RenderedHTMLCommon table.trailbook-table td {
  border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
table.trailbook-table th { background: #f3f3f3; }
details pre { white-space: pre-wrap; background: #f7f7f7; padding: 6px; }
</style>
{%- endblock extra_css -%}
"""

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
    page, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    found = external_resources(page)
    if found:
        raise ValueError(f"rendered report for {title!r} references network resources: {found[:3]}")
    return page
