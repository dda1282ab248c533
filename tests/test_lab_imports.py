"""A notebook's first result does not wait for matplotlib: its import cell and `begin` leave it
unloaded (unless the report is redacted); the first plot loads it. Checked in fresh interpreters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


def _import_cell(name: str) -> str:
    cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
    return next("".join(c["source"]) for c in cells
                if c["cell_type"] == "code" and "".join(c["source"]).startswith("import trailbook"))


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.parametrize("name", ["console_logins", "credential_hygiene", "key_anomalies", "unused_permissions"])
def test_the_import_cell_loads_no_matplotlib_and_plots_load_on_use(name):
    plots = name.split("_")[0] if name != "key_anomalies" else "keys"
    plots = {"console": "logins", "credential": "hygiene", "unused": "permissions"}.get(plots, plots)
    code = (_import_cell(name) + "\nimport sys\nprint('matplotlib' in sys.modules)\n"
            f"module = tb.plots.{plots}\nprint(module.__name__, 'matplotlib' in sys.modules)")
    assert _run(code).splitlines() == ["False", f"trailbook.plots.{plots} True"]


def test_begin_display_setup_loads_matplotlib_only_for_a_redacted_report():
    code = ("import sys\nfrom IPython.core.interactiveshell import InteractiveShell\nInteractiveShell.instance()\n"
            "from trailbook.notebook.display import install_figure_redaction\n"
            "print(install_figure_redaction(), 'matplotlib' in sys.modules)")
    assert _run(code) == "False False"


def test_an_unknown_plots_attribute_is_an_attribute_error():
    assert _run("import trailbook.plots as p\ntry:\n    p.nope\nexcept AttributeError as e:\n    print(e)") == \
        "module 'trailbook.plots' has no attribute 'nope'"
