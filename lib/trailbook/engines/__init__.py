"""Engines: where the catalog's SQL runs. A registry maps each engine's name to its class.

    from trailbook import engines
    engines.names()                      # ('local', 'athena', 'lake')
    engines.create("athena", accounts=[...], regions=[...], work_group="security")
    engines.register("mine", MyEngine)   # a class with Engine's interface

Every list of engine names (the catalog's `engines:` check, the CLI's choices, reports) reads
`names()`. Built-in engines are imported on first use, so naming them costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import UsageError

_BUILTIN = {
    "local": "trailbook.engines.local:LocalEngine",
    "athena": "trailbook.engines.athena:AthenaEngine",
    "lake": "trailbook.engines.lake:LakeEngine",
}


class EngineRegistry:
    """Engine names to engine classes (or `module:Class` texts, loaded when first asked for)."""

    def __init__(self) -> None:
        self._engines: dict[str, Any] = {}

    def register(self, name: str, engine: Any) -> None:
        self._engines[name] = engine

    def names(self) -> tuple[str, ...]:
        return tuple(self._engines)

    def get(self, name: str) -> Any:
        engine = self._engines.get(name)
        if engine is None:
            raise UsageError(f"engine must be one of {list(self._engines)}, not {name!r}")
        if isinstance(engine, str):
            module, _, attribute = engine.partition(":")
            engine = getattr(importlib.import_module(module), attribute)
            self._engines[name] = engine
        return engine


registry = EngineRegistry()
for _name, _target in _BUILTIN.items():
    registry.register(_name, _target)


def names() -> tuple[str, ...]:
    return registry.names()


def register(name: str, engine: Any) -> None:
    registry.register(name, engine)


def create(name: str, **options: Any) -> Any:
    """An engine by name, built from keyword options (each engine documents its own)."""
    return registry.get(name).from_options(**options)
