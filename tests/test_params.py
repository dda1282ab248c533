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
