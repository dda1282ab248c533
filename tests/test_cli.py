"""The command line: ingest, findings (JSONL and CSV), queries, and usage errors."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import FIXTURES
from trailbook.catalog import FINDING_COLUMNS
from trailbook.cli import EXIT_USAGE, main

STRATUS = FIXTURES / "stratus"


@pytest.fixture()
def source(tmp_path):
    """Three real Stratus detonations: CloudTrail stop, delete, and a console login without MFA."""
    folder = tmp_path / "logs"
    folder.mkdir()
    for name in ("aws.defense-evasion.cloudtrail-stop.json", "aws.defense-evasion.cloudtrail-delete.json",
                 "aws.initial-access.console-login-without-mfa.json"):
        shutil.copy(STRATUS / name, folder / name)
    return folder


def test_findings_jsonl_on_a_folder(source, tmp_path, capsys):
    out = tmp_path / "findings.jsonl"
    code = main(["findings", "--source", str(source), "--store", str(tmp_path / "store"),
                 "--start", "2024-07-31", "--end", "2024-08-03", "--out", str(out), "--quiet"])
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    detections = {r["detection"] for r in rows}
    assert {"cloudtrail_logging_disabled", "console_login_without_mfa"} <= detections
    for row in rows:
        assert list(row)[: len(FINDING_COLUMNS)] == list(FINDING_COLUMNS)
    stopped = next(r for r in rows if r["detection"] == "cloudtrail_logging_disabled")
    assert stopped["event_names"] == ["DeleteTrail", "StopLogging"] or stopped["event_count"] == 1
    assert "findings" in capsys.readouterr().err


def test_findings_csv_to_stdout_and_default_window(source, tmp_path, capsys):
    code = main(["findings", "--source", str(source), "--store", str(tmp_path / "store"), "--format", "csv",
                 "--detection", "console_login_without_mfa", "--quiet"])
    assert code == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0].split(",")[: len(FINDING_COLUMNS)] == list(FINDING_COLUMNS)
    assert len(lines) == 2 and "console_login_without_mfa" in lines[1]
    # The default window is the store's last seven days, ending at the end of its last day,
    # but never before its first day (the data spans only three days here).
    assert "2024-07-31T00:00Z → 2024-08-03T00:00Z" in captured.err


def test_ingest_is_incremental(source, tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["ingest", str(source), "--store", str(store), "--quiet"]) == 0
    first = capsys.readouterr().err
    assert "3 new" in first
    assert main(["ingest", str(source), "--store", str(store), "--quiet"]) == 0
    assert "0 new" in capsys.readouterr().err


def test_bad_window_is_a_usage_error(source, tmp_path, capsys):
    code = main(["findings", "--source", str(source), "--store", str(tmp_path / "store"),
                 "--start", "2024-08-03", "--end", "2024-07-31", "--quiet"])
    assert code == EXIT_USAGE
    assert "not before" in capsys.readouterr().err


def test_queries_lists_and_explains(capsys):
    assert main(["queries"]) == 0
    listing = capsys.readouterr().out
    assert "root_activity" in listing and "detection" in listing
    assert main(["queries", "root_activity"]) == 0
    assert "T1078.004" in capsys.readouterr().out
    assert main(["queries", "no_such_query"]) == EXIT_USAGE


def test_collect_iam_passes_its_options_to_the_collector(tmp_path, monkeypatch, capsys):
    """The CLI wiring only: the collector itself is tested against moto and botocore-shaped fakes."""
    from trailbook.iam import collect

    seen = {}

    def fake_collect(out_dir, **kwargs):
        seen.update(kwargs, out_dir=out_dir)
        return out_dir / "iam-2026-11-29T060000Z"

    monkeypatch.setattr(collect, "collect_snapshot", fake_collect)
    code = main(["collect", "iam", "--out", str(tmp_path), "--accounts", "111111111111", "222222222222",
                 "--role-name", "TrailbookReadOnly", "--regions", "us-east-1", "eu-west-1"])
    assert code == 0
    assert seen["accounts"] == ["111111111111", "222222222222"] and seen["role_name"] == "TrailbookReadOnly"
    assert seen["regions"] == ["us-east-1", "eu-west-1"] and seen["session"] is None
    assert "iam-2026-11-29T060000Z" in capsys.readouterr().out


def test_policy_prints_the_engine_policy(capsys):
    assert main(["policy", "lake"]) == 0
    document = json.loads(capsys.readouterr().out)
    actions = {a for statement in document["Statement"] for a in statement["Action"]}
    assert actions == {"cloudtrail:StartQuery", "cloudtrail:DescribeQuery", "cloudtrail:GetQueryResults",
                       "cloudtrail:CancelQuery"}
