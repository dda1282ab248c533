"""Trino functions sqlglot does not know: a verified translation, a DuckDB namesake, or an error."""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .common import Handler, TranslationError, fn, json_path, literal_string
from .datetimes import format_datetime


def _anonymous_macro(name: str, arity: int) -> Callable:
    def handler(node: exp.Anonymous, types: dict) -> exp.Expression:
        if len(node.expressions) != arity:
            raise TranslationError(f"{node.name} takes {arity} argument(s): {node.sql('trino')}")
        return fn(name, *node.expressions)
    return handler


def _json_size(node: exp.Anonymous, types: dict) -> exp.Expression:
    if len(node.expressions) != 2:
        raise TranslationError(f"json_size takes (json, path): {node.sql('trino')}")
    value, path = node.expressions
    text = literal_string(path, "json_size path")
    try:
        # Reuse sqlglot's JSONPath parser by parsing the path as json_extract_scalar's.
        quoted = text.replace("'", "''")
        parsed = sqlglot.parse_one(f"SELECT json_extract_scalar(x, '{quoted}')", read="trino")
        extract = parsed.find(exp.JSONExtractScalar)
    except SqlglotError as err:
        raise TranslationError(f"json_size path {text!r}: {err}") from err
    if extract is None:
        raise TranslationError(f"json_size path {text!r} did not parse as a JSON path")
    return fn("tb_json_size", value, json_path(extract.expression, "json_size"))


_ANONYMOUS: dict[str, Callable] = {
    "json_array_length": _anonymous_macro("tb_json_array_length", 1),
    "is_json_scalar": _anonymous_macro("tb_is_json_scalar", 1),
    "json_size": _json_size,
    "url_extract_host": _anonymous_macro("tb_url_extract_host", 1),
    "to_iso8601": _anonymous_macro("tb_to_iso8601", 1),
    "format_datetime": format_datetime,
    "array_union": _anonymous_macro("tb_array_union", 2),
}
# Unknown-to-sqlglot Trino functions whose DuckDB namesake has the same meaning.
_PASSTHROUGH = {"map_values", "map_entries", "histogram"}


def _anonymous(node: exp.Anonymous, types: dict) -> exp.Expression | None:
    name = node.name.lower()
    if name in _ANONYMOUS:
        return _ANONYMOUS[name](node, types)
    if name in _PASSTHROUGH:
        return None
    raise TranslationError(f"function {node.name}() has no verified DuckDB translation: "
                           f"{node.sql('trino')}")


HANDLERS: dict[type, Handler] = {
    exp.Anonymous: _anonymous,
}
