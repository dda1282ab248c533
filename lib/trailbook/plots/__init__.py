"""Plots: matplotlib figures built from analysis results.

Every plot returns a `ReportFigure`, which shows itself as a PNG in any kernel whatever
matplotlib backend is active (papermill runs with a non-interactive one), so plots are
embedded in executed notebooks and their HTML reports.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure


class ReportFigure(Figure):
    """A Figure (not registered with pyplot) that displays as PNG."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
        return buffer.getvalue()


def empty_figure(title: str, message: str) -> ReportFigure:
    """A small figure that says why there is nothing to plot."""
    fig = ReportFigure(figsize=(9, 2))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center")
    return fig
