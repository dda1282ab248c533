"""Redaction details that tests/test_redact.py left open, found by module mutation (tests/mutation)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from trailbook import redact

KEY = b"k" * 32
KEY_ID = "AKIAIOSFODNN7EXAMPLE"


def test_a_whole_key_id_is_pseudonymized_and_two_keys_of_one_kind_stay_apart():
    redactor = redact.Redactor(KEY)
    other = "AKIAIOSFODNN7EXAMPLF"  # the same prefix, another key
    first, second = redactor.text(f"used {KEY_ID}"), redactor.text(f"used {other}")
    assert KEY_ID not in first and other not in second
    assert first != second  # the whole id is hashed, not only its AKIA/ASIA prefix
    assert first == f"used {redact.Redactor(KEY).pseudonym('key_id', KEY_ID)}"


def test_object_and_string_columns_are_both_redacted():
    redactor = redact.Redactor(KEY)
    frame = pd.DataFrame({"as_object": pd.Series([KEY_ID], dtype=object),
                          "as_string": pd.Series([KEY_ID], dtype="string"), "count": [1]})
    out = redactor.frame(frame)
    assert KEY_ID not in str(out["as_object"].tolist()) and KEY_ID not in str(out["as_string"].tolist())
    assert out["count"].tolist() == [1]


def test_a_secret_hit_is_a_frozen_record():
    hit = redact.SecretHit(path="p", line=1, pattern="x", preview="AKIA")
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.line = 2  # type: ignore[misc]


def test_a_hit_is_placed_on_its_line_counted_from_the_first_character():
    secret = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example
    # By hand: a leading newline puts the secret on line 2, two of them on line 3.
    assert [h.line for h in redact.scan_text("\n" + secret)] == [2]
    assert [h.line for h in redact.scan_text("\n\n" + secret)] == [3]
    assert [h.line for h in redact.scan_text(secret)] == [1]


def test_a_session_token_preview_shows_nothing_past_the_public_prefix():
    # "IQoJb3JpZ2lu" is the fixed base64 prefix every current STS token starts with ("\x21\x0a\x09origin");
    # the characters after it are the secret. A preview may show the prefix, never more.
    token = "IQoJb3JpZ2lu" + "X2VjEOH/" + "Q" * 60
    hits = [h for h in redact.scan_text(f"token {token}") if h.pattern == "session_token_prefix"]
    assert len(hits) == 1
    assert hits[0].preview and "IQoJb3JpZ2lu".startswith(hits[0].preview)


def test_from_env_keys_by_the_given_passphrase_or_else_a_fresh_random_key(monkeypatch):
    monkeypatch.setenv("TRAILBOOK_REDACT_KEY", "a passphrase kept between runs")
    (first, source), (second, _) = redact.Redactor.from_env(), redact.Redactor.from_env()
    assert source == "TRAILBOOK_REDACT_KEY"
    assert first.pseudonym("account", "111122223333") == second.pseudonym("account", "111122223333")
    monkeypatch.delenv("TRAILBOOK_REDACT_KEY")
    (third, source), (fourth, _) = redact.Redactor.from_env(), redact.Redactor.from_env()
    assert source == "ephemeral"
    assert third.pseudonym("account", "111122223333") != fourth.pseudonym("account", "111122223333")


def test_pseudonyms_tell_the_kinds_apart_and_keep_no_piece_of_an_address():
    redactor = redact.Redactor(KEY)
    account = redactor.pseudonym("account", "111122223333")
    ipv4, ipv6 = redactor.pseudonym("ip", "203.0.113.77"), redactor.pseudonym("ip", "2001:db8::1")
    key = redactor.pseudonym("key_id", KEY_ID)
    # A reader must tell an account from an address from a key: three kinds, three prefixes.
    assert len({account.split("-")[0], ipv4.split("-")[0], key.split("-")[0]}) == 3
    assert ipv4.split("-")[0] == ipv6.split("-")[0]
    # An address's pseudonym holds none of its pieces (a key keeps only its public AKIA/ASIA kind).
    for pseudonym in (ipv4, ipv6):
        assert "." not in pseudonym and ":" not in pseudonym and not pseudonym.startswith(("203", "2001"))


def test_svg_images_are_redacted_and_raster_images_are_kept_byte_for_byte():
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plot()")
    png = "iVBORw0KGgo111122223333AAAA"  # base64 with a 12-digit run: masking it would corrupt the image
    svg = "<svg><text>account 111122223333</text></svg>"
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "image/png": png, "image/jpeg": png, "image/webp": png, "image/svg+xml": svg, "text/plain": "<Figure>"})]
    nb.cells = [cell]
    redactor = redact.Redactor(KEY)
    data = redactor.notebook(nb).cells[0].outputs[0]["data"]
    assert data["image/png"] == png and data["image/jpeg"] == png and data["image/webp"] == png
    assert "111122223333" not in data["image/svg+xml"]
    assert redactor.pseudonym("account", "111122223333") in data["image/svg+xml"]


def test_text_columns_are_redacted_whatever_pandas_names_their_dtype():
    # pandas 3 gives text columns the `str` dtype (DuckDB's results too), not object or `string`;
    # a categorical column shows its text as well.
    redactor = redact.Redactor(KEY)
    frame = pd.DataFrame({"inferred": [KEY_ID], "category": pd.Categorical([KEY_ID]), "count": [1]})
    out = redactor.frame(frame)
    assert KEY_ID not in str(out["inferred"].tolist()) and KEY_ID not in str(out["category"].tolist())
    assert out["inferred"].tolist() == [redactor.pseudonym("key_id", KEY_ID)]
    assert out["count"].tolist() == [1]


def test_a_key_shorter_than_16_bytes_is_refused():
    # The constructor's own promise ("at least 16 bytes"): 15 is refused, 16 accepted.
    with pytest.raises(ValueError, match="at least 16 bytes"):
        redact.Redactor(b"x" * 15)
    assert redact.Redactor(b"x" * 16).pseudonym("account", "111122223333").startswith("acct-")


def test_the_key_handed_to_a_worker_gives_the_worker_the_same_pseudonyms(monkeypatch):
    redactor = redact.Redactor(KEY)
    assert redactor.key_hex == KEY.hex()  # a value, not a method: it goes into the environment as text
    monkeypatch.setenv(redact.REDACT_ENV, redactor.key_hex)
    worker = redact.active()
    assert worker is not None
    assert worker.pseudonym("ip", "192.0.2.1") == redact.Redactor(KEY).pseudonym("ip", "192.0.2.1")


def test_text_column_names_and_text_dict_keys_are_redacted_and_other_names_kept():
    redactor = redact.Redactor(KEY)
    account = "111122223333"
    out = redactor.frame(pd.DataFrame({account: ["x"], 7: ["y"]}))
    assert list(out.columns) == [redactor.pseudonym("account", account), 7]
    assert redactor.value({account: 1, 7: account}) == {
        redactor.pseudonym("account", account): 1, 7: redactor.pseudonym("account", account)}


@pytest.mark.parametrize("text", ["a :: b", "Foo:::Bar", "x ::: y", "std :: vector"])
def test_colons_without_hex_digits_are_not_an_ipv6_address(text):
    redactor = redact.Redactor(KEY)
    assert redactor.text(text) == text and not redactor.seen["ip"]
