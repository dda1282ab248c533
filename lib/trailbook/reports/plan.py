"""Plan a report: which notebooks run, with which checked parameters. Runs nothing.

Parameters are checked against each notebook's parameters cell before anything runs.
Shared values (engine, start, end, and any other name) go to every notebook that declares
them; a name no selected notebook declares is an error, as is a notebook that does not
declare engine/start/end, or one whose parameter defaults to None and is not given.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import catalog as C
from .. import engines, paths, sources
from .. import params as P
from ..errors import UsageError
from .checks import check_value

SHARED_REQUIRED = ("engine", "start", "end")
# Path parameters are made absolute against the caller's directory, so the record names exact files.
PATH_PARAMETERS = ("source", "store", "config")


class ReportUsageError(UsageError):
    """The report was asked for something invalid; nothing ran. Exit with `exit_code` (2)."""


@dataclass
class NotebookPlan:
    name: str
    path: Path
    declared: dict[str, dict[str, Any]]
    parameters: dict[str, Any]


@dataclass
class ReportPlan:
    notebooks: list[NotebookPlan]
    notebooks_dir: Path
    engine: str
    start: str
    end: str
    shared: dict[str, Any]
    fail_on: str | None
    cell_timeout: int
    jobs: int


def _select(notebooks: str | Sequence[str], folder: Path) -> list[Path]:
    available = {p.stem: p for p in sorted(folder.glob("*.ipynb"))}
    names = [notebooks] if isinstance(notebooks, str) else list(notebooks)
    if not names or names == ["all"]:
        if not available:
            raise ReportUsageError(f"no notebooks in {folder}")
        return list(available.values())
    unknown = [n for n in names if Path(n).stem not in available]
    if unknown:
        raise ReportUsageError(f"unknown notebook(s) {unknown}; available in {folder}: {sorted(available)}")
    return [available[Path(n).stem] for n in dict.fromkeys(names)]


def default_value(spec: Mapping[str, Any]) -> Any:
    """The parameters cell's default as a Python value (papermill gives its source text)."""
    try:
        return ast.literal_eval(str(spec.get("default")))
    except (ValueError, SyntaxError):
        return None  # an expression: no type to check against


def _coerce_like(default: Any, value: Any, what: str) -> Any:
    """Check `value` against the kind of the parameter's default; convert text where unambiguous."""
    if default is None or value is None:
        return value
    try:
        if isinstance(default, bool):
            return P.coerce("bool", value, what)
        if isinstance(default, int):
            return P.coerce("int", value, what)
        if isinstance(default, float):
            return P.coerce("float", value, what)
    except P.ParameterError as exc:
        raise ReportUsageError(str(exc)) from None
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ReportUsageError(f"{what}: expected text, got {type(value).__name__} {value!r}")
        return value
    if isinstance(default, (list, tuple)):
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)):
            raise ReportUsageError(f"{what}: expected a list, got {type(value).__name__} {value!r}")
        return list(value)
    if isinstance(default, dict) and not isinstance(value, dict):
        raise ReportUsageError(f"{what}: expected a mapping, got {type(value).__name__} {value!r}")
    return value


