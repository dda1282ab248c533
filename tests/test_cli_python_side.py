"""`trailbook findings` runs the detections that are not catalog queries (country of sign-in,
credential hygiene, unused permissions) when their inputs exist, says which input is missing when
they do not, and runs the exposure detections with the organization's accounts trusted.

Every run here is a real process: stdout must stay clean JSON Lines while stderr explains.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, QUERY_FIXTURES
from test_logins import write_mmdb
from trailbook.contract import FINDING_COLUMNS
from trailbook.errors import EXIT_USAGE

ROOT = Path(__file__).resolve().parents[1]
DEMO_IAM = ROOT / "demo" / "iam"  # the demo's IAM snapshot, which `--source demo` comes with
HYGIENE_NAME, PERMISSIONS_NAME = "cis_1_5_root_mfa", "unused_permissions_over_privileged"
COUNTRY_NAME = "console_login_outside_allowed_countries"
GRANTEE = "999988887777"  # the foreign account of the exposure fixture's KMS grant and SNS permission


def _run(*args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    return subprocess.run([sys.executable, "-m", "trailbook.cli", "findings", "--quiet", *args],
                          capture_output=True, text=True, env=environment, timeout=600, cwd=ROOT)


def _rows(done: subprocess.CompletedProcess) -> list[dict]:
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]  # every stdout line is one finding
    for row in rows:
        assert list(row) == [*FINDING_COLUMNS, "details"]
    return rows


def _source(tmp_path: Path, records: list[dict]) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "events.json").write_text(json.dumps({"Records": records}))
    return folder


def _console_login(ip: str) -> list[dict]:
    """The Stratus console login without MFA, from a documentation address (its own is redacted)."""
    records = json.loads((FIXTURES / "stratus" / "aws.initial-access.console-login-without-mfa.json").read_text())
    records = records["Records"] if isinstance(records, dict) else records
    login = copy.deepcopy(next(r for r in records if r["eventName"] == "ConsoleLogin"))
    login["sourceIPAddress"] = ip
    return [login]


def _exposure_records() -> list[dict]:
    """The exposure fixture's KMS grant and SNS permission, both to account GRANTEE."""
    records = json.loads((QUERY_FIXTURES / "resource_policy_external_access" / "match.json").read_text())
    return [r for r in records if r["eventName"] in ("CreateGrant", "AddPermission")]


