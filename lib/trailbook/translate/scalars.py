"""Rewrites of date_diff, JSON functions, regexes and format()."""

from __future__ import annotations

import re

from sqlglot import exp

from .common import Handler, TranslationError, fn, json_path, literal_string, unit


def _date_diff(node: exp.DateDiff, types: dict) -> exp.Expression:
    # Trino: whole units elapsed (Joda getDifferenceAsLong); DuckDB date_sub has that meaning.
    return fn("date_sub", exp.Literal.string(unit(node.args.get("unit"))),
               node.expression, node.this)


def _json_extract_scalar(node: exp.JSONExtractScalar, types: dict) -> exp.Expression:
    return fn("tb_json_extract_scalar", node.this, json_path(node.expression, "json_extract_scalar"))


def _json_extract(node: exp.JSONExtract, types: dict) -> exp.Expression:
    if node.args.get("json_query"):
        raise TranslationError(f"json_query has no faithful DuckDB form: {node.sql('trino')}")
    if node.args.get("expressions"):
        raise TranslationError(f"json_extract with several paths: {node.sql('trino')}")
    return fn("tb_json_extract", node.this, json_path(node.expression, "json_extract"))


def _json_array_contains(node: exp.JSONArrayContains, types: dict) -> exp.Expression:
    return fn("tb_json_array_contains", node.this, node.expression)


def _regexp_extract(node: exp.RegexpExtract, types: dict) -> exp.Expression:
    for arg in ("position", "occurrence", "parameters"):
        if node.args.get(arg) is not None:
            raise TranslationError(f"regexp_extract with {arg}: {node.sql('trino')}")
    group = node.args.get("group") or exp.Literal.number(0)
    return fn("tb_regexp_extract", node.this, node.expression, group)


def _java_replacement_to_re2(text: str) -> str:
    """Trino (Joni) replacement syntax -> RE2: $n -> \\n, \\x -> literal x."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "$":
            if i + 1 < len(text) and text[i + 1].isdigit():
                out.append("\\" + text[i + 1])
                i += 2
                continue
            raise TranslationError(f"regexp_replace replacement {text!r}: only $0-$9 group "
                                   "references are supported")
        if ch == "\\":
            if i + 1 >= len(text):
                raise TranslationError(f"regexp_replace replacement {text!r} ends with a backslash")
            nxt = text[i + 1]
            out.append("\\\\" if nxt == "\\" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _regexp_replace(node: exp.RegexpReplace, types: dict) -> None:
    for arg in ("position", "occurrence", "modifiers"):
        if node.args.get(arg) is not None:
            raise TranslationError(f"regexp_replace with {arg}: {node.sql('trino')}")
    replacement = node.args.get("replacement")
    if replacement is None:
        return None
    if isinstance(replacement, exp.Lambda):
        raise TranslationError(f"regexp_replace with a lambda: {node.sql('trino')}")
    text = literal_string(replacement, "regexp_replace replacement")
    replacement.replace(exp.Literal.string(_java_replacement_to_re2(text)))
    return None


_JAVA_SPEC = re.compile(r"%(?:(\d+)\$)?([-#+ 0,(<]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def _format(node: exp.Format, types: dict) -> exp.Expression:
    fmt = literal_string(node.this, "format string")
    args = list(node.expressions)
    conversions: dict[int, str] = {}
    position = 0
    for match in _JAVA_SPEC.finditer(fmt):
        index, flags, _, _, conv = match.groups()
        if conv == "%":
            continue
        if conv not in "sdfexo" or set(flags) & set(",(<"):
            raise TranslationError(f"format specifier {match.group(0)!r} has no printf equivalent")
        if index:
            slot = int(index) - 1
        else:
            slot, position = position, position + 1
        if slot >= len(args):
            raise TranslationError(f"format {fmt!r} needs more arguments than given")
        kind = "s" if conv == "s" else "n"
        if conversions.setdefault(slot, kind) != kind:
            raise TranslationError(f"format {fmt!r} uses argument {slot + 1} as text and as a number")
    rendered = []
    for slot, arg in enumerate(args):
        if conversions.get(slot) == "s":
            # Java's Formatter prints %s with String.valueOf: NULL -> 'null'.
            arg = exp.Coalesce(this=exp.cast(arg, exp.DType.VARCHAR),
                               expressions=[exp.Literal.string("null")])
        rendered.append(arg)
    return fn("printf", exp.Literal.string(fmt), *rendered)


def _from_iso8601_timestamp(node: exp.FromISO8601Timestamp, types: dict) -> exp.Expression:
    return fn("tb_from_iso8601_timestamp", node.this)


HANDLERS: dict[type, Handler] = {
    exp.DateDiff: _date_diff,
    exp.JSONExtractScalar: _json_extract_scalar,
    exp.JSONExtract: _json_extract,
    exp.JSONArrayContains: _json_array_contains,
    exp.RegexpExtract: _regexp_extract,
    exp.RegexpReplace: _regexp_replace,
    exp.Format: _format,
    exp.FromISO8601Timestamp: _from_iso8601_timestamp,
}
