"""What every part of the translation shares: the error, and builders for sqlglot nodes."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp


class TranslationError(ValueError):
    """The Trino SQL can't be parsed, or uses something that would not be faithful on DuckDB."""


# A handler takes a node and the inferred operand types; it returns a replacement node, or
# None to keep the node (possibly edited in place).
# (Callable[..., ...]: each handler takes its own node class, which the dispatch guarantees.)
Handler = Callable[..., "exp.Expression | None"]


def fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=[a for a in args])


def literal_string(node: exp.Expression | None, what: str) -> str:
    if isinstance(node, exp.Literal) and node.is_string:
        return node.this
    raise TranslationError(f"{what} must be a string literal, got {node.sql('trino') if node else None!r}")


def unit(node: exp.Expression | None) -> str:
    if node is None:
        raise TranslationError("missing date/time unit")
    return (node.name if isinstance(node, (exp.Var, exp.Literal)) else node.sql()).lower()


_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(node: exp.Expression, func: str) -> exp.Literal:
    """A DuckDB JSON path literal for a Trino JSONPath; only $, keys and [n] are faithful."""
    if not isinstance(node, exp.JSONPath):
        raise TranslationError(f"{func}: the JSON path must be a literal like '$.a[0].b', got "
                               f"{node.sql('trino')}")
    out = ""
    for part in node.expressions:
        if isinstance(part, exp.JSONPathRoot):
            out += "$"
        elif isinstance(part, exp.JSONPathKey) and isinstance(part.this, str):
            key = part.this
            if _SIMPLE_KEY.fullmatch(key):
                out += "." + key
            elif '"' not in key and "\\" not in key:
                out += f'."{key}"'
            else:
                raise TranslationError(f"{func}: unsupported JSON path key {key!r}")
        elif isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, int) and part.this >= 0:
            out += f"[{part.this}]"
        else:
            # Name what is inside a subscript or key (`[*]`, `.*`, `[?(...)]`), else the part itself.
            inner = part.this if isinstance(part.this, exp.JSONPathPart) else part
            kind = type(inner).__name__.removeprefix("JSONPath").lower() or "part"
            raise TranslationError(f"{func}: a JSON path {kind} is not supported; use only $, "
                                   ".key, [\"key\"] and [n]")
    return exp.Literal.string(out)


def raising(message: str) -> Callable:
    def handler(node: exp.Expression, types: dict) -> None:
        raise TranslationError(f"{message}: {node.sql('trino')}")
    return handler

