"""Which of the table's columns a query reads, from its SQL text (for an engine's shared scan).

A query can only name a column it reads, except through a star that reaches its result (the
result then has every column) or a NATURAL join (which matches columns by name): for those the
answer is None, meaning every column. Otherwise the answer is every table column whose name
appears as a word of the SQL (sqlglot's tokenizer: string literals and comments left out). That
is a superset (a CTE alias named like a column counts too), which only makes the copy wider.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlglot
from sqlglot.tokens import Token, TokenType

# A star after one of these is a projection (`SELECT *`, `t.*`, `, *`), not `count(*)` or `a * b`.
_PROJECTING = {TokenType.SELECT, TokenType.COMMA, TokenType.DOT, TokenType.DISTINCT, TokenType.ALL}
_ENDS_PROJECTION = {TokenType.FROM, TokenType.UNION, TokenType.EXCEPT, TokenType.INTERSECT}


def columns_read(sql: str, table_columns: Iterable[str]) -> list[str] | None:
    """The `table_columns` that `sql` (Trino) reads, in their given order; None when it may read
    them all (a result-level star or a NATURAL join)."""
    tokens = sqlglot.tokenize(sql, read="trino")
    if any(t.token_type == TokenType.NATURAL for t in tokens) or _star_in_result(tokens):
        return None
    words = {t.text.lower() for t in tokens if t.token_type != TokenType.STRING}
    return [c for c in table_columns if c.lower() in words]


def _star_in_result(tokens: list[Token]) -> bool:
    """Whether a SELECT at the outermost level (the result; a union's every branch) projects a star.
    Stars inside CTEs and subqueries only matter if the result's own projection is a star."""
    depth = 0
    in_projection = False
    seen_select = False
    previous: Token | None = None
    for token in tokens:
        kind = token.token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and kind == TokenType.SELECT:
            in_projection = seen_select = True
        elif depth == 0 and kind in _ENDS_PROJECTION:
            in_projection = False
        elif depth == 0 and in_projection and kind == TokenType.STAR and previous is not None \
                and previous.token_type in _PROJECTING:
            return True
        previous = token
    return not seen_select  # no outermost SELECT (a parenthesised query): assume the worst
