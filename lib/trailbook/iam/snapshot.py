"""The IAM snapshot: a dated directory that the live collector and the demo generator write
and every IAM analysis reads, so analyses run offline.

Layout (format ``trailbook-iam-snapshot/1``)::

    <snapshot>/snapshot.json                 format, collected_at, accounts, source, errors[, organization]
    <snapshot>/<account_id>/credential_report.csv
                           /credential_report.json      {"GeneratedTime", "ReportFormat"}
                           /authorization_details.json  GetAccountAuthorizationDetails, pages merged
                           /service_last_accessed.json  {entity ARN: Access Advisor job + services}
                           /access_keys.json            ListAccessKeys + GetAccessKeyLastUsed
                           /virtual_mfa_devices.json    ListVirtualMFADevices (AssignmentStatus Any),
                                                        pages merged: [{SerialNumber, User?, EnableDate?,
                                                        Tags?}]; no Base32StringSeed / QRCodePNG
                           /posture.json                trails, GuardDuty, S3 BPA, Access Analyzer

Conventions:
- Every datetime is an ISO-8601 UTC string ending in ``Z``; otherwise responses keep their
  botocore shapes, minus ``ResponseMetadata``.
- A call that failed is listed in ``snapshot.json`` ``errors`` ({account, call, message}) and
  its data is *absent*: a missing file, a missing entity ARN in service_last_accessed.json, a
  missing key in posture.json. ``null`` is reserved for what AWS itself reported as "none"
  (e.g. ``s3_public_access_block`` when the account has no configuration), so "not
  configured" is never confused with "could not read".
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal

import orjson
import pandas as pd

from trailbook.iam.credential_report import parse_credential_report

FORMAT = "trailbook-iam-snapshot/1"
SNAPSHOT_FILE = "snapshot.json"
CREDENTIAL_REPORT_CSV = "credential_report.csv"
CREDENTIAL_REPORT_INFO = "credential_report.json"
AUTHORIZATION_DETAILS = "authorization_details.json"
SERVICE_LAST_ACCESSED = "service_last_accessed.json"
ACCESS_KEYS = "access_keys.json"
VIRTUAL_MFA_DEVICES = "virtual_mfa_devices.json"
POSTURE = "posture.json"

Source = Literal["demo", "live"]
SOURCES: tuple[str, ...] = ("demo", "live")
_ACCOUNT_ID = re.compile(r"\d{12}")


class SnapshotError(ValueError):
    """A snapshot directory is malformed or lacks what was asked for."""


def iso_z(value: datetime) -> str:
    """A datetime as ISO-8601 UTC with ``Z``; naive datetimes are taken to be UTC already."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def to_jsonable(value: Any) -> Any:
    """botocore response data → plain JSON data: datetimes to ISO Z, ResponseMetadata dropped."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "ResponseMetadata":
                continue
            if not isinstance(key, str):
                raise TypeError(f"snapshot JSON keys must be strings, got {key!r}")
            out[key] = to_jsonable(item)
        return out
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in a snapshot: {value!r}")


def validate_account_id(account: str) -> str:
    """A 12-digit AWS account id, else a clear error."""
    if not isinstance(account, str) or not _ACCOUNT_ID.fullmatch(account):
        raise ValueError(f"not an AWS account id (12 digits, as a string): {account!r}")
    return account


@dataclass
class AccountData:
    """One account's collected data; ``None`` means "not collected" (the file is not written)."""

    credential_report_csv: str | None = None
    credential_report_info: dict[str, Any] | None = None
    authorization_details: dict[str, Any] | None = None
    service_last_accessed: dict[str, Any] | None = None
    access_keys: list[dict[str, Any]] | None = None
    virtual_mfa_devices: list[dict[str, Any]] | None = None
    posture: dict[str, Any] | None = None


@dataclass(frozen=True)
class SnapshotErrorEntry:
    """One failed call, as listed in snapshot.json ``errors``."""

    account: str
    call: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"account": self.account, "call": self.call, "message": self.message}


def snapshot_dir_name(collected_at: datetime) -> str:
    """``iam-<YYYY-MM-DDTHHMMSSZ>`` for a collection time."""
    return "iam-" + collected_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")


def _dump(path: Path, data: Any) -> None:
    path.write_bytes(orjson.dumps(to_jsonable(data), option=orjson.OPT_INDENT_2) + b"\n")


