"""The translation pass: parse, infer types, rewrite each node bottom-up, emit DuckDB SQL."""

from __future__ import annotations

import re
from collections.abc import Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError

from . import anonymous, arrays, casts, datetimes, scalars, unnest
from .common import Handler, TranslationError, raising
from .inference import default_tables, infer_types


def to_duckdb(sql: str, tables: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Translate one Athena/Trino statement into DuckDB SQL with Trino semantics.

    ``tables`` maps table name -> {column: DuckDB type}, used to infer operand types (integer
    division); by default the CloudTrail store schema under the names in DEFAULT_TABLES.
    """
    tree = _parse(sql)
    types = infer_types(tree, tables if tables is not None else default_tables())
    for node in reversed(list(tree.walk())):  # children before parents
        handler = _HANDLERS.get(type(node))
        if handler is None:
            continue
        new = handler(node, types)
        if new is not None and new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    _reject_leftovers(tree)
    try:
        return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as err:
        raise TranslationError(f"no faithful DuckDB form: {err}") from err


def _parse(sql: str) -> exp.Expr:
    if not isinstance(sql, str) or not sql.strip():
        raise TranslationError("expected a non-empty SQL string")
    errors = []
    for dialect in ("athena", "trino"):
        try:
            statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
        except (ParseError, SqlglotError) as err:
            errors.append(f"{dialect}: " + re.sub(r"\x1b\[[0-9;]*m", "", str(err)))  # drop ANSI underline
            continue
        if len(statements) != 1:
            raise TranslationError(f"expected exactly one SQL statement, got {len(statements)}")
        return statements[0]
    raise TranslationError("cannot parse as Athena/Trino SQL:\n" + "\n".join(errors))


# Node type -> handler. Each module declares the nodes it rewrites; the rest are refused here.
_HANDLERS: dict[type, Handler] = {
    **scalars.HANDLERS, **arrays.HANDLERS, **casts.HANDLERS, **datetimes.HANDLERS,
    **anonymous.HANDLERS, **unnest.HANDLERS,
    exp.JSONValue: raising("json_value has no faithful DuckDB form"),
    exp.AtTimeZone: raising("AT TIME ZONE is not translated (DuckDB keeps no zone on values)"),
}


def _reject_leftovers(tree: exp.Expr) -> None:
    for node in tree.find_all(exp.DataType):
        if node.is_type(exp.DType.IPADDRESS):
            raise TranslationError("IPADDRESS values may only be used as contains(<CIDR>, "
                                   "TRY_CAST(x AS IPADDRESS))")
