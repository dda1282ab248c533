"""Parameters: coercion, validation, and the single escaping path (injection attempts included)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlglot
from sqlglot import exp

from trailbook import params as P

UTC = dt.timezone.utc


def test_string_literal_doubles_quotes():
    assert P.sql_string("O'Brien") == "'O''Brien'"


@pytest.mark.parametrize("attack", [
    "x' OR '1'='1",
    "x'; DROP TABLE cloudtrail; --",
    "x' /* comment */ UNION SELECT * FROM secrets --",
    "a\\'b",
    "'); DELETE FROM t; SELECT ('",
])
def test_injection_attempts_stay_one_literal(attack):
    """The rendered value parses back as exactly one string literal equal to the input."""
    sql = f"SELECT * FROM t WHERE name = {P.render('string', P.coerce('string', attack))}"
    statements = sqlglot.parse(sql, read="athena")
    assert len(statements) == 1
    where = statements[0].args["where"].this
    assert isinstance(where, exp.EQ)
    literal = where.expression
    assert isinstance(literal, exp.Literal) and literal.is_string
    assert literal.this == attack


@pytest.mark.parametrize("trick", [
    "abc\x00def",          # NUL
    "abc\u202edef",        # right-to-left override
    "abc\u200bdef",        # zero-width space
    "abc\uff07 OR 1=1",    # fullwidth apostrophe, NFKC-folds to a quote
    "abc\uff1b DROP",      # fullwidth semicolon
    "line\nbreak",         # control character
])
def test_unicode_and_control_tricks_are_rejected(trick):
    with pytest.raises(P.ParameterError):
        P.coerce("string", trick, "user_name")


def test_overlong_string_rejected():
    with pytest.raises(P.ParameterError, match="longer than"):
        P.coerce("string", "a" * 2000)


@pytest.mark.parametrize("type_name,good,bad", [
    ("account_id", "111111111111", "11111111111' OR 1=1"),
    ("access_key_id", "AKIAIOSFODNN7EXAMPLE", "AKIA'; DROP"),
    ("arn", "arn:aws:iam::111111111111:user/alice", "arn:aws:iam::1:user/x' OR '1'='1"),
    ("ip", "192.0.2.10", "192.0.2.10' --"),
    ("cidr", "10.0.0.0/8", "10.0.0.0/33"),
    ("region", "eu-west-1", "eu-west-1'"),
    ("int", "42", "42; DROP"),
])
def test_typed_values_validate(type_name, good, bad):
    assert P.coerce(type_name, good) is not None
    with pytest.raises(P.ParameterError):
        P.coerce(type_name, bad)


def test_ip_and_cidr_are_canonical():
    assert P.coerce("ip", " 2001:DB8::1 ") == "2001:db8::1"
    assert P.coerce("cidr", "192.0.2.7/24") == "192.0.2.0/24"


def test_timestamps_parse_to_utc_and_render():
    ts = P.coerce("timestamp", "2026-10-22T08:00:00+02:00")
    assert ts == dt.datetime(2026, 10, 22, 6, 0, tzinfo=UTC)
    assert P.render("timestamp", ts) == "TIMESTAMP '2026-10-22 06:00:00'"
    assert P.iso(ts) == "2026-10-22T06:00:00Z"
    assert P.coerce("timestamp", "2026-10-22") == dt.datetime(2026, 10, 22, tzinfo=UTC)


def test_relative_timestamps():
    now = dt.datetime(2026, 11, 29, 6, 0, 0, tzinfo=UTC)
    assert P.parse_timestamp("now", now=now) == now
    assert P.parse_timestamp("now-7d", now=now) == now - dt.timedelta(days=7)
    assert P.parse_timestamp("-12h", now=now) == now - dt.timedelta(hours=12)


def test_bad_timestamp_names_the_parameter():
    with pytest.raises(P.ParameterError, match="start"):
        P.coerce("timestamp", "yesterday-ish", "start")


def test_lists_render_as_typed_arrays():
    assert P.render("list[string]", P.coerce("list[string]", "a, b'c")) == "ARRAY['a', 'b''c']"
    assert P.render("list[cidr]", ()) == "CAST(ARRAY[] AS ARRAY(VARCHAR))"
    assert P.render("list[int]", ()) == "CAST(ARRAY[] AS ARRAY(BIGINT))"
    assert P.coerce("list[account_id]", ["111111111111", "222222222222"]) == ("111111111111", "222222222222")
    with pytest.raises(P.ParameterError, match=r"accounts\[1\]"):
        P.coerce("list[account_id]", ["111111111111", "nope"], "accounts")


def test_param_bounds_and_choices():
    threshold = P.Param("threshold", "int", "failures", minimum=1, maximum=100)
    assert threshold.coerce("5") == 5
    with pytest.raises(P.ParameterError, match="minimum"):
        threshold.coerce(0)
    mode = P.Param("mode", "string", "mode", choices=("a", "b"))
    with pytest.raises(P.ParameterError, match="not one of"):
        mode.coerce("c")


def test_bool_and_int_strictness():
    assert P.coerce("bool", "yes") is True
    with pytest.raises(P.ParameterError):
        P.coerce("int", True)
    with pytest.raises(P.ParameterError):
        P.coerce("int", 1.5)


# --- Added for mutation testing (tests/mutation/survivors.md): each pins a behaviour a mutant changed.

def test_string_length_limit_is_athenas_1024_inclusive():
    # Athena's documented limit for one execution parameter is 1,024 characters: that length is allowed.
    assert P.coerce("string", "a" * 1024) == "a" * 1024
    with pytest.raises(P.ParameterError, match="longer than 1024"):
        P.coerce("string", "a" * 1025)


def test_identifiers_are_validated_and_quoted_by_doubling():
    assert P.identifier("security_logs", "database") == "security_logs"
    assert P.identifier("aws:cloudtrail", "catalog") == "aws:cloudtrail"
    for bad in ("-x", "a b", 'a"b', "", 7):
        with pytest.raises(P.ParameterError):
            P.identifier(bad, "database")
    assert P.quoted_identifier("db", 'we"ird') == '"db"."we""ird"'


def test_relative_timestamps_add_as_well_as_subtract():
    now = dt.datetime(2026, 11, 29, 6, 0, 0, tzinfo=UTC)
    assert P.parse_timestamp("now+3h", now=now) == dt.datetime(2026, 11, 29, 9, 0, 0, tzinfo=UTC)
    assert P.parse_timestamp("+90m", now=now) == dt.datetime(2026, 11, 29, 7, 30, 0, tzinfo=UTC)


def test_floats_must_be_finite():
    assert P.coerce("float", "1.5") == 1.5
    for bad in ("nan", "inf", "-inf"):
        with pytest.raises(P.ParameterError, match="finite"):
            P.coerce("float", bad)


def test_type_names_and_malformed_list_types():
    names = P.type_names()
    assert {"string", "int", "timestamp", "list[string]", "list[account_id]"} <= set(names)
    assert "list[timestamp]" not in names
    assert P.is_known_type("list[string]") and P.is_known_type("list[int]")
    for bad in ("list[timestamp]", "list[nonsense]", "list(string]", "lists[int]", "list[int"):
        assert not P.is_known_type(bad), bad
    with pytest.raises(P.ParameterError, match="unknown parameter type"):
        P.coerce("list(string]", "a")


def test_param_maximum_is_inclusive_and_enforced():
    threshold = P.Param("threshold", "int", "failures", minimum=1, maximum=100)
    assert threshold.coerce(100) == 100
    with pytest.raises(P.ParameterError, match="maximum"):
        threshold.coerce(101)


def test_bools_read_both_ways_and_render_as_sql_booleans():
    for text in ("false", "no", "0", "False"):
        assert P.coerce("bool", text) is False
    for text in ("true", "yes", "1"):
        assert P.coerce("bool", text) is True
    with pytest.raises(P.ParameterError, match="true or false"):
        P.coerce("bool", "maybe")
    assert P.render("bool", True) == "TRUE"
    assert P.render("bool", False) == "FALSE"


def test_param_minimum_is_inclusive():
    threshold = P.Param("threshold", "int", "failures", minimum=1, maximum=100)
    assert threshold.coerce(1) == 1


def test_a_float_that_is_not_a_number_is_a_parameter_error():
    with pytest.raises(P.ParameterError, match="expected a number"):
        P.coerce("float", "abc")


def test_a_float_of_the_wrong_type_is_a_parameter_error():
    with pytest.raises(P.ParameterError, match="expected a number"):
        P.coerce("float", [1.5])


def test_a_number_given_for_a_string_parameter_is_its_text():
    # papermill and YAML hand over numbers; a string parameter reads them as their text.
    assert P.coerce("string", 42) == "42"


def test_parameter_declarations_are_frozen_records():
    import dataclasses

    param = P.Param("threshold", "int", "failures", minimum=1)
    assert {param} == {P.Param("threshold", "int", "failures", minimum=1)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        param.minimum = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        P.SCALARS["int"].name = "x"  # type: ignore[misc]
