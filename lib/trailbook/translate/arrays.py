"""Rewrites of array functions, and contains() on arrays and on IPv4 networks."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from sqlglot import exp

from .common import Handler, TranslationError, fn, literal_string


def _array_slice(node: exp.ArraySlice, types: dict) -> exp.Expression:
    # sqlglot stores Trino's third argument (a length) as "end".
    if node.args.get("step") is not None or node.args.get("end") is None:
        raise TranslationError(f"slice needs (array, start, length): {node.sql('trino')}")
    return fn("tb_slice", node.this, node.args["start"], node.args["end"])


def _ip_range(cidr: str) -> tuple[int, int]:
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as err:
        raise TranslationError(f"contains(): invalid CIDR {cidr!r} ({err})") from err
    if network.version != 4:
        raise TranslationError(f"contains(): IPv6 network {cidr!r} is not supported locally")
    return int(network.network_address), int(network.broadcast_address)


def _is_ip_cast(node: exp.Expression) -> bool:
    return isinstance(node, (exp.Cast, exp.TryCast)) and node.to.is_type(exp.DType.IPADDRESS)


def _contains(node: exp.ArrayContains, types: dict) -> exp.Expression:
    network, address = node.this, node.expression
    if _is_ip_cast(address) or (isinstance(network, exp.Literal) and network.is_string):
        if not _is_ip_cast(address):
            raise TranslationError("contains(<CIDR>, x) needs x as TRY_CAST(x AS IPADDRESS): "
                                   + node.sql("trino"))
        lo, hi = _ip_range(literal_string(network, "contains() network"))
        convert = "tb_try_ipaddress" if isinstance(address, exp.TryCast) else "tb_ipaddress"
        return fn("tb_ipv4_in_range", fn(convert, address.this),
                   exp.Literal.number(lo), exp.Literal.number(hi))
    return fn("tb_contains", network, address)


def _unary_macro(name: str) -> Callable:
    def handler(node: exp.Expression, types: dict) -> exp.Expression:
        return fn(name, node.this)
    return handler


def _array_position(node: exp.ArrayPosition, types: dict) -> exp.Expression:
    return fn("tb_array_position", node.this, node.expression)


def _array_set_op(name: str) -> Callable:
    def handler(node: exp.Expression, types: dict) -> exp.Expression:
        arrays = [node.this, node.expression] if node.args.get("expression") else node.expressions
        if len(arrays) != 2:
            raise TranslationError(f"{name} takes two arrays: {node.sql('trino')}")
        return fn(name, *arrays)
    return handler


def _array_size(node: exp.ArraySize, types: dict) -> exp.Expression | None:
    operand = (types.get(id(node)) or [None])[0]
    if operand is not None and operand.is_type(exp.DType.MAP):
        return fn("cardinality", node.this)
    return None


def _array_sort(node: exp.ArraySort, types: dict) -> None:
    if node.args.get("expression") is not None:
        raise TranslationError(f"array_sort with a comparator: {node.sql('trino')}")
    return None


def _split(node: exp.Split, types: dict) -> None:
    if node.args.get("limit") is not None:
        raise TranslationError(f"split with a limit: {node.sql('trino')}")
    return None


def _split_part(node: exp.SplitPart, types: dict) -> exp.Expression:
    return fn("tb_split_part", node.this, node.args["delimiter"], node.args["part_index"])


def _arg_max_min(name: str) -> Callable:
    def handler(node: exp.Expression, types: dict) -> exp.Expression:
        if node.args.get("count") is not None:
            raise TranslationError(f"{name} with a count: {node.sql('trino')}")
        # Trino keeps the value of the winning row even when it is NULL; arg_max skips it.
        return fn(name, node.this, node.expression)
    return handler


def _reduce(node: exp.Reduce, types: dict) -> None:
    finish = node.args.get("finish")
    if finish is None:
        return None
    params = finish.expressions if isinstance(finish, exp.Lambda) else []
    if len(params) == 1 and isinstance(finish.this, (exp.Identifier, exp.Column)) \
            and finish.this.name == params[0].name:
        node.set("finish", None)  # the usual identity finish (s -> s); list_reduce has none
        return None
    raise TranslationError(f"reduce with a non-identity output function: {node.sql('trino')}")


def _bracket(node: exp.Bracket, types: dict) -> None:
    """Trino refuses a[0] and a negative subscript, and element_at(a, 0); element_at(a, -n) counts
    from the end, as DuckDB's a[-n] does. sqlglot keeps a subscript's index 0-based (it subtracts
    Trino's offset of 1) and element_at's as written (``offset`` set)."""
    index = node.expressions[0] if len(node.expressions) == 1 else None
    negative = isinstance(index, exp.Neg)
    literal = index.this if isinstance(index, exp.Neg) else index
    if not isinstance(literal, exp.Literal) or literal.is_string or not literal.this.isdigit():
        return None
    if node.this.is_type(exp.DataType.Type.MAP):
        return None  # a map's key, not a position
    value = -int(literal.this) if negative else int(literal.this)
    element_at = bool(node.args.get("offset"))
    position = value if element_at else value + 1
    if position == 0:
        raise TranslationError(f"array indices start at 1: {node.sql('trino')}")
    if position < 0 and not element_at:
        raise TranslationError(f"an array subscript cannot be negative: {node.sql('trino')}")
    return None


HANDLERS: dict[type, Handler] = {
    exp.ArraySlice: _array_slice,
    exp.ArrayContains: _contains,
    exp.ArrayDistinct: _unary_macro("tb_array_distinct"),
    exp.ArrayMax: _unary_macro("tb_array_max"),
    exp.ArrayMin: _unary_macro("tb_array_min"),
    exp.ArrayPosition: _array_position,
    exp.ArrayExcept: _array_set_op("tb_array_except"),
    exp.ArrayIntersect: _array_set_op("tb_array_intersect"),
    exp.ArraySize: _array_size,
    exp.ArraySort: _array_sort,
    exp.Split: _split,
    exp.SplitPart: _split_part,
    exp.ArgMax: _arg_max_min("arg_max_null"),
    exp.ArgMin: _arg_max_min("arg_min_null"),
    exp.Bracket: _bracket,
    exp.Reduce: _reduce,
}