def write_snapshot(
    out_dir: str | Path,
    accounts: Mapping[str, AccountData],
    *,
    source: Source,
    collected_at: datetime,
    errors: Sequence[SnapshotErrorEntry | Mapping[str, str]] = (),
    organization: Mapping[str, Any] | None = None,
) -> Path:
    """Write a snapshot directory under ``out_dir`` and return its path.

    ``organization`` ({"id", "accounts"}), when the collection could read it, names the
    organization the accounts belong to and every account in it.

    The directory is assembled under a hidden temporary name and renamed at the end, so a
    half-written snapshot never looks complete. An existing snapshot is never overwritten.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    for account in accounts:
        validate_account_id(account)
    error_dicts = [e.as_dict() if isinstance(e, SnapshotErrorEntry) else _checked_error(e) for e in errors]

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / snapshot_dir_name(collected_at)
    if final.exists():
        raise FileExistsError(f"snapshot already exists: {final}")
    staging = out_dir / f".{final.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        for account, data in accounts.items():
            _write_account(staging / account, data)
        _dump(staging / SNAPSHOT_FILE, {
            "format": FORMAT,
            "collected_at": iso_z(collected_at),
            "accounts": list(accounts),
            "source": source,
            "errors": error_dicts,
            **({"organization": _checked_organization(organization, "organization")} if organization else {}),
        })
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _checked_organization(value: Any, where: str) -> dict[str, Any]:
    """{"id": "o-...", "accounts": [12-digit ids]}: the organization and its member accounts."""
    if not isinstance(value, Mapping) or not isinstance(value.get("id"), str) \
            or not re.fullmatch(r"o-[a-z0-9]{10,32}", value["id"]) or not isinstance(value.get("accounts"), list):
        raise SnapshotError(f"{where} must be {{id: o-..., accounts: [...]}}, not {value!r:.120}")
    accounts = [str(a) for a in value["accounts"]]
    for account in accounts:
        try:
            validate_account_id(account)
        except ValueError as error:
            raise SnapshotError(f"{where}: {error}") from error
    return {"id": value["id"], "accounts": sorted(set(accounts))}


def _checked_error(entry: Mapping[str, str]) -> dict[str, str]:
    missing = {"account", "call", "message"} - set(entry)
    if missing:
        raise ValueError(f"snapshot error entry lacks {sorted(missing)}: {entry!r}")
    return {"account": str(entry["account"]), "call": str(entry["call"]), "message": str(entry["message"])}


def _write_account(folder: Path, data: AccountData) -> None:
    folder.mkdir()
    if data.credential_report_csv is not None:
        # newline="" keeps the report byte-for-byte as AWS returned it.
        with open(folder / CREDENTIAL_REPORT_CSV, "w", encoding="utf-8", newline="") as handle:
            handle.write(data.credential_report_csv)
    for name, value in (
        (CREDENTIAL_REPORT_INFO, data.credential_report_info),
        (AUTHORIZATION_DETAILS, data.authorization_details),
        (SERVICE_LAST_ACCESSED, data.service_last_accessed),
        (ACCESS_KEYS, data.access_keys),
        (VIRTUAL_MFA_DEVICES, data.virtual_mfa_devices),
        (POSTURE, data.posture),
    ):
        if value is not None:
            _dump(folder / name, value)


@dataclass
class Snapshot:
    """A snapshot read from disk. JSON accessors return the stored data (datetimes stay ISO strings)."""

    path: Path
    collected_at: datetime
    accounts: tuple[str, ...]
    source: str
    errors: list[dict[str, str]] = field(default_factory=list)
    organization: dict[str, Any] | None = None  # {"id", "accounts"} when the collection could read it

    @property
    def organization_accounts(self) -> tuple[str, ...]:
        """Every account of the organization (when known) and the snapshot's own, sorted."""
        return tuple(sorted(set(self.accounts) | set((self.organization or {}).get("accounts") or ())))

    @property
    def organization_id(self) -> str | None:
        return (self.organization or {}).get("id")

    def errors_for(self, account: str) -> list[dict[str, str]]:
        """The failed calls recorded for one account."""
        self._folder(account)
        return [e for e in self.errors if e["account"] == account]

    def credential_report(self, account: str) -> pd.DataFrame:
        """The credential report as a typed DataFrame (see ``parse_credential_report``)."""
        return parse_credential_report(self.credential_report_csv(account))

    def credential_report_csv(self, account: str) -> str:
        """The credential report CSV text exactly as AWS returned it."""
        path = self._file(account, CREDENTIAL_REPORT_CSV)
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()

    def credential_report_info(self, account: str) -> dict[str, Any]:
        """``{"GeneratedTime", "ReportFormat"}`` of the stored credential report."""
        return self._json(account, CREDENTIAL_REPORT_INFO)

    def authorization_details(self, account: str) -> dict[str, Any]:
        """GetAccountAuthorizationDetails, all pages merged; policy documents are JSON objects."""
        return self._json(account, AUTHORIZATION_DETAILS)

    def service_last_accessed(self, account: str) -> dict[str, dict[str, Any]]:
        """Access Advisor results by entity ARN (completed jobs only; failures are in ``errors``)."""
        return self._json(account, SERVICE_LAST_ACCESSED)

    def access_keys(self, account: str) -> list[dict[str, Any]]:
        """Access keys of every IAM user, with last-used date, service and region."""
        return self._json(account, ACCESS_KEYS)

    def virtual_mfa_devices(self, account: str) -> list[dict[str, Any]]:
        """Every virtual MFA device, assigned or not; ``User.Arn`` names who it is assigned to
        (``arn:aws:iam::<account>:root`` for the root user). Hardware devices are not listed."""
        return self._json(account, VIRTUAL_MFA_DEVICES)

    def posture(self, account: str) -> dict[str, Any]:
        """Guardrail posture: trails and their status, GuardDuty, S3 BPA, Access Analyzer."""
        return self._json(account, POSTURE)

    def _folder(self, account: str) -> Path:
        if account not in self.accounts:
            raise KeyError(f"account {account!r} is not in snapshot {self.path} (accounts: {list(self.accounts)})")
        return self.path / account

    def _file(self, account: str, name: str) -> Path:
        path = self._folder(account) / name
        if not path.is_file():
            recorded = [f"{e['call']}: {e['message']}" for e in self.errors if e["account"] == account]
            hint = f"; recorded errors for this account: {recorded}" if recorded else ""
            raise SnapshotError(f"{name} was not collected for account {account} in {self.path}{hint}")
        return path

    def _json(self, account: str, name: str) -> Any:
        return json.loads(self._file(account, name).read_text(encoding="utf-8"))


