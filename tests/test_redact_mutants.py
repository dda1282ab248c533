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
