"""Notebook parameters: the parameters cell read without papermill (papermill is the oracle here),
the strict check of papermill's injected names, and the JupyterLab loop in a real kernel: run the
notebook, edit a value in the parameters cell, re-run from there, without a kernel restart.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import papermill
import pytest
from papermill.translators import PythonTranslator

from trailbook.notebook import parameters as NP
from trailbook.paths import notebooks_dir

NOTEBOOKS = sorted(notebooks_dir().glob("*.ipynb"))


def _papermill_reads(source: str) -> dict:
    return {p.name: p._asdict() for p in PythonTranslator.inspect({"source": source})}


def test_there_are_four_notebooks():
    assert [p.stem for p in NOTEBOOKS] == ["console_logins", "credential_hygiene", "key_anomalies",
                                           "unused_permissions"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_reads_as_papermill_reads_it(path):
    expected = dict(papermill.inspect_notebook(str(path)))
    assert len(expected) >= 10
    assert NP.read_parameters_cell(path) == expected


def test_the_kinds_of_assignment_papermill_knows():
    # Annotations, "# type:" comments, a list over several lines with a comment inside, literals.
    source = (
        "# a comment line\n"
        'engine = "local"        # local | athena | lake\n'
        "\n"
        "threshold: int = 10  # failures\n"
        "ratio = 0.5  # type: float  share of calls\n"
        'names: "list[str]" = ["a", \'b\']\n'
        'nested: dict[str, int] = {"a": 1}\n'
        "cidrs = [\n"
        '    "10.0.0.0/8",  # private\n'
        '    "192.168.0.0/16",\n'
        "]  # allowed ranges\n"
        "flag = True\n"
        "nothing = None\n"
        'empty = ""\n'
        "neg = -3\n"
    )
    expected = _papermill_reads(source)
    assert len(expected) == 10 and expected["cidrs"]["default"] == '["10.0.0.0/8","192.168.0.0/16",]'
    assert NP.parse_parameters(source) == expected


def test_a_cell_without_a_parameters_tag_declares_nothing(tmp_path):
    path = tmp_path / "plain.ipynb"
    path.write_text(json.dumps({"cells": [{"id": "x", "cell_type": "code", "metadata": {}, "source": ["x = 1\n"],
                                           "execution_count": None, "outputs": []}],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert NP.read_parameters_cell(path) == {} == dict(papermill.inspect_notebook(str(path)))


# --- the strict check --------------------------------------------------------------------

PARAMETERS_CELL = 'start = "2026-10-22T00:00:00Z"\nend = "2026-10-29T00:00:00Z"\nthreshold = 10\n'


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A notebook `tiny` with three parameters, found through TRAILBOOK_NOTEBOOKS (a kernel inherits it)."""
    cells = [
        {"id": "parameters", "cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": PARAMETERS_CELL,
         "execution_count": None, "outputs": []},
        {"id": "check", "cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "import trailbook.notebook.parameters as NP\n"
                   "print(NP.check_parameters('tiny', globals()))"},
    ]
    path = tmp_path / "tiny.ipynb"
    path.write_text(json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"},
        "language_info": {"name": "python"}}}))
    monkeypatch.setenv("TRAILBOOK_NOTEBOOKS", str(tmp_path))
    return path


def _namespace(*cells: str) -> dict:
    """What a kernel's globals() hold after running these cells: their names, and IPython's `In`."""
    namespace: dict = {"In": ["", *cells]}
    for cell in cells:
        exec(cell, namespace)  # noqa: S102 - test cells written here
    namespace.pop("__builtins__")
    return namespace


def test_names_the_notebooks_own_cells_made_are_not_parameters(tiny):
    # JupyterLab after one run: the user's cells made `session` and `found`; the cell is re-run with a new value.
    namespace = _namespace(PARAMETERS_CELL, "session = object()\nfound = [1]\n", 'start = "2026-10-25"\n')
    assert NP.check_parameters("tiny", namespace) == {
        "start": "2026-10-25", "end": "2026-10-29T00:00:00Z", "threshold": 10}


def test_a_name_papermill_injected_must_be_declared(tiny):
    injected = '# Parameters\nthreshold = 3\nthreshhold = 4\n'
    with pytest.raises(NP.NotebookParameterError, match=r"unknown parameter\(s\) \['threshhold'\]"):
        NP.check_parameters("tiny", _namespace(PARAMETERS_CELL, injected))
    # Declared names are fine, and the injected value wins.
    namespace = _namespace(PARAMETERS_CELL, "# Parameters\nthreshold = 3\n", "session = 1\n")
    assert NP.check_parameters("tiny", namespace)["threshold"] == 3
    # Still strict when the injected cell is run again later (an executed report re-run in Lab).
    namespace = _namespace(PARAMETERS_CELL, injected, "session = 1\n", PARAMETERS_CELL, injected)
    with pytest.raises(NP.NotebookParameterError, match="threshhold"):
        NP.check_parameters("tiny", namespace)


