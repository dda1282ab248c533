"""Plots: matplotlib figures built from analysis results.

Every plot returns a `ReportFigure`, which shows itself as a PNG in any kernel whatever
matplotlib backend is active (papermill runs with a non-interactive one), so plots are
embedded in executed notebooks and their HTML reports.

In a redacted report (`trailbook.redact.active()`), every text a figure draws is
pseudonymized before it is drawn: titles, axis labels, tick labels, legends and
annotations. The PNG carries the drawn text in its `Description` metadata, so a test (or
an auditor) can read exactly what text a plot holds.
"""

from __future__ import annotations

import importlib
import io
from typing import Any

from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

from .. import redact

# `tb.plots.logins` loads on first use, so a notebook's import cell does not pay for matplotlib.
_SUBMODULES = {"hygiene", "keys", "logins", "permissions"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'trailbook.plots' has no attribute {name!r}")


def figure_texts(fig: Figure) -> list[str]:
    """Every non-empty text the figure draws (after a draw, tick labels included)."""
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def redact_figure(fig: Figure, redactor: Any) -> Figure:
    """Pseudonymize every text of the figure in place: text artists, and tick labels through their formatters."""
    for axes in fig.get_axes():
        for axis in (axes.xaxis, axes.yaxis):
            for which in ("major", "minor"):
                formatter = axis.get_major_formatter() if which == "major" else axis.get_minor_formatter()
                if getattr(formatter, "_trailbook_redacted", False):
                    continue
                wrapped = FuncFormatter(lambda x, pos, f=formatter: redactor.text(str(f(x, pos))))
                wrapped._trailbook_redacted = True  # type: ignore[attr-defined]
                if which == "major":
                    axis.set_major_formatter(wrapped)
                else:
                    axis.set_minor_formatter(wrapped)
    for text in fig.findobj(Text):
        if text.get_text():
            text.set_text(redactor.text(text.get_text()))
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG, redacted when a redacted report runs, its drawn text in the metadata."""
    redactor = redact.active()
    if redactor is not None:
        redact_figure(fig, redactor)
    fig.draw_without_rendering()  # lays out tick labels, so their text is known
    if redactor is not None:
        redact_figure(fig, redactor)  # texts a draw created (offsets, date labels)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight",
                metadata={"Description": "\n".join(figure_texts(fig))})
    return buffer.getvalue()


class ReportFigure(Figure):
    """A Figure (not registered with pyplot) that displays as PNG."""

    def _repr_png_(self) -> bytes:
        return png_bytes(self)


def empty_figure(title: str, message: str) -> ReportFigure:
    """A small figure that says why there is nothing to plot."""
    fig = ReportFigure(figsize=(9, 2))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center")
    return fig
