"""Data flows one way: a module may import only modules of its own layer or a lower one.

The table below is the intended architecture (the README's layout section explains it). Every
import of a trailbook module is checked, relative or absolute, at module level or inside a
function, so a lazy import cannot hide an upward arrow either.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lib" / "trailbook"

# Lower number = lower layer. Every top-level module or package of trailbook is listed.
LAYERS = {
    # foundations: no trailbook imports but each other
    "errors": 0, "paths": 0, "contract": 0, "schema": 0, "params": 0, "resource_policy": 0,
    # readers of files and AWS, and the demo generator
    "loader": 1, "geoip": 1, "redact": 1, "mask": 1, "demo": 1, "aws": 1, "stages": 1,
    # the local store, SQL translation, IAM collection and snapshots
    "store": 2, "translate": 2, "iam": 2,
    # where SQL runs, and the Athena table it runs on (DDL shares the engine's defaults)
    "engines": 3, "ddl": 3,
    # the catalog (knows the engines' names), sources resolved into stores, the findings shape
    "catalog": 4, "sources": 4, "findings": 4, "incidents": 4,
    # the cloud engines' preflight checks (they run a test query through an engine, compare with ddl)
    "doctor": 4,
    "session": 5, "estimate": 5,
    "analyses": 6, "coverage": 6,
    "plots": 7,
    "notebook": 8,
    "reports": 9, "lab": 9,
    "cli": 10,
}


def _module_of(path: Path) -> tuple[str, ...]:
    return path.relative_to(PACKAGE).with_suffix("").parts


def imports_of(path: Path, source: str | None = None):
    """The top-level trailbook module of every import in one file (relative and absolute)."""
    parts = _module_of(path)
    package = list(parts[:-1])
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names = alias.name.split(".")
                if names[0] == "trailbook" and len(names) > 1:
                    yield names[1]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "trailbook":
                target = node.module.split(".")[1:]
            else:
                continue
            candidates = [target] if target else [[alias.name] for alias in node.names]
            for name in candidates:
                if name and name[0] != "__version__":
                    yield name[0]


def _imports():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = _module_of(path)
        if parts == ("__init__",):
            continue  # the package root only re-exports lazily
        for imported in imports_of(path):
            yield parts[0].removesuffix(".py"), imported


def test_every_module_has_a_layer():
    modules = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.iterdir()
               if (p.suffix == ".py" and p.name != "__init__.py") or (p.is_dir() and (p / "__init__.py").exists())}
    assert modules - set(LAYERS) == set(), "add new modules to LAYERS"
    assert set(LAYERS) - modules == set(), "remove modules that no longer exist from LAYERS"


@pytest.mark.parametrize("importer,imported", sorted(set(_imports())))
def test_lower_layers_never_import_higher_ones(importer, imported):
    assert imported in LAYERS, f"{importer} imports {imported}, which has no layer"
    assert LAYERS[imported] <= LAYERS[importer], (
        f"{importer} (layer {LAYERS[importer]}) imports {imported} (layer {LAYERS[imported]})")


@pytest.mark.parametrize("statement", [
    "from ..reports import run_report",  # relative, two levels up
    "from trailbook.cli import main",  # absolute, from-import
    "import trailbook.reports.plan",  # absolute, plain import
    "from trailbook import cli",  # absolute, the package itself
])
def test_a_planted_upward_import_is_caught(statement):
    """The checker itself: an upward import planted in a low module must be seen, in every form."""
    planted = PACKAGE / "store" / "__init__.py" if (PACKAGE / "store").is_dir() else PACKAGE / "store.py"
    source = planted.read_text(encoding="utf-8") + f"\n\ndef _planted():\n    {statement}\n"
    found = {imported for imported in imports_of(planted, source) if LAYERS.get(imported, -1) > LAYERS["store"]}
    assert found, f"{statement!r} in store was not seen as an upward import"