@pytest.mark.slow
def test_papermill_injects_declared_names_and_refuses_a_misspelt_one(tiny, tmp_path):
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(tiny), str(out), kernel_name="python3", progress_bar=False,
                               parameters={"threshold": 5})
    outputs = json.loads(out.read_text())["cells"][-1]["outputs"]
    printed = "".join("".join(o.get("text", "")) for o in outputs)  # nbformat may split text into lines
    assert "'threshold': 5" in printed
    with pytest.raises(papermill.PapermillExecutionError, match=r"unknown parameter\(s\) \['treshold'\]"):
        papermill.execute_notebook(str(tiny), str(out), kernel_name="python3", progress_bar=False,
                                   parameters={"treshold": 5})


# --- the Lab loop in a real kernel ---------------------------------------------------------

class Kernel:
    """A kernel run cell by cell, as JupyterLab runs it."""

    def __init__(self, env: dict[str, str]) -> None:
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(kernel_name="python3", env=env)

    def run(self, source: str) -> list[dict]:
        outputs: list[dict] = []
        reply = self.client.execute_interactive(
            source, timeout=600, output_hook=lambda msg: outputs.append(msg))  # a bound, not a timing check
        errors = [m["content"] for m in outputs if m["msg_type"] == "error"]
        assert reply["content"]["status"] == "ok" and not errors, (source, errors or reply["content"])
        return outputs

    def value(self, expression: str) -> str:
        reply = self.client.execute_interactive("", user_expressions={"x": expression}, timeout=60)
        result = reply["content"]["user_expressions"]["x"]
        assert result["status"] == "ok", result
        return result["data"]["text/plain"]

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.mark.slow
def test_lab_loop_edit_a_parameter_and_rerun_without_a_restart(demo_dir, tmp_path):
    notebook = json.loads((notebooks_dir() / "console_logins.ipynb").read_text())
    cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    first = 0  # the parameters cell is the first code cell; then the imports, then begin
    assert 'start = "2026-10-22T00:00:00Z"' in cells[first]
    env = {**os.environ, "TRAILBOOK_DEMO_DIR": str(demo_dir), "TRAILBOOK_HOME": str(tmp_path / "home")}
    kernel = Kernel(env)
    try:
        for cell in cells:  # Run All
            kernel.run(cell)
        assert kernel.value("session.start.isoformat()") == "'2026-10-22T00:00:00+00:00'"
        before_new_start = "int((timeline['time'] < __import__('pandas').Timestamp('2026-10-25T00:00:00Z')).sum())"
        assert int(kernel.value(before_new_start)) > 0  # else moving start would prove nothing
        # The user edits start in the parameters cell and runs every cell again, from there.
        edited = cells[first].replace('start = "2026-10-22T00:00:00Z"', 'start = "2026-10-25T00:00:00Z"')
        for cell in [edited, *cells[first + 1:]]:
            kernel.run(cell)
        assert kernel.value("session.start.isoformat()") == "'2026-10-25T00:00:00+00:00'"
        assert kernel.value("session.notebook_parameters['start']") == "'2026-10-25T00:00:00Z'"
        # The window really moved: the timeline holds sign-ins, none before the new start.
        assert int(kernel.value(before_new_start)) == 0
        assert int(kernel.value("len(timeline)")) > 0
        # Re-running begin alone, after every cell has run, works too.
        kernel.run(cells[first + 2])
    finally:
        kernel.stop()


# --- the checked catalog a re-run and a new kernel reuse -------------------------------------

def test_the_strict_catalog_check_runs_once_per_query_files_and_code(tmp_path, monkeypatch):
    import shutil

    from trailbook import catalog as C
    from trailbook import paths
    from trailbook import session as S

    queries, code = tmp_path / "queries", tmp_path / "code"
    shutil.copytree(Path(C.__file__).parents[2] / "queries", queries)
    code.mkdir()
    (code / "module.py").write_text("X = 1\n")
    monkeypatch.setenv("TRAILBOOK_QUERIES", str(queries))
    monkeypatch.setenv("TRAILBOOK_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(paths, "PACKAGE_DIR", code)  # the code the verdict depends on
    loads: list[bool] = []  # strict or not, per load
    real = C.load_catalog

    def counting(root=None, *, strict=True):
        loads.append(strict)
        return real(root, strict=strict)

    monkeypatch.setattr(C, "load_catalog", counting)

    def session(new_kernel: bool = False):
        if new_kernel:  # a new process: nothing kept in memory, only the marker on disk
            monkeypatch.setattr(S, "_CATALOGS", {})
        return S.Session(object(), start="2026-10-22T00:00:00Z", end="2026-10-29T00:00:00Z")

    first = session(new_kernel=True)
    assert loads == [True] and len(first.catalog) >= 60
    assert session().catalog == first.catalog and loads == [True]  # a re-run of begin: kept in memory
    assert session(new_kernel=True).catalog == first.catalog and loads == [True, False]  # checked before
    one = next(queries.rglob("root_activity.sql"))
    one.write_text(one.read_text() + "\n-- edited\n")  # a changed query file is checked again
    assert session().catalog["root_activity"].sql.endswith("-- edited\n") and loads[-1] is True
    (code / "module.py").write_text("X = 2\n")  # so is changed code, in a new kernel
    session(new_kernel=True)
    assert loads[-1] is True and len(loads) == 4
    one.write_text("not a query header\n")
    for new_kernel in (False, True):
        with pytest.raises(C.CatalogError):
            session(new_kernel)
