"""Strict notebook parameters, and the session a notebook opens.

Notebooks call `begin(name, globals())` right after their `parameters` cell. Under papermill it
checks every name papermill injected against the notebook's own parameters cell, so a misspelt
`-p` name is an error (papermill itself only warns), then opens the session.

Only names papermill injected are checked: in JupyterLab the namespace also holds what the
notebook's own cells made (`session`, `findings`, ...), and re-running the parameters and `begin`
cells after editing a value must work without a kernel restart. The parameters cell is read from
the notebook's JSON with `ast`, not with papermill: importing papermill in the kernel (nbformat,
jsonschema and its grammars) took longer than everything else before the first result.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import params as P
from .. import paths
from ..session import Session, open_session
from .display import install_figure_redaction

# Parameters every notebook shares; the rest are the notebook's own (thresholds, lists).
SESSION_PARAMETERS = ("engine", "source", "store", "start", "end", "accounts", "regions", "config", "byte_budget")
# papermill's injected-parameters cell starts with this line (PythonTranslator.codify's default
# comment), then assigns each value; the kernel sees it only as source in IPython's input history.
INJECTED_HEADER = "# Parameters"


class NotebookParameterError(P.ParameterError):
    """A notebook was given a parameter it does not declare, or a value of the wrong kind."""


def _assignment(node: ast.stmt, source: str) -> tuple[str, str, ast.expr] | None:
    """(name, annotation or "None", value) of a parameter assignment `name = ...` or `name: type = ...`."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id, "None", node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        note = node.annotation
        text = note.value if isinstance(note, ast.Constant) else ast.get_source_segment(source, note)
        return node.target.id, str(text).strip(), node.value
    return None


def _flatten(segment: str) -> str:
    """A value written over several lines as papermill gives it: comments dropped, lines stripped and joined."""
    comments = {tok.start[0]: tok.start[1] for tok in tokenize.generate_tokens(io.StringIO(segment).readline)
                if tok.type == tokenize.COMMENT}
    return "".join(line[: comments.get(number, len(line))].strip()
                   for number, line in enumerate(segment.split("\n"), start=1))


def parse_parameters(source: str) -> dict[str, dict[str, Any]]:
    """A parameters cell's parameters, as papermill's inspect_notebook gives them for Python:
    {name: {name, inferred_type_name, default (the value's source text), help (the line's comment)}}.

    The type is the annotation or a `# type: X` comment, else "None" (papermill infers no more).
    Unlike papermill, which reads line by line, a line holding a second `=` (in a string or a
    comment) is still read; a cell that is not valid Python is an error here, not a warning.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise NotebookParameterError(f"the parameters cell is not valid Python: {exc}") from None
    comments = {tok.start[0]: tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT}
    out: dict[str, dict[str, Any]] = {}
    for node in tree.body:
        found = _assignment(node, source)
        if found is None:
            continue
        name, type_name, value_node = found
        value = ast.get_source_segment(source, value_node)
        comment = comments.get(node.end_lineno or node.lineno, "#")[1:].strip()
        if comment.startswith("type:"):  # papermill: "# type: int  the help"
            words = comment[len("type:"):].strip().split(None, 1)
            type_name = type_name if type_name != "None" else (words[0] if words else "None")
            comment = words[1] if len(words) > 1 else ""
        out[name] = {"name": name, "inferred_type_name": type_name, "default": _flatten(value or ""),
                     "help": comment.strip()}
    return out


def read_parameters_cell(path: str | Path) -> dict[str, dict[str, Any]]:
    """The parameters of a notebook file's first cell tagged `parameters` (none when no cell is tagged)."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    for cell in notebook.get("cells", []):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = cell.get("source", "")
            return parse_parameters("".join(source) if isinstance(source, list) else source)
    return {}


def declared_parameters(name: str) -> dict[str, dict[str, Any]]:
    """The notebook's parameters cell, as papermill reads it: {name: {inferred_type_name, default, help}}."""
    path = paths.notebooks_dir() / f"{name}.ipynb"
    if not path.exists():
        raise FileNotFoundError(f"no notebook {path}")
    return read_parameters_cell(path)


def injected_names(namespace: Mapping[str, Any]) -> set[str]:
    """The names papermill's injected-parameters cell assigned in this kernel, read from IPython's
    input history (`In`): the kernel never sees cell tags, only the sources it ran."""
    history = namespace.get("In")
    names: set[str] = set()
    for source in history if isinstance(history, list) else ():
        if not isinstance(source, str) or source.split("\n", 1)[0].strip() != INJECTED_HEADER:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:  # the kernel refused it too: nothing was assigned
            continue
        names.update(found[0] for node in tree.body if (found := _assignment(node, source)))
    return names


def check_parameters(name: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook's parameter values; raises on any injected name the parameters cell does not declare."""
    declared = declared_parameters(name)
    unknown = sorted(injected_names(namespace) - set(declared))
    if unknown:
        raise NotebookParameterError(
            f"{name}: unknown parameter(s) {unknown}. This notebook takes: {', '.join(sorted(declared))}"
        )
    return {key: namespace[key] for key in declared if key in namespace}


def begin(name: str, namespace: Mapping[str, Any]) -> Session:
    """Validate the notebook's parameters and open its session (the first call after the parameters cell).

    Safe to call again in the same kernel (JupyterLab: edit a value, re-run from the parameters
    cell): it reads the current values and opens a new session.
    """
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