def load_snapshot(path: str | Path) -> Snapshot:
    """Open a snapshot directory (the ``iam-<timestamp>`` folder) and check its manifest."""
    path = Path(path)
    manifest_path = path / SNAPSHOT_FILE
    if not manifest_path.is_file():
        raise SnapshotError(f"not an IAM snapshot: {manifest_path} does not exist")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SnapshotError(f"{manifest_path} is not valid JSON: {error}") from error
    if not isinstance(manifest, dict):
        raise SnapshotError(f"{manifest_path} must hold a JSON object")
    missing = [k for k in ("format", "collected_at", "accounts", "source", "errors") if k not in manifest]
    if missing:
        raise SnapshotError(f"{manifest_path} lacks {missing}")
    if manifest["format"] != FORMAT:
        raise SnapshotError(f"{manifest_path}: format {manifest['format']!r} is not {FORMAT!r}")
    if manifest["source"] not in SOURCES:
        raise SnapshotError(f"{manifest_path}: source {manifest['source']!r} is not one of {SOURCES}")
    accounts = manifest["accounts"]
    if not isinstance(accounts, list):
        raise SnapshotError(f"{manifest_path}: accounts must be a list")
    for account in accounts:
        try:
            validate_account_id(account)
        except ValueError as error:
            raise SnapshotError(f"{manifest_path}: {error}") from error
        if not (path / account).is_dir():
            raise SnapshotError(f"{manifest_path} lists account {account} but {path / account} is missing")
    errors = manifest["errors"]
    if not isinstance(errors, list) or not all(
        isinstance(e, dict) and {"account", "call", "message"} <= set(e) for e in errors
    ):
        raise SnapshotError(f"{manifest_path}: errors must be a list of {{account, call, message}} objects")
    try:
        collected_at = datetime.fromisoformat(manifest["collected_at"].replace("Z", "+00:00"))
    except (AttributeError, ValueError) as error:
        raise SnapshotError(f"{manifest_path}: collected_at {manifest['collected_at']!r} is not ISO-8601") from error
    return Snapshot(
        path=path,
        collected_at=collected_at,
        accounts=tuple(accounts),
        source=manifest["source"],
        errors=errors,
        organization=_checked_organization(manifest["organization"], f"{manifest_path}: organization")
        if manifest.get("organization") is not None else None,
    )
