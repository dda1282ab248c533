"""UNNEST (with row expansion, zipping and ORDINALITY) as DuckDB LATERAL subqueries."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from .common import Handler, TranslationError

_ROW_UNNEST = ("SELECT __tb_u.*{ord_col} FROM (SELECT UNNEST(__tb_arg0) AS __tb_u{ord_expr})")


def _unnest_subquery(unnest: exp.Unnest) -> tuple[exp.Subquery, exp.TableAlias]:
    """A DuckDB subquery with Trino's UNNEST columns, and the alias naming them."""
    arrays = list(unnest.expressions)
    alias = unnest.args.get("alias")
    if alias is None or not alias.columns:
        raise TranslationError("UNNEST needs a column alias list, e.g. UNNEST(x) AS t(a): "
                               + unnest.sql("trino"))
    names = list(alias.columns)
    ordinality = unnest.args.get("offset")
    if ordinality is True:
        raise TranslationError("WITH ORDINALITY needs a column alias: " + unnest.sql("trino"))
    if len(arrays) == 1 and len(names) > 1:
        # Trino expands each row element into one column per field.
        sql = _ROW_UNNEST.format(
            ord_col=", __tb_ord" if ordinality else "",
            ord_expr=", UNNEST(RANGE(1, COALESCE(LEN(__tb_arg0), 0) + 1)) AS __tb_ord" if ordinality else "")
    elif len(arrays) == len(names):
        # Several arrays are zipped and padded with NULLs, as DuckDB does for UNNESTs in one SELECT.
        items = [f"UNNEST(__tb_arg{i})" for i in range(len(arrays))]
        if ordinality:
            longest = ", ".join(f"COALESCE(LEN(__tb_arg{i}), 0)" for i in range(len(arrays)))
            items.append(f"UNNEST(RANGE(1, GREATEST({longest}) + 1))")
        sql = "SELECT " + ", ".join(items)
    else:
        raise TranslationError(f"UNNEST of {len(arrays)} arrays into {len(names)} columns: only "
                               "one array of rows may expand into several columns: " + unnest.sql("trino"))
    select = sqlglot.parse_one(sql, read="duckdb")
    for column in list(select.find_all(exp.Column)):
        match = re.fullmatch(r"__tb_arg(\d+)", column.name)
        if match and not column.table:
            column.replace(arrays[int(match.group(1))].copy())
    columns = [name.copy() for name in names] + ([ordinality.copy()] if ordinality else [])
    return exp.Subquery(this=select), exp.TableAlias(this=alias.this.copy() if alias.this else None,
                                                     columns=columns)


def _join(node: exp.Join, types: dict) -> None:
    if isinstance(node.this, exp.Unnest):
        subquery, alias = _unnest_subquery(node.this)
        node.set("this", exp.Lateral(this=subquery, alias=alias))
    return None


def _from(node: exp.From, types: dict) -> None:
    if isinstance(node.this, exp.Unnest):
        subquery, alias = _unnest_subquery(node.this)
        subquery.set("alias", alias)
        node.set("this", subquery)
    return None


HANDLERS: dict[type, Handler] = {
    exp.Join: _join,
    exp.From: _from,
}
