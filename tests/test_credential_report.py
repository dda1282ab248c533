"""The credential-report parser on reports in AWS's documented 22-column format (see
tests/fixtures/ATTRIBUTION.md).

Fixtures: ``credential_report_handwritten.csv`` (written for trailbook: 6 rows incl. the root
row with ``not_supported``, console users with and without MFA, rotated and unused keys, a
signing certificate and a ``no_information`` password), ``credential_report_no_information.csv``
(``no_information`` password use) and ``credential_report_prowler_root.csv`` (prowler's root row
with ``no_information`` and an active root key).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trailbook.iam.credential_report import (
    CREDENTIAL_REPORT_COLUMNS,
    NO_INFORMATION,
    NOT_APPLICABLE,
    NOT_SUPPORTED,
    PRESENT,
    TYPED_COLUMNS,
    CredentialReportError,
    parse_credential_report,
    state_column,
)

FIXTURES = Path(__file__).parent / "fixtures" / "iam"


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


@pytest.fixture(scope="module")
def report() -> pd.DataFrame:
    return parse_credential_report(read("credential_report_handwritten.csv")).set_index("user")


def test_columns_types_and_order(report: pd.DataFrame) -> None:
    frame = report.reset_index()
    states = [state_column(c) for c in TYPED_COLUMNS]
    assert list(frame.columns) == [*CREDENTIAL_REPORT_COLUMNS, "is_root", *states]
    assert str(frame["password_last_used"].dtype) == "datetime64[us, UTC]"
    assert str(frame["cert_2_last_rotated"].dtype) == "datetime64[us, UTC]"  # all N/A: still typed
    assert frame["cert_2_last_rotated"].isna().all()
    assert str(frame["mfa_active"].dtype) == "boolean"
    assert str(frame["access_key_1_last_used_region"].dtype) == "string"
    assert list(frame["password_enabled_state"].cat.categories) == [PRESENT, NOT_APPLICABLE, NO_INFORMATION, NOT_SUPPORTED]
    assert len(frame) == 6


def test_root_row(report: pd.DataFrame) -> None:
    root = report.loc["<root_account>"]
    assert bool(root["is_root"]) and report["is_root"].sum() == 1
    assert root["arn"] == "arn:aws:iam::111122223333:root"
    assert root["user_creation_time"] == ts("2016-03-14T09:12:00Z")
    # not_supported is neither true nor false, and not a date.
    assert pd.isna(root["password_enabled"]) and root["password_enabled_state"] == NOT_SUPPORTED
    assert pd.isna(root["password_last_changed"]) and root["password_last_changed_state"] == NOT_SUPPORTED
    assert root["password_next_rotation_state"] == NOT_SUPPORTED
    assert root["password_last_used"] == ts("2025-11-02T07:41:18Z") and root["password_last_used_state"] == PRESENT
    assert bool(root["mfa_active"]) and root["access_key_1_active"] == False  # noqa: E712 (pandas boolean)
    assert pd.isna(root["access_key_1_last_used_date"]) and root["access_key_1_last_used_date_state"] == NOT_APPLICABLE


def test_user_rows(report: pd.DataFrame) -> None:
    user = report.loc["console-admin"]
    assert not user["is_root"]
    assert (bool(user["password_enabled"]), bool(user["mfa_active"])) == (True, True)
    assert user["password_last_used"] == ts("2026-01-19T16:05:44Z")
    assert user["password_last_changed"] == ts("2025-08-01T10:00:00Z")
    assert pd.isna(user["password_next_rotation"]) and user["password_next_rotation_state"] == NOT_APPLICABLE

    two_keys = report.loc["rotating-deployer"]
    assert (bool(two_keys["access_key_1_active"]), bool(two_keys["access_key_2_active"])) == (False, True)
    assert two_keys["access_key_1_last_rotated"] == ts("2025-03-02T08:30:12Z")
    assert two_keys["access_key_1_last_used_date"] == ts("2025-03-02T08:31:00Z")
    assert (two_keys["access_key_1_last_used_region"], two_keys["access_key_1_last_used_service"]) == ("eu-west-1", "ec2")
    assert (two_keys["access_key_2_last_used_region"], two_keys["access_key_2_last_used_service"]) == ("us-east-1", "sts")
    # A password that is not enabled still has a last-used date here: kept, not cleared.
    assert two_keys["password_enabled"] == False  # noqa: E712
    assert two_keys["password_last_used"] == ts("2025-06-30T12:00:00Z")

    no_password = report.loc["build-agent"]
    assert no_password["password_enabled"] == False  # noqa: E712
    assert pd.isna(no_password["password_last_used"]) and no_password["password_last_used_state"] == NOT_APPLICABLE
    assert report["access_key_1_last_used_region"].value_counts(dropna=True).to_dict() == {"eu-west-1": 2, "us-east-1": 1}

    # Signing certificates: one active certificate, typed like the keys.
    assert bool(no_password["cert_1_active"]) and no_password["cert_1_last_rotated"] == ts("2024-02-01T08:00:00Z")
    assert report["cert_1_active"].sum() == 1 and report["cert_1_last_rotated_state"].eq(PRESENT).sum() == 1

    # A console password IAM has no use record for, on an account with password expiry.
    dormant = report.loc["dormant-console"]
    assert bool(dormant["password_enabled"]) and not bool(dormant["mfa_active"])
    assert pd.isna(dormant["password_last_used"]) and dormant["password_last_used_state"] == NO_INFORMATION
    assert dormant["password_next_rotation"] == ts("2014-08-10T13:00:00Z")
    assert report["mfa_active"].sum() == 2  # root and console-admin


def test_no_information_is_not_never() -> None:
    row = parse_credential_report(read("credential_report_no_information.csv")).iloc[0]
    assert pd.isna(row["password_last_used"]) and row["password_last_used_state"] == NO_INFORMATION
    assert row["password_last_changed_state"] == NOT_APPLICABLE  # "N/A" stays a different state


def test_prowler_root_row_from_bytes() -> None:
    raw = (FIXTURES / "credential_report_prowler_root.csv").read_bytes()
    row = parse_credential_report(raw).iloc[0]
    assert bool(row["is_root"]) and row["arn"] == "arn:aws:iam::123456789012:<root_account>"
    assert bool(row["password_enabled"]) and row["password_last_used_state"] == NO_INFORMATION
    assert row["password_last_changed_state"] == NOT_SUPPORTED
    # An active root key that was never rotated or used: active, with N/A dates.
    assert bool(row["access_key_1_active"]) and row["access_key_1_last_rotated_state"] == NOT_APPLICABLE


def test_unknown_extra_column_is_kept_as_text() -> None:
    lines = read("credential_report_prowler_root.csv").splitlines()
    text = "\n".join([lines[0] + ",future_column", lines[1] + ",some value"]) + "\n"
    frame = parse_credential_report(text)
    assert frame.loc[0, "future_column"] == "some value"
    assert list(frame.columns).index("future_column") == len(CREDENTIAL_REPORT_COLUMNS)


def test_missing_columns_are_named() -> None:
    lines = read("credential_report_handwritten.csv").splitlines()
    header = lines[0].split(",")
    drop = {header.index("mfa_active"), header.index("cert_2_last_rotated")}
    cut = [",".join(v for i, v in enumerate(line.split(",")) if i not in drop) for line in lines]
    with pytest.raises(CredentialReportError, match="missing required columns: mfa_active, cert_2_last_rotated"):
        parse_credential_report("\n".join(cut))


@pytest.mark.parametrize("column, value, message", [
    ("mfa_active", "yes", "expected true/false, got 'yes'"),
    ("password_last_used", "last tuesday", "not a timestamp: 'last tuesday'"),
    ("access_key_1_last_used_region", "", "is empty"),
    ("user", "N/A", "must hold a value"),
])
def test_bad_values_name_row_and_column(column: str, value: str, message: str) -> None:
    lines = read("credential_report_handwritten.csv").splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")  # console-admin
    cells[header.index(column)] = value
    text = "\n".join([lines[0], lines[1], ",".join(cells)])
    with pytest.raises(CredentialReportError, match=f"{column}.*{message}" if column != "user" else message):
        parse_credential_report(text)


def test_ragged_and_empty_input() -> None:
    lines = read("credential_report_handwritten.csv").splitlines()
    with pytest.raises(CredentialReportError, match="line 3 has 21 fields, the header has 22"):
        parse_credential_report("\n".join([lines[0], lines[1], lines[2].rsplit(",", 1)[0]]))
    with pytest.raises(CredentialReportError, match="empty"):
        parse_credential_report("")
    header_only = parse_credential_report(lines[0] + "\n")
    assert header_only.empty and list(header_only.columns)[:22] == list(CREDENTIAL_REPORT_COLUMNS)
