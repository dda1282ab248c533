"""Parse the IAM credential report (the 22-column CSV of GetCredentialReport) into a typed DataFrame.

AWS writes three sentinel strings where a value is absent, and they mean different things:

- ``N/A`` — not applicable: no password, no such access key, key never used, no certificate.
- ``no_information`` — IAM has no record, e.g. a password never used or not used since
  IAM began tracking (October 2014).
- ``not_supported`` — the field does not apply to this kind of row (root user password
  fields).

None of them is "never". Convention: every typed column ``c`` holds a real value or a missing
marker (``NaT`` / ``<NA>``), and a companion categorical column ``c_state`` says why:
``present``, ``not_applicable`` (``N/A``), ``no_information`` or ``not_supported``. An
analysis that wants "never used" must ask for ``c_state == "not_applicable"`` explicitly.

Timestamps are ``datetime64[us, UTC]``. Output columns, in order: the 22 report columns (typed),
any extra columns AWS may add (kept as text, untyped), ``is_root`` (the ``<root_account>`` row),
then the ``*_state`` columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import pandas as pd

CREDENTIAL_REPORT_COLUMNS: tuple[str, ...] = (
    "user", "arn", "user_creation_time",
    "password_enabled", "password_last_used", "password_last_changed", "password_next_rotation",
    "mfa_active",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
    "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
)
BOOLEAN_COLUMNS: tuple[str, ...] = (
    "password_enabled", "mfa_active", "access_key_1_active", "access_key_2_active",
    "cert_1_active", "cert_2_active",
)
TIMESTAMP_COLUMNS: tuple[str, ...] = (
    "user_creation_time", "password_last_used", "password_last_changed", "password_next_rotation",
    "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_2_last_rotated", "access_key_2_last_used_date",
    "cert_1_last_rotated", "cert_2_last_rotated",
)
TEXT_COLUMNS: tuple[str, ...] = (
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
)
IDENTITY_COLUMNS: tuple[str, ...] = ("user", "arn")
TYPED_COLUMNS: tuple[str, ...] = tuple(
    c for c in CREDENTIAL_REPORT_COLUMNS if c not in IDENTITY_COLUMNS
)

ROOT_USER = "<root_account>"
STATE_SUFFIX = "_state"

PRESENT = "present"
NOT_APPLICABLE = "not_applicable"
NO_INFORMATION = "no_information"
NOT_SUPPORTED = "not_supported"
STATES: tuple[str, ...] = (PRESENT, NOT_APPLICABLE, NO_INFORMATION, NOT_SUPPORTED)
SENTINELS: dict[str, str] = {"N/A": NOT_APPLICABLE, "no_information": NO_INFORMATION, "not_supported": NOT_SUPPORTED}

_BOOLEANS = {"true": True, "false": False}


class CredentialReportError(ValueError):
    """The credential report text is not a valid IAM credential report."""


def state_column(column: str) -> str:
    """The name of the companion state column of a typed column."""
    return column + STATE_SUFFIX


def parse_credential_report(content: str | bytes) -> pd.DataFrame:
    """Parse credential report CSV text (or the raw bytes boto3 returns) into a typed DataFrame."""
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise CredentialReportError("credential report is empty (no header row)")
    header, body = rows[0], rows[1:]
    _check_header(header)
    records: dict[str, list[str]] = {name: [] for name in header}
    for line_number, row in enumerate(body, start=2):
        if not row:
            continue  # a trailing newline, not a record
        if len(row) != len(header):
            raise CredentialReportError(
                f"credential report line {line_number} has {len(row)} fields, the header has {len(header)}"
            )
        for name, cell in zip(header, row, strict=True):
            records[name].append(cell)

    users = records["user"]
    frame: dict[str, object] = {}
    states: dict[str, pd.Categorical] = {}
    for name in IDENTITY_COLUMNS:
        for user, value in zip(users, records[name], strict=True):
            if not value or value in SENTINELS:
                raise CredentialReportError(f"column {name!r} of user {user!r} must hold a value, got {value!r}")
        frame[name] = pd.array(records[name], dtype="string")
    for name in TYPED_COLUMNS:
        values, state = _typed(name, records[name], users)
        frame[name] = values
        states[state_column(name)] = pd.Categorical(state, categories=STATES)
    extras = [name for name in header if name not in CREDENTIAL_REPORT_COLUMNS]
    for name in extras:
        frame[name] = pd.array(records[name], dtype="string")
    frame["is_root"] = pd.array([user == ROOT_USER for user in users], dtype="bool")
    frame.update(states)
    return pd.DataFrame(frame)


def _check_header(header: Sequence[str]) -> None:
    duplicates = sorted({name for name in header if list(header).count(name) > 1})
    if duplicates:
        raise CredentialReportError(f"credential report header repeats columns: {', '.join(duplicates)}")
    missing = [name for name in CREDENTIAL_REPORT_COLUMNS if name not in header]
    if missing:
        raise CredentialReportError(f"credential report is missing required columns: {', '.join(missing)}")


def _typed(name: str, cells: list[str], users: list[str]) -> tuple[object, list[str]]:
    """One column's typed values and per-row states; unknown values raise, naming row and column."""
    state = [SENTINELS.get(cell, PRESENT) for cell in cells]
    present = [cell if s == PRESENT else None for cell, s in zip(cells, state, strict=True)]
    if name in BOOLEAN_COLUMNS:
        values: list[bool | None] = []
        for user, cell in zip(users, present, strict=True):
            if cell is None:
                values.append(None)
            elif cell.lower() in _BOOLEANS:
                values.append(_BOOLEANS[cell.lower()])
            else:
                raise CredentialReportError(f"column {name!r} of user {user!r}: expected true/false, got {cell!r}")
        return pd.array(values, dtype="boolean"), state
    if name in TIMESTAMP_COLUMNS:
        for user, cell in zip(users, present, strict=True):
            if cell is not None and not cell.strip():
                raise CredentialReportError(f"column {name!r} of user {user!r} is empty")
        try:
            parsed = pd.to_datetime(pd.Series(present, dtype="object"), utc=True, format="ISO8601")
        except (ValueError, TypeError) as error:
            bad = _first_bad_timestamp(present, users)
            raise CredentialReportError(f"column {name!r} of user {bad[0]!r}: not a timestamp: {bad[1]!r}") from error
        # One resolution for every column, whatever the input precision or pandas default.
        return parsed.dt.as_unit("us").array, state
    for user, cell in zip(users, present, strict=True):
        if cell is not None and not cell.strip():
            raise CredentialReportError(f"column {name!r} of user {user!r} is empty")
    return pd.array(present, dtype="string"), state


def _first_bad_timestamp(values: list[str | None], users: list[str]) -> tuple[str, str]:
    for user, value in zip(users, values, strict=True):
        if value is None:
            continue
        try:
            pd.Timestamp(value)
        except ValueError:
            return user, value
    return "?", "?"
