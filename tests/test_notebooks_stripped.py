"""Every committed notebook is stripped of outputs, has one parameters cell papermill can read, and keeps logic out.

Applies to notebooks/*.ipynb and to the report runner's fixture notebooks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIXTURES = sorted((Path(__file__).parent / "fixtures" / "notebooks").glob("*.ipynb"))
SHARED = ("engine", "source", "store", "start", "end", "accounts", "regions", "config", "byte_budget")
SQL = re.compile(r"\bSELECT\b[\s\S]*?\bFROM\b", re.IGNORECASE)


def _ids(paths):
    return [p.relative_to(ROOT).as_posix() for p in paths]


def _parameters_cell(nb):
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{len(tagged)} cells tagged 'parameters'; exactly one is needed"
    assert tagged[0].cell_type == "code"
    return tagged[0]


@pytest.mark.parametrize("path", SHIPPED + FIXTURES, ids=_ids(SHIPPED + FIXTURES))
def test_committed_stripped_with_one_readable_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4 and nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert "papermill" not in nb.metadata, "an executed notebook was committed"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"outputs left in: {cell.source[:60]!r}"
        assert "injected-parameters" not in cell.metadata.get("tags", [])
    cell = _parameters_cell(nb)
    assigned = {t.id for node in ast.parse(cell.source).body if isinstance(node, (ast.Assign, ast.AnnAssign))
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}
    # papermill skips any line with a second "=" (e.g. in its comment), so that parameter would be unknown.
    seen = set(papermill.inspect_notebook(str(path)))
    assert assigned == seen, f"papermill cannot read {sorted(assigned - seen)}: no '=' in parameter comments"
    missing = [name for name in SHARED if name not in seen]
    assert not missing, f"parameters cell lacks the shared names {missing}"


@pytest.mark.parametrize("path", SHIPPED + FIXTURES, ids=_ids(SHIPPED + FIXTURES))
def test_code_cells_hold_no_sql_functions_or_lambdas(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert not SQL.search(cell.source), f"SQL in a notebook cell: {cell.source[:80]!r}"
        assert not re.search(r"^\s*(async\s+)?def\s", cell.source, re.M), "a function defined in a notebook"
        assert not re.search(r"\blambda\b", cell.source), "a lambda in a notebook"


@pytest.mark.parametrize("path", SHIPPED, ids=_ids(SHIPPED))
def test_shipped_notebooks_begin_with_their_name_and_end_with_evidence(path):
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any(f'tb.notebook.begin("{path.stem}", globals())' in s for s in code)
    assert code[-1].strip() == "tb.notebook.show_evidence(session)"
