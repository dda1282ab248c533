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

Modules: ``rewrite`` (the pass: parse, infer types, rewrite bottom-up, emit), ``inference``
(operand types), ``macros`` (the tb_* macros), ``common`` (the error and node builders), and
one module per family of rewrites: ``scalars`` (date_diff, JSON, regexes, format), ``arrays``
(arrays and IPv4 contains), ``casts`` (type-dependent rewrites), ``datetimes`` (Joda patterns),
``anonymous`` (functions sqlglot does not know) and ``unnest``.
"""

from __future__ import annotations

from .common import TranslationError
from .inference import DEFAULT_TABLES
from .macros import install_macros
from .rewrite import to_duckdb

__all__ = ["DEFAULT_TABLES", "TranslationError", "install_macros", "to_duckdb"]
