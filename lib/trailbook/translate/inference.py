"""Operand types for the rewrites that depend on them (integer division, casts, DATE arithmetic)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from trailbook import schema as ct_schema

# Tables the type inference knows by default (the local store's names for CloudTrail).
DEFAULT_TABLES = ("cloudtrail", "cloudtrail_logs")


def default_tables() -> dict[str, dict[str, str]]:
    columns = {name: ct_schema.store_type(typ) for name, typ in ct_schema.COLUMNS}
    columns.update({name: "VARCHAR" for name in ct_schema.PARTITION_NAMES})
    return {table: columns for table in DEFAULT_TABLES}


_TYPED = (exp.Div, exp.Cast, exp.TryCast, exp.DateAdd, exp.ArraySize)
# Types sqlglot leaves UNKNOWN for Trino functions (from the Trino function signatures).
_FALLBACK_TYPES: dict[type, exp.DType] = {
    exp.TimeToUnix: exp.DType.DOUBLE,
    exp.FromISO8601Timestamp: exp.DType.TIMESTAMPTZ,
    exp.ParseDatetime: exp.DType.TIMESTAMPTZ,
    exp.JSONExtractScalar: exp.DType.VARCHAR,
}


def infer_types(tree: exp.Expr, tables: Mapping[str, Mapping[str, str]]) -> dict[int, list]:
    """Operand types of the nodes whose translation depends on them, keyed by id(node).

    Typing runs on a copy (qualify rewrites the tree) where Trino decimal literals are made
    explicit DECIMAL casts, since sqlglot would type ``1.0`` as DOUBLE.
    """
    marked = [node for node in tree.walk() if isinstance(node, _TYPED)]
    if not marked:
        return {}
    for i, node in enumerate(marked):
        node.meta["tb_id"] = i
    copy = tree.copy()
    for lit in list(copy.find_all(exp.Literal)):
        if not lit.is_string and re.fullmatch(r"\d*\.\d*", lit.this):
            digits = lit.this.replace(".", "").lstrip("0") or "0"
            scale = len(lit.this.split(".")[1])
            lit.replace(exp.cast(lit.copy(), exp.DataType.build(
                f"DECIMAL({max(len(digits), scale, 1)}, {scale})")))
    schema: dict[str, object] = {name: dict(cols) for name, cols in tables.items()}
    # Best effort: whatever stays untyped makes casts._div() refuse, so failures here are never silent.
    try:
        copy = qualify(copy, schema=schema, dialect="athena", validate_qualify_columns=False,
                       quote_identifiers=False)
    except Exception:
        pass  # unqualified columns simply stay untyped
    try:
        copy = annotate_types(copy, schema=schema, dialect="athena")
    except Exception:
        return {}
    types: dict[int, list] = {}
    for typed in copy.walk():
        idx = typed.meta.get("tb_id") if isinstance(typed, _TYPED) else None
        if idx is None:
            continue
        operands = [typed.left, typed.right] if isinstance(typed, exp.Div) else [typed.this]
        types[id(marked[idx])] = [_type_of(op) for op in operands]
    return types


def _type_of(node: exp.Expr) -> exp.DataType | None:
    typ = node.type
    if typ is not None and typ.this != exp.DType.UNKNOWN:
        return typ
    fallback = _FALLBACK_TYPES.get(type(node))
    if fallback:
        return exp.DataType.build(fallback)
    if isinstance(node, (exp.TimestampTrunc, exp.DateAdd, exp.DateSub)):
        return _type_of(node.this)  # same type as the truncated/shifted value
    if isinstance(node, (exp.Add, exp.Sub)) and isinstance(node.right, exp.Interval):
        return _type_of(node.left)
    if isinstance(node, exp.Paren):
        return _type_of(node.this)
    return None

