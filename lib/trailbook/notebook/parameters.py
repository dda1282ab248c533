"""Strict notebook parameters, and the session a notebook opens.

Notebooks call `begin(name, globals())` right after their `parameters` cell. It checks every
name papermill injected against the notebook's own parameters cell, so a misspelt `-p` name is
an error even under plain papermill (which only warns), then opens the session.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

from .. import params as P
from .. import paths
from ..session import Session, open_session
from .display import install_figure_redaction

# Names IPython itself puts in a kernel's namespace.
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}
# Parameters every notebook shares; the rest are the notebook's own (thresholds, lists).
SESSION_PARAMETERS = ("engine", "source", "store", "start", "end", "accounts", "regions", "config", "byte_budget")


class NotebookParameterError(P.ParameterError):
    """A notebook was given a parameter it does not declare, or a value of the wrong kind."""


def declared_parameters(name: str) -> dict[str, dict[str, Any]]:
    """The notebook's parameters cell, as papermill reads it: {name: {inferred_type_name, default, help}}."""
    import papermill

    path = paths.notebooks_dir() / f"{name}.ipynb"
    if not path.exists():
        raise FileNotFoundError(f"no notebook {path}")
    return dict(papermill.inspect_notebook(str(path)))


def _user_names(namespace: Mapping[str, Any]) -> set[str]:
    return {
        key for key, value in namespace.items()
        if not key.startswith("_") and key not in _KERNEL_NAMES and not isinstance(value, types.ModuleType)
    }


def check_parameters(name: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook's parameter values; raises on any name the parameters cell does not declare."""
    declared = declared_parameters(name)
    unknown = sorted(_user_names(namespace) - set(declared))
    if unknown:
        raise NotebookParameterError(
            f"{name}: unknown parameter(s) {unknown}. This notebook takes: {', '.join(sorted(declared))}"
        )
    return {key: namespace[key] for key in declared if key in namespace}


def begin(name: str, namespace: Mapping[str, Any]) -> Session:
    """Validate the notebook's parameters and open its session (the first call after the parameters cell)."""
    values = check_parameters(name, namespace)
    engine = str(values.get("engine", "local"))
    source = values.get("source") or None
    store = values.get("store") or None
    options: dict[str, Any] = {"config_file": str(values["config"])} if values.get("config") else {}
    session = open_session(
        engine,
        start=values["start"],
        end=values["end"],
        source=source,
        store=store,
        accounts=values.get("accounts") or (),
        regions=values.get("regions") or (),
        byte_budget=values.get("byte_budget") or None,
        **options,
    )
    install_figure_redaction()  # a redacted report: plots are pseudonymized before they are drawn
    session.notebook = name
    session.notebook_parameters = {k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items()}
    return session
