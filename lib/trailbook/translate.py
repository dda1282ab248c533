"""Translate the query catalog's Athena (Trino) SQL into DuckDB SQL with Trino semantics.

The catalog is written once in Athena/Trino SQL; that text is the source of truth. The local
engine runs it on DuckDB: ``to_duckdb`` parses it with sqlglot, rewrites the constructs whose
plain sqlglot transpilation is silently different on DuckDB, and emits DuckDB SQL that calls
the ``tb_*`` macros created by ``install_macros`` (which also pins ``TimeZone='UTC'``).
Constructs that cannot be made faithful raise ``TranslationError`` instead of running with
different results.

Rewrites (each pinned by tests/test_translate.py against hand-derived Trino results):

- ``date_diff(unit, a, b)`` counts whole units elapsed -> DuckDB ``date_sub`` (``date_diff``
  counts boundaries crossed).
- ``CROSS JOIN UNNEST(array_of_row) AS t(a, b, c)`` expands row fields into columns,
  ``UNNEST(arr) AS t(x)``, ``UNNEST(a, b) AS t(x, y)`` (zipped, NULL-padded) and
  ``WITH ORDINALITY`` -> ``LATERAL (SELECT UNNEST(...))`` subqueries; ``LEFT JOIN UNNEST ... ON
  TRUE`` and ``FROM UNNEST(...)`` likewise. UNNEST always needs a column alias list.
- JSON: ``json_extract_scalar`` (NULL for objects, arrays, JSON null, missing paths and
  malformed JSON), ``json_extract``, ``json_array_contains``, ``json_array_length``,
  ``json_size``, ``is_json_scalar``; ``json_parse`` and ``json_format`` go through sqlglot.
  Paths must be literals using ``$``, ``.key``, ``["key"]`` and ``[n]`` only.
- Regex: ``regexp_extract`` gives NULL on no match; ``regexp_replace`` replacements with
  ``$n`` / ``\\x`` are rewritten to RE2's ``\\n`` syntax (must be a literal).
- Arrays: ``slice(arr, start, length)``, ``contains`` (NULL when absent but the array has
  NULLs), ``array_distinct`` / ``array_union`` / ``array_except`` / ``array_intersect`` (keep
  first-seen order), ``array_max`` / ``array_min`` (NULL if any element is NULL),
  ``array_position`` (0 when absent), ``cardinality`` of maps.
- Strings: ``format`` -> ``printf`` (``%s`` arguments rendered as text, NULL as ``null``),
  ``split_part`` (NULL past the last field), ``url_extract_host``.
- Time: ``from_iso8601_timestamp`` (millisecond precision, offsets normalised to UTC),
  ``to_iso8601`` (``...T..:..:...mmmZ``), ``format_datetime`` / ``parse_datetime`` (Joda
  patterns converted to strftime), ``date_add`` on a DATE stays a DATE.
- Aggregates: ``max_by`` / ``min_by`` keep a NULL value of the winning row (``arg_max_null``).
- Numbers: ``a / b`` on two integers truncates (types inferred with sqlglot from the literals,
  functions and the CloudTrail schema); ``CAST(double AS integer)`` rounds half away from zero.

IP spellings the catalog may use (there is no ``inet`` extension offline):

- "is this IP in this CIDR": ``contains('<IPv4 CIDR literal>', TRY_CAST(x AS IPADDRESS))``.
  TRY_CAST gives NULL for non-IP strings such as ``AWS Internal`` or ``ec2.amazonaws.com``, so
  ``contains`` is NULL for them (use ``COALESCE(..., false)`` to treat them as "not in"). An
  IPv6 address is never in an IPv4 network (false, as in Trino). The CIDR must be an IPv4
  literal with zero host bits; IPv6 networks raise ``TranslationError``. ``CAST`` instead of
  ``TRY_CAST`` fails the query on non-IP strings, on Athena and locally alike.
- "the /24 of an IPv4": ``regexp_extract(x, '^(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})\\.\\d{1,3}$', 1)``
  gives ``'a.b.c'`` (NULL for service names and IPv6); append ``|| '.0/24'`` for CIDR text.
- ``IPADDRESS`` values may appear only inside ``contains``; any other use raises.

Known gaps (each raises ``TranslationError`` at translate time unless marked "runtime"):

- Time zones: DuckDB TIMESTAMPTZ keeps no offset. Values are normalised to UTC, so a value
  parsed with a non-UTC offset truncates/formats by its UTC day and hour where Trino uses the
  value's own zone (runtime; CloudTrail times are always ``Z``). ``AT TIME ZONE``,
  ``at_timezone``, ``with_timezone`` and ``from_unixtime(x, zone)`` raise.
- ``to_iso8601`` prints milliseconds for every timestamp; Trino follows the type's precision
  (e.g. none for a ``TIMESTAMP '... 10:00:00'`` literal) (runtime).
- ``CAST(timestamp AS VARCHAR)`` and ``CAST(double AS VARCHAR)`` render differently
  (``... UTC`` suffix, ``1.5E0``): raise when the operand type is known; use ``to_iso8601``,
  ``format_datetime`` or ``format``.
- ``CAST(x AS JSON)`` (Trino makes a JSON *string* from varchar; DuckDB parses it): raises.
- Division with a DECIMAL operand (Trino rounds to the operand scale: ``1.0 / 3 = 0.3``) or an
  operand of unknown type: raises; CAST an operand to DOUBLE (or BIGINT).
- ``json_value``, ``json_query``, JSON paths with wildcards/filters or non-literal paths,
  ``split(s, d, limit)``, ``strpos(s, t, n)``, ``regexp_replace`` with a lambda or a
  non-literal replacement, ``max_by(x, y, n)``, ``element_at(arr, 0)``, ``array_sort`` with a
  comparator, and any function that parses as an unknown name without a verified translation
  (e.g. ``map_agg``, ``url_extract_path``, ``word_stem``): raise.
- Only what the battery covers is verified; other functions sqlglot knows (e.g. ``typeof``,
  ``approx_percentile``) pass through as sqlglot transpiles them (runtime).
- ``date_trunc`` of a DATE and ``DATE + INTERVAL`` give a TIMESTAMP at midnight instead of a
  DATE (type only; comparisons are unaffected) (runtime).
- UNNEST: a single-alias ``UNNEST(array_of_row) AS t(r)`` binds the whole struct (``r.arn``
  works) where Athena rejects it; alias counts are not checked against row widths; a
  multi-array UNNEST of rows raises.
- JSON numbers are re-serialised (``1.50`` -> ``'1.5'``) and malformed JSON is NULL even where
  Trino's streaming parser returns a value found before the syntax error (runtime).
- ``regexp_extract`` / ``regexp_extract_all`` of a group that did not take part in the match
  give ``''`` instead of NULL; regexes run on RE2, so Java-only syntax (look-around,
  back-references) fails loudly in DuckDB (runtime).
- ``format``: NULL arguments to non-``%s`` conversions give NULL instead of ``null``; only
  ``s d f e x o`` conversions (no ``,`` ``(`` ``<`` flags, no ``%n``) are accepted.
- Subscript ``arr[i]`` out of range is NULL locally and an error on Athena (runtime).
- Integer division by zero fails on both engines but with different messages (runtime).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from trailbook import schema as ct_schema


class TranslationError(ValueError):
    """The Trino SQL can't be parsed, or uses something that would not be faithful on DuckDB."""


