"""Kernel-side helpers for trailbook's notebooks: strict parameters (`parameters`), display (`display`).

Notebooks use `tb.notebook.begin`, `show_findings`, `show_table` and `show_evidence`; those names
stay here.
"""

from __future__ import annotations

from .display import show_evidence, show_findings, show_table
from .parameters import (
    SESSION_PARAMETERS,
    NotebookParameterError,
    begin,
    check_parameters,
    declared_parameters,
)

__all__ = ["SESSION_PARAMETERS", "NotebookParameterError", "begin", "check_parameters", "declared_parameters",
           "show_evidence", "show_findings", "show_table"]