def test_the_demo_runs_hygiene_and_unused_permissions_from_its_snapshot():
    # First the run: on a fresh clone it is what generates the demo, snapshot included.
    done = _run("--source", "demo", "--detection", "root_activity", "--detection", HYGIENE_NAME,
                "--detection", PERMISSIONS_NAME, "--detection", COUNTRY_NAME)
    manifest = json.loads((DEMO_IAM / "snapshot.json").read_text())
    collected = manifest["collected_at"]
    no_root_mfa = set()
    for account in manifest["accounts"]:
        with open(DEMO_IAM / account / "credential_report.csv", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["user"] == "<root_account>" and row["mfa_active"] == "false":
                    no_root_mfa.add(account)
    assert no_root_mfa, "the demo's snapshot has a root without MFA"
    rows = _rows(done)
    hygiene = [r for r in rows if r["detection"] == HYGIENE_NAME]
    assert {r["account_id"] for r in hygiene} == no_root_mfa
    assert all(r["first_seen"] == collected and r["event_count"] == 0 for r in hygiene)
    unused = [r for r in rows if r["detection"] == PERMISSIONS_NAME]
    assert unused and all(r["first_seen"] == collected and r["details"] for r in unused)
    assert any(r["detection"] == "root_activity" for r in rows)  # the catalog's detections still run
    assert {r["detection"] for r in rows} <= {"root_activity", HYGIENE_NAME, PERMISSIONS_NAME}
    skipped = [line for line in done.stderr.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 1 and COUNTRY_NAME in skipped[0], done.stderr
    assert "--geoip-db" in skipped[0] and "--allowed-countries" in skipped[0]


def test_a_source_without_the_inputs_says_what_each_family_lacks(tmp_path):
    done = _run("--source", str(_source(tmp_path, _console_login("203.0.113.7"))), "--store", str(tmp_path / "s"))
    rows = _rows(done)
    assert "console_login_without_mfa" in {r["detection"] for r in rows}
    assert not {r["detection"] for r in rows} & {HYGIENE_NAME, PERMISSIONS_NAME, COUNTRY_NAME}
    skipped = [line for line in done.stderr.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 3, done.stderr
    by_family = {line.split(" (")[0]: line for line in skipped}
    assert set(by_family) == {"skipped country of sign-in", "skipped credential hygiene",
                              "skipped unused permissions"}
    assert "--geoip-db" in by_family["skipped country of sign-in"]
    assert HYGIENE_NAME in by_family["skipped credential hygiene"]
    for family in ("skipped credential hygiene", "skipped unused permissions"):
        assert "no IAM snapshot" in by_family[family] and "--iam-snapshot" in by_family[family]


def test_the_country_of_sign_in_runs_with_a_geoip_database(tmp_path):
    ip = "203.0.113.7"
    login = _console_login(ip)
    database = write_mmdb(tmp_path / "countries.mmdb", {"203.0.113.0/24": "FR"})
    source = _source(tmp_path, login)
    args = ("--source", str(source), "--store", str(tmp_path / "s"), "--geoip-db", str(database),
            "--detection", COUNTRY_NAME)
    rows = _rows(done := _run(*args, "--allowed-countries", "US,DE"))
    assert [(r["detection"], r["source_ip"], r["principal_arn"], r["details"]["country"]) for r in rows] == [
        (COUNTRY_NAME, ip, login[0]["userIdentity"]["arn"], "FR")]
    assert "skipped" not in done.stderr
    assert _rows(_run(*args, "--allowed-countries", "FR")) == []


def test_exposure_trusts_the_snapshot_accounts_and_trusted_accounts(tmp_path):
    from trailbook.iam.snapshot import AccountData, write_snapshot

    records = _exposure_records()
    owner = records[0]["recipientAccountId"]
    source = _source(tmp_path, records)
    base = ("--source", str(source), "--store", str(tmp_path / "s"), "--detection", "resource_policy_external_access")
    found = _rows(_run(*base))
    assert sorted(r["event_names"][0] for r in found) == ["AddPermission", "CreateGrant"]
    assert all(GRANTEE in json.dumps(r["details"]["grantees"]) for r in found)
    # The organization's accounts from an IAM snapshot are trusted (this one holds only their ids).
    snapshot = write_snapshot(tmp_path / "iam", {owner: AccountData(), GRANTEE: AccountData()}, source="live",
                              collected_at=dt.datetime(2024, 8, 1, tzinfo=dt.timezone.utc))
    done = _run(*base, "--iam-snapshot", str(snapshot), "--detection", HYGIENE_NAME, "--detection", PERMISSIONS_NAME)
    assert _rows(done) == []
    lines = done.stderr.splitlines()
    assert any(line.startswith("credential hygiene: ran") and "no credential report for" in line and GRANTEE in line
               for line in lines), done.stderr
    assert any(line.startswith("skipped unused permissions") and "authorization_details.json" in line
               for line in lines), done.stderr
    # So are the accounts given with --trusted-accounts.
    assert _rows(_run(*base, "--trusted-accounts", GRANTEE)) == []


@pytest.mark.parametrize("option, value, says", [
    ("--geoip-db", "missing.mmdb", "--geoip-db"),
    ("--iam-snapshot", "not-a-snapshot", "--iam-snapshot"),
    ("--allowed-countries", "France", "allowed_countries"),
    ("--trusted-accounts", "1234", "trusted_accounts"),
])
def test_an_unusable_input_is_a_usage_error(tmp_path, option, value, says):
    (tmp_path / "not-a-snapshot").mkdir()
    value = str(tmp_path / value) if option in ("--geoip-db", "--iam-snapshot") else value
    done = _run("--source", str(_source(tmp_path, _console_login("203.0.113.7"))), "--store", str(tmp_path / "s"),
                option, value)
    assert done.returncode == EXIT_USAGE and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr
    assert not (tmp_path / "s").exists()  # found before anything ran: nothing was ingested


def test_the_thresholds_are_the_notebooks_defaults():
    from trailbook.analyses import python_side as PY
    from trailbook.notebook import declared_parameters

    for notebook, days in (("credential_hygiene", PY.HYGIENE_DAYS), ("unused_permissions", PY.PERMISSIONS_DAYS)):
        declared = declared_parameters(notebook)
        assert {name: int(declared[name]["default"]) for name in days} == days, notebook
