"""trailbook.translate behaviour that the battery in test_translate.py left unpinned, found by module
mutation (tests/mutation, modules translate_*). Expected values are Trino's documented answers, worked by
hand, or the rejection the module docstring promises; never DuckDB's output.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pytest
from sqlglot import exp

import test_translate
from test_translate import run_scalar
from trailbook.translate import TranslationError, common, scalars, to_duckdb

con = test_translate.con  # test_translate's DuckDB connection with the macros (a fixture)

# casts


@pytest.mark.parametrize("sql", ["SELECT n / s FROM t", "SELECT s / n FROM t"])
def test_dividing_an_integer_and_a_varchar_is_refused(sql):
    # Trino has no implicit varchar -> number coercion: the query fails; the translation must not run it.
    with pytest.raises(TranslationError, match="division of"):
        to_duckdb(sql, tables={"t": {"n": "INTEGER", "s": "VARCHAR"}})


def test_date_add_keeps_a_timestamp_a_timestamp(con):
    # Only a DATE operand is cast back to DATE; a timestamp keeps its time of day.
    assert run_scalar(con, "date_add('day', 1, TIMESTAMP '2024-01-01 10:00:00')") == dt.datetime(2024, 1, 2, 10, 0)
    assert run_scalar(con, "date_add('day', 1, x) FROM (VALUES (TIMESTAMP '2024-01-31 23:00:00')) AS t(x)") == \
        dt.datetime(2024, 2, 1, 23, 0)


# common: JSON paths


def test_a_json_path_subscript_counts_from_zero(con):
    assert run_scalar(con, """json_extract_scalar('{"a": ["x", "y"]}', '$.a[0]')""") == "x"
    assert run_scalar(con, "json_extract_scalar('[\"x\", \"y\"]', '$[1]')") == "y"


def test_a_json_path_key_that_is_not_an_identifier_is_quoted(con):
    # $["a.b"] names the key "a.b", not the path a -> b.
    assert run_scalar(con, """json_extract_scalar('{"a.b": "dot", "a": {"b": "nested"}}', '$["a.b"]')""") == "dot"
    assert run_scalar(con, """json_extract_scalar('{"a": {"b": "nested"}}', '$.a.b')""") == "nested"


@pytest.mark.parametrize("path", ['$["a\\"b"]', '$["a\\\\b"]'], ids=["quote", "backslash"])
def test_a_json_path_key_with_a_quote_or_a_backslash_is_refused(path):
    with pytest.raises(TranslationError, match="unsupported JSON path key"):
        to_duckdb(f"SELECT json_extract_scalar('{{}}', '{path}')")


@pytest.mark.parametrize("path, kind", [("$..a", "recursive"), ("$[?(@.a == 1)]", "filter"), ("$.*", "wildcard"),
                                        ("$[-1]", "subscript")])
def test_json_path_parts_beyond_keys_and_indexes_are_refused(path, kind):
    with pytest.raises(TranslationError, match=f"a JSON path {kind} is not supported"):
        to_duckdb(f"SELECT json_extract_scalar('{{}}', '{path}')")


# common: literals and units


def test_a_pattern_that_is_not_a_string_literal_is_refused_and_shown():
    with pytest.raises(TranslationError, match=r"format_datetime pattern must be a string literal, got '1'"):
        to_duckdb("SELECT format_datetime(from_iso8601_timestamp('2024-01-01T00:00:00Z'), 1)")
    with pytest.raises(TranslationError, match=r"must be a string literal, got None"):
        common.literal_string(None, "a pattern")


def test_a_unit_is_its_lower_case_name_without_quotes():
    assert common.unit(exp.Literal.string("Day")) == "day"
    assert common.unit(exp.Var(this="HOUR")) == "hour"
    with pytest.raises(TranslationError, match="missing date/time unit"):
        common.unit(None)


# rewrite: parsing


def test_a_parse_error_names_both_dialects_tried():
    with pytest.raises(TranslationError, match="cannot parse") as raised:
        to_duckdb("SELECT * FROM (")
    assert "athena: " in str(raised.value) and "trino: " in str(raised.value)


def test_no_statement_at_all_is_refused():
    with pytest.raises(TranslationError, match="exactly one SQL statement, got 0"):
        to_duckdb(";")


# datetimes: Joda patterns (Joda DateTimeFormat: a number's letter count is its minimum width; 2 y's are
# the two-digit year; 4 or more E's the full day name; e is the ISO day of week, Monday = 1)

MONDAY = "from_iso8601_timestamp('2024-01-01T10:05:07Z')"  # 1 January 2024 was a Monday


@pytest.mark.parametrize("pattern, text", [
    ("yyy", "2024"), ("yy", "24"), ("m", "5"), ("mm", "05"), ("s", "7"), ("ss", "07"),
    ("EEEE", "Monday"), ("EEE", "Mon"), ("e", "1"), ("D", "1"), ("y", "2024"), ("M", "1"),
    ("Y", "2024"), ("YY", "24"), ("YYY", "2024"), ("E", "Mon"), ("H", "10"), ("MMMM", "January"), ("DDD", "001"),
    ("HH''mm", "10'05"), ("H''mm", "10'05"),
    ("yyyy-'T'HH", "2024-T10"),  # '' is a quote; 'T' quoted text
    # The session is UTC: zone letters print UTC's offset or name.
    ("Z", "+0000"), ("ZZ", "+00:00"), ("ZZZ", "UTC"), ("z", "UTC"), ("zzz", "UTC"),
])
def test_format_datetime_letter_counts(con, pattern, text):
    quoted = pattern.replace("'", "''")
    assert run_scalar(con, f"format_datetime({MONDAY}, '{quoted}')") == text


def test_an_hour_before_ten_is_padded_only_with_two_letters(con):
    assert run_scalar(con, "format_datetime(from_iso8601_timestamp('2024-01-01T08:05:07Z'), 'H')") == "8"
    assert run_scalar(con, "format_datetime(from_iso8601_timestamp('2024-01-01T08:05:07Z'), 'HH')") == "08"
    assert run_scalar(con, "format_datetime(from_iso8601_timestamp('2024-01-01T08:05:07Z'), 'hh')") == "08"
    assert run_scalar(con, "format_datetime(from_iso8601_timestamp('2024-01-01T08:05:07Z'), 'h')") == "8"


def test_an_unsupported_letter_is_refused_whatever_its_count():
    with pytest.raises(TranslationError, match="'GGG'.* is not supported"):
        to_duckdb(f"SELECT format_datetime({MONDAY}, 'GGG')")  # G: the era


@pytest.mark.parametrize("text, pattern", [("2024-01-01 10:00 +0100", "yyyy-MM-dd HH:mm Z"),
                                           ("2024-01-01 10:00 +01:00", "yyyy-MM-dd HH:mm ZZ")])
def test_parse_datetime_reads_an_offset(con, text, pattern):
    value = run_scalar(con, f"parse_datetime('{text}', '{pattern}')")
    assert value == dt.datetime(2024, 1, 1, 9, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("pattern, text", [("SSS", "123"), ("SSSSSS", "123000"), ("SSSSSSSSS", "123000000")])
def test_format_datetime_fractions_of_a_second(con, pattern, text):
    value = "from_iso8601_timestamp('2024-01-01T10:05:07.123Z')"
    assert run_scalar(con, f"format_datetime({value}, '{pattern}')") == text


def test_a_pattern_with_an_unterminated_quote_is_refused():
    with pytest.raises(TranslationError, match="unterminated quote"):
        to_duckdb(f"SELECT format_datetime({MONDAY}, 'yyyy''T')")


def test_characters_outside_a_z_in_a_pattern_are_literal_text(con):
    value = run_scalar(con, "parse_datetime('2024-01-01_10', 'yyyy-MM-dd_HH')")
    assert value == dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone.utc)


def test_a_zone_name_cannot_be_parsed():
    with pytest.raises(TranslationError, match="'z'.* is not supported"):
        to_duckdb("SELECT parse_datetime('2024-01-01 UTC', 'yyyy-MM-dd z')")
    with pytest.raises(TranslationError, match="'ZZZ'.* is not supported"):  # ZZZ: a zone id
        to_duckdb("SELECT parse_datetime('2024-01-01 UTC', 'yyyy-MM-dd ZZZ')")


def test_format_datetime_takes_exactly_two_arguments():
    with pytest.raises(TranslationError, match=r"takes \(timestamp, pattern\)"):
        to_duckdb(f"SELECT format_datetime({MONDAY}, 'yyyy', 'x')")
    with pytest.raises(TranslationError, match=r"takes \(timestamp, pattern\)"):
        to_duckdb(f"SELECT format_datetime({MONDAY})")


# anonymous: functions sqlglot does not know


@pytest.mark.parametrize("sql, message", [
    ("SELECT url_extract_host('https://a.example.com/', 'x')", "url_extract_host takes 1 argument"),
    ("SELECT array_union(ARRAY[1])", "array_union takes 2 argument"),
    ("SELECT json_array_length('[1]', '$')", "json_array_length takes 1 argument"),
    ("SELECT json_size('{}')", r"json_size takes \(json, path\)"),
    ("SELECT json_size('{}', '$', 'x')", r"json_size takes \(json, path\)"),
])
def test_a_known_function_with_the_wrong_number_of_arguments_is_refused(sql, message):
    with pytest.raises(TranslationError, match=message):
        to_duckdb(sql)


def test_a_json_size_path_may_hold_a_quote(con):
    assert run_scalar(con, """json_size('{"it''s": [1, 2]}', '$["it''s"]')""") == 2


def test_functions_duckdb_knows_by_the_same_name_pass_through(con):
    assert run_scalar(con, "map_values(MAP(ARRAY['a', 'b'], ARRAY[1, 2]))") == [1, 2]


# unnest


def test_an_array_of_two_field_rows_unnests_into_two_columns(con):
    rows = con.execute(to_duckdb(
        "SELECT a, b FROM UNNEST(ARRAY[ROW(1, 'x'), ROW(2, 'y')]) AS t(a, b) ORDER BY a")).fetchall()
    assert rows == [(1, "x"), (2, "y")]


def test_unnest_columns_are_reachable_through_the_table_alias(con):
    rows = con.execute(to_duckdb("SELECT t.a FROM UNNEST(ARRAY[3, 4]) AS t(a) ORDER BY t.a")).fetchall()
    assert rows == [(3,), (4,)]
    rows = con.execute(to_duckdb(
        "SELECT v.n, u.x FROM (VALUES (1)) AS v(n) CROSS JOIN UNNEST(ARRAY['p', 'q']) AS u(x) ORDER BY u.x")).fetchall()
    assert rows == [(1, "p"), (1, "q")]


@pytest.mark.parametrize("sql, message", [
    # Trino names the ordinal in the alias list: t(a, n); one name for one array leaves none for it.
    ("SELECT * FROM UNNEST(ARRAY[1]) WITH ORDINALITY AS t(a)", "WITH ORDINALITY needs a column alias"),
    ("SELECT * FROM UNNEST(ARRAY[1], ARRAY[2]) AS t(a)", "UNNEST of 2 arrays into 1 columns"),
])
def test_unnest_alias_lists_that_do_not_fit_are_refused(sql, message):
    with pytest.raises(TranslationError, match=message):
        to_duckdb(sql)


# scalars: regexes (JoniRegexpFunctions: regexp_extract(s, p) is group 0; in a replacement `$n` is group n,
# `\x` is the character x, and a `$` or `\` that ends it is an "Illegal replacement sequence")


def test_regexp_extract_without_a_group_gives_the_whole_match(con):
    assert run_scalar(con, "regexp_extract('user/alice', 'user/(.*)')") == "user/alice"


def test_regexp_extract_node_without_a_group_gives_the_whole_match(con):
    # sqlglot fills in group 0 when parsing; a node built without one must mean the same.
    node = exp.RegexpExtract(this=exp.Literal.string("user/alice"), expression=exp.Literal.string("user/(.*)"))
    sql = exp.select(scalars._regexp_extract(node, {})).sql("duckdb")
    assert con.execute(sql).fetchall() == [("user/alice",)]


def test_regexp_extract_takes_at_most_a_group():
    # Trino has only regexp_extract(s, p) and regexp_extract(s, p, group); sqlglot keeps a 4th argument.
    with pytest.raises(TranslationError, match="regexp_extract with parameters"):
        to_duckdb("SELECT regexp_extract('abc', 'b', 0, 1)")


def test_regexp_replace_with_a_position_is_refused():
    # sqlglot's Trino parser never sets these; the guard is for a sqlglot that does (it must not drop them).
    node = exp.RegexpReplace(this=exp.Literal.string("abc"), expression=exp.Literal.string("b"),
                             replacement=exp.Literal.string("x"), position=exp.Literal.number(2))
    with pytest.raises(TranslationError, match="regexp_replace with position"):
        scalars._regexp_replace(node, {})


@pytest.mark.parametrize("pattern, replacement, text", [
    ("user/(.*)", "$1", "alice"),  # a group reference first and last
    ("user/(.*)", "name=$1", "name=alice"),  # letters, then a reference at an odd place, last
    ("alice", "#", "user/#"),  # characters that sort before `$` are plain text
    ("alice", "x\\$y", "user/x$y"),  # an escape past the first character, then more text
    ("alice", "\\a=\\\\", "user/a=\\"),  # an escaped letter is the letter; an escaped backslash a backslash
], ids=["group-only", "text-then-group", "hash", "escaped-dollar", "escaped-letter"])
def test_regexp_replace_replacement_syntax(con, pattern, replacement, text):
    assert run_scalar(con, f"regexp_replace('user/alice', '{pattern}', '{replacement}')") == text


@pytest.mark.parametrize("replacement, message", [("x$", r"only \$0-\$9"), ("x\\", "ends with a backslash"),
                                                  ("\\", "ends with a backslash")],
                         ids=["dollar", "backslash", "lone-backslash"])
def test_a_replacement_ending_in_a_dollar_or_a_backslash_is_refused(replacement, message):
    with pytest.raises(TranslationError, match=message):
        to_duckdb(f"SELECT regexp_replace('a', 'a', '{replacement}')")


# scalars: format() (Trino's format is java.util.Formatter: `%%` is a percent sign, `%n$` takes argument n
# without moving the ordinary index, arguments no conversion names are ignored, `%x` is hexadecimal)


@pytest.mark.parametrize("expression, text", [
    ("format('100%% %s', 'x')", "100% x"),
    ("format('%% %s', NULL)", "% null"),  # a %s after %% still prints NULL as 'null'
    ("format('%2$s-%1$s', 'a', NULL)", "null-a"),
    ("format('%2$s %1$d', 5, 'x')", "x 5"),
    ("format('%s-%s-%d', 'a', 'b', 3)", "a-b-3"),
    ("format('%s', 'a', 'b')", "a"),
    ("format('%x', 255)", "ff"),
], ids=["percent", "percent-then-null", "explicit-index-null", "explicit-index-kinds", "third-argument",
        "extra-argument", "hexadecimal"])
def test_format_conversions(con, expression, text):
    assert run_scalar(con, expression) == text


@pytest.mark.parametrize("sql, message", [
    # Trino fails with MissingFormatArgumentException; the translation must not run it.
    ("SELECT format('%s %s', 'a')", "needs more arguments"),
    ("SELECT format('%3$s', 'a')", "needs more arguments"),
    # One argument printed as text and as a number cannot be given to printf both ways.
    ("SELECT format('%1$s %1$d', 5)", "uses argument 1 as text and as a number"),
    ("SELECT format('%1$d %1$s', 5)", "uses argument 1 as text and as a number"),
    ("SELECT format('%s %s %2$d', 'a', 5)", "uses argument 2 as text and as a number"),
    ("SELECT format('%,d', 1000)", "format specifier '%,d' has no printf equivalent"),
])
def test_format_refusals_name_the_problem(sql, message):
    with pytest.raises(TranslationError, match=re.escape(message)):
        to_duckdb(sql)


# inference: typing is best effort, so a failure inside sqlglot leaves nodes untyped; it never escapes


def test_a_column_the_schema_does_not_know_leaves_its_division_refused():
    # sqlglot's qualify raises "Unknown column" for a table-qualified name the schema lacks.
    with pytest.raises(TranslationError, match="cannot tell whether this is integer division"):
        to_duckdb("SELECT c.notacolumn / 60 FROM cloudtrail c")
    assert to_duckdb("SELECT CAST(c.notacolumn AS VARCHAR) FROM cloudtrail c")


def test_a_duckdb_type_sqlglot_cannot_read_leaves_the_query_untyped():
    # sqlglot's Athena type parser does not know DuckDB's TIMESTAMP_NS: annotate_types raises on it.
    tables = {"t": {"n": "INTEGER", "ts": "TIMESTAMP_NS"}}
    with pytest.raises(TranslationError, match="cannot tell whether this is integer division"):
        to_duckdb("SELECT n / 2, ts FROM t", tables=tables)
    with duckdb.connect() as connection:
        connection.execute("CREATE TABLE t AS SELECT 7 AS n, TIMESTAMP_NS '2024-01-01 10:00:00' AS ts")
        rows = connection.execute(to_duckdb("SELECT CAST(n AS VARCHAR), ts FROM t", tables=tables)).fetchall()
    assert rows == [("7", dt.datetime(2024, 1, 1, 10))]


# arrays


@pytest.mark.parametrize("sql, message", [
    # Trino's slice is slice(array, start, length) only.
    ("SELECT slice(ARRAY[1, 2], 1)", "slice needs"),
    # array_intersect(array(array(T))) is Trino's one-argument form; no three-argument form exists.
    ("SELECT array_intersect(ARRAY[ARRAY[1, 2], ARRAY[2, 3]])", "takes two arrays"),
    ("SELECT array_intersect(ARRAY[1], ARRAY[1], ARRAY[1])", "takes two arrays"),
    # reduce's output function takes the state alone; only the identity s -> s has a DuckDB form.
    ("SELECT reduce(ARRAY[1, 2], 0, (s, x) -> s + x, (s, t) -> s)", "output function"),
    ("SELECT reduce(ARRAY[1, 2], 0, (s, x) -> s + x, s)", "output function"),
    ("SELECT reduce(ARRAY[1, 2], 0, (s, x) -> s + x, s -> a)", "output function"),
    ("SELECT reduce(ARRAY[1, 2], 0, (s, x) -> s + x, s -> t)", "output function"),
], ids=["slice-two-arguments", "array_intersect-one-argument", "array_intersect-three-arguments",
        "reduce-finish-two-parameters", "reduce-finish-not-a-lambda", "reduce-finish-other-name-before",
        "reduce-finish-other-name-after"])
def test_array_functions_without_a_faithful_form_are_refused(sql, message):
    with pytest.raises(TranslationError, match=message):
        to_duckdb(sql)


def test_cardinality_of_an_array_of_unknown_type(con):
    # A table the schema does not know: the operand stays untyped and is taken for an array.
    con.execute("CREATE OR REPLACE TEMP TABLE tagged AS SELECT ['a', 'b'] AS tags")
    rows = con.execute(to_duckdb("SELECT cardinality(tags) FROM tagged", tables={})).fetchall()
    assert rows == [(2,)]


# arrays: subscripts (Trino: a[i] is 1-based; element_at(map, key) looks a key up, whatever it spells)


def test_an_array_subscript_by_a_column_is_one_based(con):
    rows = con.execute(to_duckdb("SELECT ARRAY[10, 20][n] FROM (VALUES 2) AS t(n)")).fetchall()
    assert rows == [(20,)]


def test_a_string_key_of_digits_is_a_map_key_not_a_position(con):
    # The map's type is unknown to the translator (a table it has no schema for): '0' is still a key.
    sql = to_duckdb("SELECT element_at(m, '0') FROM t")
    with duckdb.connect() as connection:
        connection.execute("CREATE TABLE t AS SELECT MAP(['0'], [5]) AS m")
        assert connection.execute(sql).fetchall() == [(5,)]
