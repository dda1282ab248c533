"""Data flows one way: a module may import only modules of its own layer or a lower one.

files → loader → store → engines ← catalog → session → analyses → plots → notebook → reports → cli
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lib" / "trailbook"

# Lower number = lower layer. Every module of the package must be listed.
LAYERS = {
    "schema": 0, "params": 0,
    "loader": 1, "geoip": 1, "redact": 1, "demo": 1, "iam": 1, "policy": 1,
    "store": 2, "translate": 2, "catalog": 2, "ddl": 2,
    "engines": 3,
    "findings": 4, "session": 4,
    "analyses": 5,
    "plots": 6,
    "notebook": 7, "html_render": 7,
    "reports": 8, "lab": 8,
    "cli": 9,
}


def _imports():
    """(importing module's top-level part, imported top-level part) for every relative import."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts == ("__init__",):
            continue  # the package root only re-exports lazily
        package = list(parts[:-1]) if parts[-1] != "__init__" else list(parts[:-1])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = base + (node.module.split(".") if node.module else [])
                names = [target] if node.module else [target + [alias.name] for alias in node.names]
                for name in names:
                    if name and name[0] != "__version__":
                        yield parts[0], name[0]


def test_every_module_has_a_layer():
    modules = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.iterdir()
               if (p.suffix == ".py" and p.name != "__init__.py") or (p.is_dir() and (p / "__init__.py").exists())}
    assert modules - set(LAYERS) == set(), "add new modules to LAYERS"


@pytest.mark.parametrize("importer,imported", sorted(set(_imports())))
def test_lower_layers_never_import_higher_ones(importer, imported):
    assert LAYERS[imported] <= LAYERS[importer], f"{importer} (layer {LAYERS[importer]}) imports {imported} (layer {LAYERS[imported]})"