def _load_params_file(path: str | Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A YAML/JSON mapping of parameter names to values, with an optional `notebooks: {name: {...}}` section."""
    import yaml

    file = Path(path).expanduser()
    if not file.is_file():
        raise ReportUsageError(f"parameters file {file} does not exist")
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ReportUsageError(f"parameters file {file} is not valid YAML/JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise ReportUsageError(f"parameters file {file} must hold a mapping of parameter names to values")
    per_notebook = loaded.pop("notebooks", None) or {}
    if not isinstance(per_notebook, dict) or not all(isinstance(v, dict) for v in per_notebook.values()):
        raise ReportUsageError(f"parameters file {file}: `notebooks` must map notebook names to mappings")
    return loaded, per_notebook


def _check_options(engine: str, start: Any, end: Any, fail_on: str | None, cell_timeout: int,
                   jobs: int | None) -> tuple[str, str]:
    """The run's options, checked; returns the window as ISO text."""
    if engine not in engines.names():
        raise ReportUsageError(f"engine must be one of {list(engines.names())}, not {engine!r}")
    try:
        start_ts, end_ts = P.parse_timestamp(start, "start"), P.parse_timestamp(end, "end")
    except P.ParameterError as exc:
        raise ReportUsageError(str(exc)) from None
    if not start_ts < end_ts:
        raise ReportUsageError(f"start {P.iso(start_ts)} is not before end {P.iso(end_ts)}")
    if fail_on is not None and fail_on not in C.SEVERITIES:
        raise ReportUsageError(f"--fail-on must be one of {list(C.SEVERITIES)}, not {fail_on!r}")
    if not isinstance(cell_timeout, int) or cell_timeout <= 0:
        raise ReportUsageError(f"cell timeout must be a positive number of seconds, not {cell_timeout!r}")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ReportUsageError(f"jobs must be a positive integer, not {jobs!r}")
    return P.iso(start_ts), P.iso(end_ts)


def _shared_values(window: dict[str, str], given: dict[str, Any]) -> dict[str, Any]:
    """The values every notebook that declares them receives; the window is given only once."""
    for name, fixed in window.items():
        if name in given and str(given.pop(name)) != fixed:
            raise ReportUsageError(f"{name} is given twice with different values; pass it only as --{name}")
    for name in PATH_PARAMETERS:
        value = given.get(name)
        if isinstance(value, str):
            given[name] = sources.absolute(value)
    return {**window, **given}


def _plan_notebook(path: Path, shared: Mapping[str, Any], own: Mapping[str, Any],
                   problems: list[str]) -> NotebookPlan:
    """One notebook's parameters: its own section wins over shared values; problems are collected."""
    import papermill

    try:
        declared = dict(papermill.inspect_notebook(str(path)))
    except Exception as exc:  # papermill raises its own errors for unreadable notebooks
        raise ReportUsageError(f"cannot read the parameters cell of {path}: {exc}") from None
    for name in sorted(set(own) - set(declared)):
        problems.append(f"{path.stem}: unknown parameter {name!r} (declares: {', '.join(sorted(declared))})")
    for name in SHARED_REQUIRED:
        if name not in declared:
            problems.append(f"{path.stem}: its parameters cell does not declare {name!r}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in own:
            raw = own[name]
        elif name in shared:
            raw = shared[name]
        elif default_value(spec) is None and str(spec.get("default")).strip() == "None":
            problems.append(f"{path.stem}: parameter {name!r} has no default and was not given")
            continue
        else:
            continue
        try:
            values[name] = _coerce_like(default_value(spec), raw, f"{path.stem}: {name}")
            check_value(name, values[name], f"{path.stem}: {name}")
        except UsageError as exc:
            problems.append(str(exc))
    return NotebookPlan(path.stem, path, declared, values)


def plan_report(
    notebooks: str | Sequence[str] = "all",
    *,
    engine: str,
    start: Any,
    end: Any,
    params: Mapping[str, Any] | None = None,
    params_file: str | Path | None = None,
    fail_on: str | None = None,
    cell_timeout: int = 600,
    jobs: int | None = None,
    notebooks_dir: str | Path | None = None,
) -> ReportPlan:
    """Resolve notebooks and validate every parameter against their parameters cells. Runs nothing."""
    folder = (Path(notebooks_dir) if notebooks_dir else paths.notebooks_dir()).expanduser().resolve()
    if not folder.is_dir():
        raise ReportUsageError(f"notebooks folder {folder} does not exist")
    start_iso, end_iso = _check_options(engine, start, end, fail_on, cell_timeout, jobs)
    file_shared, file_per_notebook = _load_params_file(params_file) if params_file else ({}, {})
    given = {**file_shared, **dict(params or {})}
    # Relative times ("now-7d") are fixed once here, so every notebook and the record see one window.
    shared = _shared_values({"engine": engine, "start": start_iso, "end": end_iso}, given)

    chosen = _select(notebooks, folder)
    unknown_sections = sorted(set(file_per_notebook) - {p.stem for p in folder.glob("*.ipynb")})
    if unknown_sections:
        raise ReportUsageError(f"parameters file names unknown notebook(s) {unknown_sections}")
    problems: list[str] = []
    plans = [_plan_notebook(path, shared, file_per_notebook.get(path.stem, {}), problems) for path in chosen]
    declared_anywhere = {name for nb in plans for name in nb.declared}
    for name in sorted(set(given) - declared_anywhere):
        problems.append(f"unknown parameter {name!r}: none of {[p.stem for p in chosen]} declares it")
    if problems:
        raise ReportUsageError("invalid report parameters:\n  " + "\n  ".join(problems))
    chosen_jobs = max(1, min(jobs or os.cpu_count() or 1, len(plans)))
    return ReportPlan(plans, folder, engine, start_iso, end_iso, shared, fail_on, cell_timeout, chosen_jobs)
