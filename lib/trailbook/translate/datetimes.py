"""parse_datetime and format_datetime: Joda patterns as strftime."""

from __future__ import annotations

from sqlglot import exp

from .common import Handler, TranslationError, fn, literal_string

_JODA = {
    "y": [(4, "%Y"), (3, "%Y"), (2, "%y"), (1, "%Y")],
    "Y": [(4, "%Y"), (3, "%Y"), (2, "%y"), (1, "%Y")],
    "M": [(4, "%B"), (3, "%b"), (2, "%m"), (1, "%-m")],
    "d": [(2, "%d"), (1, "%-d")],
    "D": [(3, "%j"), (1, "%-j")],
    "H": [(2, "%H"), (1, "%-H")],
    "h": [(2, "%I"), (1, "%-I")],
    "m": [(2, "%M"), (1, "%-M")],
    "s": [(2, "%S"), (1, "%-S")],
    "a": [(1, "%p")],
    "E": [(4, "%A"), (1, "%a")],
    "e": [(1, "%u")],
}
_FRACTION = {3: "%g", 6: "%f", 9: "%n"}
# The session is UTC, so zone letters print constants when formatting.
_ZONE_TEXT = {"Z": "+0000", "ZZ": "+00:00", "ZZZ": "UTC", "z": "UTC", "zz": "UTC", "zzz": "UTC"}


def _joda_to_strftime(pattern: str, parsing: bool) -> str:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end == -1:
                raise TranslationError(f"unterminated quote in datetime pattern {pattern!r}")
            out.append("'" if end == i + 1 else pattern[i + 1:end].replace("%", "%%"))
            i = end + 1
            continue
        run = len(pattern) - i - len(pattern[i:].lstrip(ch)) if ch.isalpha() else 1
        token = pattern[i:i + run]
        if ch in _JODA:
            spec = next(code for length, code in _JODA[ch] if run >= length)
            out.append(spec.replace("%-", "%") if parsing else spec)
        elif ch == "S" and run in _FRACTION:
            out.append(_FRACTION[run])
        elif ch == "Z" and parsing and run <= 2:
            out.append("%z")
        elif token in _ZONE_TEXT and not parsing:
            out.append(_ZONE_TEXT[token])
        elif ch.isalpha():
            raise TranslationError(f"datetime pattern letter {token!r} in {pattern!r} is not supported")
        else:
            out.append("%%" if ch == "%" else ch)
        i += run
    return "".join(out)


def _parse_datetime(node: exp.ParseDatetime, types: dict) -> exp.Expression:
    fmt = _joda_to_strftime(literal_string(node.args.get("format"), "parse_datetime pattern"), True)
    return exp.cast(fn("strptime", node.this, exp.Literal.string(fmt)), exp.DType.TIMESTAMPTZ)


def format_datetime(node: exp.Anonymous, types: dict) -> exp.Expression:
    if len(node.expressions) != 2:
        raise TranslationError(f"format_datetime takes (timestamp, pattern): {node.sql('trino')}")
    value, pattern = node.expressions
    fmt = _joda_to_strftime(literal_string(pattern, "format_datetime pattern"), False)
    return fn("strftime", value, exp.Literal.string(fmt))


HANDLERS: dict[type, Handler] = {
    exp.ParseDatetime: _parse_datetime,
}