# Tables the type inference knows by default (the local store's names for CloudTrail).
DEFAULT_TABLES = ("cloudtrail", "cloudtrail_logs")

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # no leading zeros, like Guava
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H16 = "[0-9a-fA-F]{1,4}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"
# RFC 3986 IPv6address grammar.
_IPV6 = "(?:" + "|".join([
    f"(?:{_H16}:){{6}}{_LS32}",
    f"::(?:{_H16}:){{5}}{_LS32}",
    f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
    f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
    f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
    f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
    f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
    f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
    f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
]) + ")"

# scheme://[userinfo@]host[:port] then a path/query/fragment or the end; group 1 is the host
# ('' quotes a single quote inside the SQL literal).
_URL_HOST = (r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?"
             r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&''()*+,;=-]*)(?::[0-9]*)?(?:[/?#]|$)")

# name -> (parameters, body). Bodies nest CASE instead of using AND so that DuckDB never
# evaluates json_type()/json_extract() on malformed JSON (which raises).
_MACROS: dict[str, tuple[str, str]] = {
    # --- JSON ---
    "tb_json_extract_scalar": ("j, p", """
        CASE WHEN json_valid(j) THEN
          CASE WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL
               ELSE json_extract_string(j, p) END
        END"""),
    "tb_json_extract": ("j, p", "CASE WHEN json_valid(j) THEN json_extract(j, p) END"),
    "tb_json_array_length": ("j", """
        CASE WHEN json_valid(j) THEN
          CASE WHEN json_type(j) = 'ARRAY' THEN json_array_length(j) END
        END"""),
    # Compare minified JSON text: a BIGINT only matches integer tokens, a DOUBLE only float
    # tokens, a string only strings - the typed matching of Trino's json_array_contains.
    "tb_json_array_contains": ("j, v", """
        CASE WHEN json_valid(j) THEN
          CASE WHEN json_type(j) = 'ARRAY' THEN
            list_contains(list_transform(json_extract(j, '$[*]'), lambda e: CAST(e AS VARCHAR)),
                          CAST(to_json(v) AS VARCHAR))
          END
        END"""),
    "tb_json_size": ("j, p", """
        CASE WHEN json_valid(j) THEN
          CASE WHEN json_type(j, p) IS NULL THEN NULL
               WHEN json_type(j, p) = 'ARRAY' THEN json_array_length(j, p)
               WHEN json_type(j, p) = 'OBJECT' THEN len(json_keys(j, p))
               ELSE 0 END
        END"""),
    "tb_is_json_scalar": ("j", """
        CASE WHEN json_valid(j) THEN json_type(j) NOT IN ('OBJECT', 'ARRAY')
             WHEN j IS NULL THEN NULL
             ELSE error('Invalid JSON value: ' || j) END"""),
    # --- strings and regexes ---
    "tb_regexp_extract": ("s, p, g", "CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, g) END"),
    "tb_split_part": ("s, d, i", """
        CASE WHEN i <= 0 THEN error('Index must be greater than zero')
             WHEN i > len(string_split(s, d)) THEN NULL
             ELSE split_part(s, d, i) END"""),
    "tb_url_extract_host": ("u", f"nullif(regexp_extract(u, '{_URL_HOST}', 1), '')"),
    # --- arrays ---
    "tb_slice": ("a, s, n", """
        CASE WHEN s = 0 THEN error('SQL array indices start at 1')
             WHEN n < 0 THEN error('length must be greater than or equal to 0')
             WHEN (CASE WHEN s < 0 THEN len(a) + s + 1 ELSE s END) < 1 THEN list_slice(a, 1, 0)
             ELSE list_slice(a, CASE WHEN s < 0 THEN len(a) + s + 1 ELSE s END,
                             (CASE WHEN s < 0 THEN len(a) + s + 1 ELSE s END) + n - 1) END"""),
    "tb_contains": ("a, x", """
        CASE WHEN a IS NULL OR x IS NULL THEN NULL
             WHEN list_contains(a, x) THEN true
             WHEN list_count(a) < len(a) THEN NULL
             ELSE false END"""),
    "tb_array_distinct": ("a", "list_filter(a, lambda e, i: list_position(a, e) = i)"),
    "tb_array_union": ("a, b", "tb_array_distinct(list_concat(a, b))"),
    "tb_array_except": ("a, b", """
        CASE WHEN a IS NULL OR b IS NULL THEN NULL
             ELSE tb_array_distinct(list_filter(a, lambda e: list_position(b, e) IS NULL)) END"""),
    "tb_array_intersect": ("a, b", """
        CASE WHEN a IS NULL OR b IS NULL THEN NULL
             ELSE tb_array_distinct(list_filter(a, lambda e: list_position(b, e) IS NOT NULL)) END"""),
    "tb_array_max": ("a", "CASE WHEN list_count(a) < len(a) THEN NULL ELSE list_max(a) END"),
    "tb_array_min": ("a", "CASE WHEN list_count(a) < len(a) THEN NULL ELSE list_min(a) END"),
    "tb_array_position": ("a, x", """
        CASE WHEN a IS NULL OR x IS NULL THEN NULL ELSE coalesce(list_position(a, x), 0) END"""),
    # --- time ---
    "tb_from_iso8601_timestamp": ("s", "date_trunc('millisecond', CAST(s AS TIMESTAMPTZ))"),
    "tb_to_iso8601": ("x", """
        CASE typeof(x)
          WHEN 'DATE' THEN strftime(CAST(x AS DATE), '%Y-%m-%d')
          WHEN 'TIMESTAMP WITH TIME ZONE' THEN strftime(CAST(x AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g') || 'Z'
          ELSE strftime(CAST(x AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g') END"""),
    # --- IP addresses: an IPADDRESS is represented by its canonical text ---
    "tb_try_ipaddress": ("s", f"""
        CASE WHEN regexp_full_match(s, '{_IPV4}') THEN s
             WHEN regexp_full_match(lower(s), '::ffff:{_IPV4}') THEN substr(s, 8)
             WHEN regexp_full_match(s, '{_IPV6}') THEN lower(s)
             ELSE NULL END"""),
    "tb_ipaddress": ("s", """
        CASE WHEN s IS NULL THEN NULL
             WHEN tb_try_ipaddress(s) IS NULL THEN error('Cannot cast value to IPADDRESS: ' || s)
             ELSE tb_try_ipaddress(s) END"""),
    "tb_ipv4_to_int": ("s", """
        CAST(split_part(s, '.', 1) AS BIGINT) * 16777216 + CAST(split_part(s, '.', 2) AS BIGINT) * 65536
        + CAST(split_part(s, '.', 3) AS BIGINT) * 256 + CAST(split_part(s, '.', 4) AS BIGINT)"""),
    "tb_ipv4_in_range": ("ip, lo, hi", f"""
        CASE WHEN ip IS NULL THEN NULL
             WHEN NOT regexp_full_match(ip, '{_IPV4}') THEN false
             ELSE tb_ipv4_to_int(ip) BETWEEN lo AND hi END"""),
}


def install_macros(con) -> None:
    """Create the tb_* macros the translated SQL calls, and pin the session to UTC. Idempotent.

    The macros are TEMP so they never get written into (or need write access to) a store file.
    """
    con.execute("SET TimeZone='UTC'")
    for name, (params, body) in _MACROS.items():
        con.execute(f"CREATE OR REPLACE TEMP MACRO {name}({params}) AS ({body.strip()})")


def to_duckdb(sql: str, tables: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Translate one Athena/Trino statement into DuckDB SQL with Trino semantics.

    ``tables`` maps table name -> {column: DuckDB type}, used to infer operand types (integer
    division); by default the CloudTrail store schema under the names in DEFAULT_TABLES.
    """
    tree = _parse(sql)
    types = _infer_types(tree, tables if tables is not None else _default_tables())
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


# --------------------------------------------------------------------------------------------
# parsing and type inference


def _parse(sql: str) -> exp.Expression:
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


def _default_tables() -> dict[str, dict[str, str]]:
    columns = {name: ct_schema.store_type(typ) for name, typ in ct_schema.COLUMNS}
    columns.update({name: "VARCHAR" for name in ct_schema.PARTITION_NAMES})
    return {table: columns for table in DEFAULT_TABLES}


_TYPED = (exp.Div, exp.Cast, exp.TryCast, exp.DateAdd, exp.ArraySize)
# Types sqlglot leaves UNKNOWN for Trino functions (from the Trino function signatures).
_FALLBACK_TYPES = {
    exp.TimeToUnix: exp.DType.DOUBLE,
    exp.FromISO8601Timestamp: exp.DType.TIMESTAMPTZ,
    exp.ParseDatetime: exp.DType.TIMESTAMPTZ,
    exp.JSONExtractScalar: exp.DType.VARCHAR,
}


def _infer_types(tree: exp.Expression, tables: Mapping[str, Mapping[str, str]]) -> dict[int, list]:
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
    schema = {name: dict(cols) for name, cols in tables.items()}
    # Best effort: whatever stays untyped makes _div() refuse, so failures here are never silent.
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
    for node in copy.walk():
        idx = node.meta.get("tb_id") if isinstance(node, _TYPED) else None
        if idx is None:
            continue
        operands = [node.left, node.right] if isinstance(node, exp.Div) else [node.this]
        types[id(marked[idx])] = [_type_of(op) for op in operands]
    return types


def _type_of(node: exp.Expression) -> exp.DataType | None:
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


# --------------------------------------------------------------------------------------------
# helpers


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=[a for a in args])


def _literal_string(node: exp.Expression | None, what: str) -> str:
    if isinstance(node, exp.Literal) and node.is_string:
        return node.this
    raise TranslationError(f"{what} must be a string literal, got {node.sql('trino') if node else None!r}")


def _unit(node: exp.Expression | None) -> str:
    if node is None:
        raise TranslationError("missing date/time unit")
    return (node.name if isinstance(node, (exp.Var, exp.Literal)) else node.sql()).lower()


_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _json_path(node: exp.Expression, func: str) -> exp.Literal:
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
            inner = part.this if isinstance(part, exp.JSONPathSubscript) else part
            kind = type(inner).__name__.removeprefix("JSONPath").lower() or "part"
            raise TranslationError(f"{func}: a JSON path {kind} is not supported; use only $, "
                                   ".key, [\"key\"] and [n]")
    return exp.Literal.string(out)


def _raise(message: str) -> Callable:
    def handler(node: exp.Expression, types: dict) -> None:
        raise TranslationError(f"{message}: {node.sql('trino')}")
    return handler


# --------------------------------------------------------------------------------------------
# node handlers: each returns a replacement node, or None to keep the node


def _date_diff(node: exp.DateDiff, types: dict) -> exp.Expression:
    # Trino: whole units elapsed (Joda getDifferenceAsLong); DuckDB date_sub has that meaning.
    return _fn("date_sub", exp.Literal.string(_unit(node.args.get("unit"))),
               node.expression, node.this)


def _json_extract_scalar(node: exp.JSONExtractScalar, types: dict) -> exp.Expression:
    return _fn("tb_json_extract_scalar", node.this, _json_path(node.expression, "json_extract_scalar"))


def _json_extract(node: exp.JSONExtract, types: dict) -> exp.Expression:
    if node.args.get("json_query"):
        raise TranslationError(f"json_query has no faithful DuckDB form: {node.sql('trino')}")
    if node.args.get("expressions"):
        raise TranslationError(f"json_extract with several paths: {node.sql('trino')}")
    return _fn("tb_json_extract", node.this, _json_path(node.expression, "json_extract"))


def _json_array_contains(node: exp.JSONArrayContains, types: dict) -> exp.Expression:
    return _fn("tb_json_array_contains", node.this, node.expression)


def _regexp_extract(node: exp.RegexpExtract, types: dict) -> exp.Expression:
    for arg in ("position", "occurrence", "parameters"):
        if node.args.get(arg) is not None:
            raise TranslationError(f"regexp_extract with {arg}: {node.sql('trino')}")
    group = node.args.get("group") or exp.Literal.number(0)
    return _fn("tb_regexp_extract", node.this, node.expression, group)


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
    text = _literal_string(replacement, "regexp_replace replacement")
    replacement.replace(exp.Literal.string(_java_replacement_to_re2(text)))
    return None


def _array_slice(node: exp.ArraySlice, types: dict) -> exp.Expression:
    # sqlglot stores Trino's third argument (a length) as "end".
    if node.args.get("step") is not None or node.args.get("end") is None:
        raise TranslationError(f"slice needs (array, start, length): {node.sql('trino')}")
    return _fn("tb_slice", node.this, node.args["start"], node.args["end"])


_JAVA_SPEC = re.compile(r"%(?:(\d+)\$)?([-#+ 0,(<]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def _format(node: exp.Format, types: dict) -> exp.Expression:
    fmt = _literal_string(node.this, "format string")
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
    return _fn("printf", exp.Literal.string(fmt), *rendered)


def _from_iso8601_timestamp(node: exp.FromISO8601Timestamp, types: dict) -> exp.Expression:
    return _fn("tb_from_iso8601_timestamp", node.this)


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
        lo, hi = _ip_range(_literal_string(network, "contains() network"))
        convert = "tb_try_ipaddress" if isinstance(address, exp.TryCast) else "tb_ipaddress"
        return _fn("tb_ipv4_in_range", _fn(convert, address.this),
                   exp.Literal.number(lo), exp.Literal.number(hi))
    return _fn("tb_contains", network, address)


def _unary_macro(name: str) -> Callable:
    def handler(node: exp.Expression, types: dict) -> exp.Expression:
        return _fn(name, node.this)
    return handler


def _array_position(node: exp.ArrayPosition, types: dict) -> exp.Expression:
    return _fn("tb_array_position", node.this, node.expression)


def _array_set_op(name: str) -> Callable:
    def handler(node: exp.Expression, types: dict) -> exp.Expression:
        arrays = [node.this, node.expression] if node.args.get("expression") else node.expressions
        if len(arrays) != 2:
            raise TranslationError(f"{name} takes two arrays: {node.sql('trino')}")
        return _fn(name, *arrays)
    return handler


def _array_size(node: exp.ArraySize, types: dict) -> exp.Expression | None:
    operand = (types.get(id(node)) or [None])[0]
    if operand is not None and operand.is_type(exp.DType.MAP):
        return _fn("cardinality", node.this)
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
    return _fn("tb_split_part", node.this, node.args["delimiter"], node.args["part_index"])


def _arg_max_min(name: str) -> Callable:
    def handler(node: exp.Expression, types: dict) -> exp.Expression:
        if node.args.get("count") is not None:
            raise TranslationError(f"{name} with a count: {node.sql('trino')}")
        # Trino keeps the value of the winning row even when it is NULL; arg_max skips it.
        return _fn(name, node.this, node.expression)
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
    index = node.expressions[0] if node.expressions else None
    if isinstance(index, exp.Literal) and not index.is_string and index.this == "0":
        raise TranslationError(f"array indices start at 1: {node.sql('trino')}")
    return None


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
    unit = _unit(node.args.get("unit"))
    if operand is not None and operand.is_type(exp.DType.DATE) and unit in (
            "day", "week", "month", "quarter", "year"):
        return exp.cast(node.copy(), exp.DType.DATE)  # Trino keeps a DATE a DATE
    return None


# Joda pattern letters -> strftime, by run length (longest first).
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
    fmt = _joda_to_strftime(_literal_string(node.args.get("format"), "parse_datetime pattern"), True)
    return exp.cast(_fn("strptime", node.this, exp.Literal.string(fmt)), exp.DType.TIMESTAMPTZ)


def _format_datetime(node: exp.Anonymous, types: dict) -> exp.Expression:
    if len(node.expressions) != 2:
        raise TranslationError(f"format_datetime takes (timestamp, pattern): {node.sql('trino')}")
    value, pattern = node.expressions
    fmt = _joda_to_strftime(_literal_string(pattern, "format_datetime pattern"), False)
    return _fn("strftime", value, exp.Literal.string(fmt))


def _anonymous_macro(name: str, arity: int) -> Callable:
    def handler(node: exp.Anonymous, types: dict) -> exp.Expression:
        if len(node.expressions) != arity:
            raise TranslationError(f"{node.name} takes {arity} argument(s): {node.sql('trino')}")
        return _fn(name, *node.expressions)
    return handler


def _json_size(node: exp.Anonymous, types: dict) -> exp.Expression:
    if len(node.expressions) != 2:
        raise TranslationError(f"json_size takes (json, path): {node.sql('trino')}")
    value, path = node.expressions
    text = _literal_string(path, "json_size path")
    try:
        # Reuse sqlglot's JSONPath parser by parsing the path as json_extract_scalar's.
        quoted = text.replace("'", "''")
        parsed = sqlglot.parse_one(f"SELECT json_extract_scalar(x, '{quoted}')", read="trino")
        json_path = parsed.find(exp.JSONExtractScalar).expression
    except SqlglotError as err:
        raise TranslationError(f"json_size path {text!r}: {err}") from err
    return _fn("tb_json_size", value, _json_path(json_path, "json_size"))


_ANONYMOUS: dict[str, Callable] = {
    "json_array_length": _anonymous_macro("tb_json_array_length", 1),
    "is_json_scalar": _anonymous_macro("tb_is_json_scalar", 1),
    "json_size": _json_size,
    "url_extract_host": _anonymous_macro("tb_url_extract_host", 1),
    "to_iso8601": _anonymous_macro("tb_to_iso8601", 1),
    "format_datetime": _format_datetime,
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


_HANDLERS: dict[type, Callable] = {
    exp.DateDiff: _date_diff,
    exp.JSONExtractScalar: _json_extract_scalar,
    exp.JSONExtract: _json_extract,
    exp.JSONArrayContains: _json_array_contains,
    exp.JSONValue: _raise("json_value has no faithful DuckDB form"),
    exp.RegexpExtract: _regexp_extract,
    exp.RegexpReplace: _regexp_replace,
    exp.ArraySlice: _array_slice,
    exp.Format: _format,
    exp.FromISO8601Timestamp: _from_iso8601_timestamp,
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
    exp.UnixToTime: _unix_to_time,
    exp.AtTimeZone: _raise("AT TIME ZONE is not translated (DuckDB keeps no zone on values)"),
    exp.Cast: _cast,
    exp.TryCast: _cast,
    exp.Div: _div,
    exp.DateAdd: _date_add,
    exp.ParseDatetime: _parse_datetime,
    exp.Anonymous: _anonymous,
    exp.Join: _join,
    exp.From: _from,
}


def _reject_leftovers(tree: exp.Expression) -> None:
    for node in tree.find_all(exp.DataType):
        if node.is_type(exp.DType.IPADDRESS):
            raise TranslationError("IPADDRESS values may only be used as contains(<CIDR>, "
                                   "TRY_CAST(x AS IPADDRESS))")
