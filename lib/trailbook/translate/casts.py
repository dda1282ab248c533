"""Rewrites that depend on operand types: casts, division, from_unixtime and date_add."""

from __future__ import annotations

from sqlglot import exp

from .common import Handler, TranslationError, unit


def _unix_to_time(node: exp.UnixToTime, types: dict) -> None:
    for arg in ("zone", "hours", "minutes", "format"):
        if node.args.get(arg) is not None:
            raise TranslationError(f"from_unixtime with a time zone: {node.sql('trino')}")
    return None


_REAL = (exp.DType.DOUBLE, exp.DType.FLOAT)
_TIMESTAMPS = (exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ, exp.DType.TIMESTAMPLTZ,
               exp.DType.TIMESTAMP_S, exp.DType.TIMESTAMP_MS, exp.DType.TIMESTAMP_NS)


def _cast(node: exp.Cast, types: dict) -> exp.Expression | None:
    target = node.to
    if target.is_type(exp.DType.IPADDRESS):
        return None  # consumed by contains(); anything left over is rejected afterwards
    if target.is_type(exp.DType.JSON):
        raise TranslationError(f"CAST(... AS JSON) differs on DuckDB (use json_parse): {node.sql('trino')}")
    operand = (types.get(id(node)) or [None])[0]
    if operand is None:
        return None
    if target.is_type(*exp.DataType.TEXT_TYPES) and operand.is_type(*_TIMESTAMPS, *_REAL):
        raise TranslationError("CAST of a timestamp/double to VARCHAR renders differently on "
                               f"DuckDB (use to_iso8601/format): {node.sql('trino')}")
    if target.is_type(*exp.DataType.INTEGER_TYPES) and operand.is_type(*_REAL):
        # Trino rounds half away from zero; DuckDB rounds half to even.
        node.set("this", exp.Round(this=node.this))
    return None


def _div(node: exp.Div, types: dict) -> None:
    left, right = types.get(id(node)) or [None, None]
    if any(t is not None and t.is_type(exp.DType.DECIMAL) for t in (left, right)):
        raise TranslationError("division with a DECIMAL operand rounds to the operand scale on "
                               f"Trino; CAST an operand to DOUBLE: {node.sql('trino')}")
    if left is None or right is None:
        raise TranslationError("cannot tell whether this is integer division; CAST an operand "
                               f"to DOUBLE or BIGINT: {node.sql('trino')}")
    if left.is_type(*exp.DataType.INTEGER_TYPES) and right.is_type(*exp.DataType.INTEGER_TYPES):
        # With typed operands sqlglot emits truncating integer division.
        node.left.type, node.right.type = left, right
        return None
    if not (left.is_type(*exp.DataType.REAL_TYPES) or right.is_type(*exp.DataType.REAL_TYPES)):
        raise TranslationError(f"division of {left.sql()} by {right.sql()}: {node.sql('trino')}")
    return None


def _date_add(node: exp.DateAdd, types: dict) -> exp.Expression | None:
    operand = (types.get(id(node)) or [None])[0]
    step = unit(node.args.get("unit"))
    if operand is not None and operand.is_type(exp.DType.DATE) and step in (
            "day", "week", "month", "quarter", "year"):
        return exp.cast(node.copy(), exp.DType.DATE)  # Trino keeps a DATE a DATE
    return None


HANDLERS: dict[type, Handler] = {
    exp.UnixToTime: _unix_to_time,
    exp.Cast: _cast,
    exp.TryCast: _cast,
    exp.Div: _div,
    exp.DateAdd: _date_add,
}
