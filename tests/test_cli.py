"""The command line: ingest, findings (JSONL and CSV), queries, and usage errors."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, write_records
from trailbook.catalog import FINDING_COLUMNS
from trailbook.cli import EXIT_USAGE, main
from trailbook.errors import EXIT_FAILED, EXIT_NO_DATA

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
    # The two detonations ran in different accounts: one finding each (read off the fixture files).
    stopped = {(r["account_id"], tuple(r["event_names"]), r["event_count"])
               for r in rows if r["detection"] == "cloudtrail_logging_disabled"}
    assert stopped == {("143434273843", ("StopLogging",), 1), ("847129010505", ("DeleteTrail",), 1)}
    assert "findings" in capsys.readouterr().err


def test_findings_csv_to_stdout_and_default_window(source, tmp_path, capsys):
    code = main(["findings", "--source", str(source), "--store", str(tmp_path / "store"), "--format", "csv",
                 "--detection", "console_login_without_mfa", "--quiet"])
    assert code == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0].split(",")[: len(FINDING_COLUMNS)] == list(FINDING_COLUMNS)
    assert len(lines) == 2 and "console_login_without_mfa" in lines[1]
    # The default window is the whole source in whole UTC days (the data spans three days here).
    assert "window 2024-07-31T00:00Z → 2024-08-03T00:00Z (whole source); 0 events outside" in captured.err


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
                       "cloudtrail:CancelQuery", "cloudtrail:GetEventDataStore"}  # the last for `lake doctor`


# --- the default window, no data, baselines -------------------------------------------------------

def _event(n: int, when: dt.datetime) -> dict:
    return {"eventVersion": "1.09", "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity", "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2.15.30", "requestParameters": None,
            "responseElements": None, "requestID": f"req-{n}", "eventID": f"00000000-0000-4000-8000-{n:012d}",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/anaya",
                             "accountId": "111122223333", "principalId": "AIDACKCEVSQ6C2EXAMPLE",
                             "userName": "anaya", "accessKeyId": "AKIAIOSFODNN7EXAMPLE"},
            "eventType": "AwsApiCall", "recipientAccountId": "111122223333"}


def _daily(first: dt.datetime, days: int) -> list[dict]:
    """One event at 10:00 UTC on each of `days` days from `first`."""
    return [_event(n, first + dt.timedelta(days=n, hours=10)) for n in range(days)]


def _findings(tmp_path, records, *extra):
    source = write_records(records, tmp_path / "logs")
    return main(["findings", "--source", str(source), "--store", str(tmp_path / "store"), "--quiet",
                 "--out", str(tmp_path / "out.jsonl"), *extra])


def test_default_window_covers_four_months_up_to_the_cap(tmp_path, capsys):
    # 120 days of logs: the old default analysed the last 7; now the last 90 (the cap), and says so.
    first = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    assert _findings(tmp_path, _daily(first, 120), "--detection", "root_activity") == 0
    err = capsys.readouterr().err
    # Events on May 1 .. Aug 28; the window ends Aug 29 00:00 and starts 90 days earlier, May 31.
    assert ("window 2026-05-31T00:00Z → 2026-08-29T00:00Z (capped at 90 days); 30 events outside; "
            "30 earlier events not analysed, pass --start to include them") in err


def test_default_window_is_the_whole_source_with_baselines_from_its_first_days(tmp_path, capsys):
    first = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    assert _findings(tmp_path, _daily(first, 40), "--detection", "key_new_region") == 0
    err = capsys.readouterr().err
    assert "window 2026-05-01T00:00Z → 2026-06-10T00:00Z (whole source); 0 events outside" in err
    # key_new_region learns from 14 days; nothing lies before the window, so from its first 14 days.
    assert ("baseline: 1 detections learn what is usual from 2026-05-01T00:00Z → 2026-05-15T00:00Z (14 days, "
            "the window's first days, as the store holds nothing earlier; they judge 2026-05-15T00:00Z on; "
            "14 events)") in err


def test_baseline_before_a_given_window_is_named(tmp_path, capsys):
    first = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    code = _findings(tmp_path, _daily(first, 40), "--detection", "key_new_region",
                     "--start", "2026-05-08", "--end", "2026-06-01")
    assert code == 0
    err = capsys.readouterr().err
    # 14 days before May 8 reach back to April 24; the store holds May 1..7 of them: 7 events.
    assert ("baseline: 1 detections learn what is usual from 2026-04-24T00:00Z → 2026-05-08T00:00Z (14 days, "
            "the days before the window; 7 events)") in err


def test_an_event_dated_in_the_future_never_moves_the_window(tmp_path, capsys):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    records = _daily((now - dt.timedelta(days=5)).replace(hour=0, minute=0, second=0), 3)
    records.append(_event(99, now + dt.timedelta(days=30)))  # a bad record, whether or not ingest drops it
    code = _findings(tmp_path, records, "--detection", "root_activity")
    err = capsys.readouterr().err
    assert code == 0, err
    window = next(line for line in err.splitlines() if line.startswith("window "))
    end = dt.datetime.strptime(window.split(" → ")[1][:17], "%Y-%m-%dT%H:%MZ").replace(tzinfo=dt.timezone.utc)
    assert end <= now + dt.timedelta(days=1, minutes=1)


def test_an_empty_window_is_no_data_not_clean(tmp_path, capsys):
    first = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    code = _findings(tmp_path, _daily(first, 10), "--start", "2030-01-01", "--end", "2030-01-08")
    err = capsys.readouterr().err
    assert code == EXIT_NO_DATA == 4
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "trailbook: no data: 0 events in 2030-01-01T00:00Z → 2030-01-08T00:00Z for source ")
    assert "10 events outside it (10 before, 0 after" in lines[0]
    assert "findings" not in err.lower().replace("no data", "")
    assert not (tmp_path / "out.jsonl").exists()


# --- one-line errors with their exit codes -----------------------------------------------------

def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("trailbook"), err
    return lines[0]


@pytest.mark.parametrize("option,value", [("--start", "99999-01-01"), ("--start", "0000-01-01"),
                                          ("--start", "0001-01-01"), ("--end", "9999-12-31T23:59:59-05:00"),
                                          ("--start", "now-99999999d")])
def test_out_of_range_window_is_a_usage_error(source, tmp_path, capsys, option, value):
    code = main(["findings", "--source", str(source), "--store", str(tmp_path / "store"), option, value, "--quiet"])
    assert code == EXIT_USAGE
    line = _one_error_line(capsys.readouterr().err)
    assert value in line
    assert not (tmp_path / "store").exists()  # checked before any ingest


@pytest.mark.parametrize("out", ["folder", "devnull", "fifo", "/proc/trailbook-out.jsonl",
                                 "/proc/no-such-folder/out.jsonl"])
def test_findings_out_must_be_a_writable_file(source, tmp_path, capsys, out):
    (tmp_path / "folder").mkdir()
    (tmp_path / "devnull").symlink_to("/dev/null")  # /dev/null itself, through a link a broken build cannot replace
    os.mkfifo(tmp_path / "fifo")
    target = out if out.startswith("/") else str(tmp_path / out)
    code = main(["findings", "--source", str(source), "--store", str(tmp_path / "store"), "--out", target,
                 "--quiet"])
    assert code == EXIT_USAGE
    assert f"--out {target}" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "store").exists()


def test_findings_out_makes_a_missing_folder(source, tmp_path):
    out = tmp_path / "new" / "folder" / "findings.jsonl"
    code = main(["findings", "--source", str(source), "--store", str(tmp_path / "store"),
                 "--start", "2024-07-31", "--end", "2024-08-03", "--out", str(out), "--quiet"])
    assert code == 0 and out.read_text().count("\n") >= 2


def test_a_full_disk_is_one_line_and_leaves_no_half_file(source, tmp_path, capsys, monkeypatch):
    from trailbook import findings

    def full(frame, out):
        out.write('{"detection": "half')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(findings, "write_jsonl", full)
    out = tmp_path / "findings.jsonl"
    code = main(["findings", "--source", str(source), "--store", str(tmp_path / "store"),
                 "--start", "2024-07-31", "--end", "2024-08-03", "--out", str(out), "--quiet"])
    assert code == EXIT_FAILED
    assert "No space left on device" in _one_error_line(capsys.readouterr().err)
    assert list(tmp_path.glob("*findings.jsonl*")) == []


def test_debug_shows_the_traceback(source, tmp_path):
    with pytest.raises(Exception, match="out of range"):
        main(["findings", "--source", str(source), "--store", str(tmp_path / "store"), "--start", "0001-01-01",
              "--debug"])


def _no_aws_credentials(monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_collect_iam_without_credentials_is_a_usage_error(tmp_path, capsys, monkeypatch):
    _no_aws_credentials(monkeypatch, tmp_path)
    code = main(["collect", "iam", "--out", str(tmp_path / "iam")])
    assert code == EXIT_USAGE
    assert "credentials" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("bucket", ["bad bucket", "s3://My_Bucket/logs", "https://example.com/x", "192.168.1.1",
                                    "a..b"])
def test_athena_ddl_checks_the_bucket_first(capsys, bucket):
    code = main(["athena", "ddl", "--bucket", bucket, "--accounts", "111122223333", "--regions", "us-east-1"])
    assert code == EXIT_USAGE
    assert "--bucket" in _one_error_line(capsys.readouterr().err)


def test_athena_ddl_takes_an_s3_uri(capsys):
    code = main(["athena", "ddl", "--bucket", "s3://my-trail-bucket/org/", "--accounts", "111122223333",
                 "--regions", "us-east-1"])
    assert code == 0
    assert "s3://my-trail-bucket/org/AWSLogs/" in capsys.readouterr().out


@pytest.mark.parametrize("events", ["-5", "0", "abc"])
def test_demo_events_must_be_a_positive_count(tmp_path, capsys, events):
    code = main(["demo", "--out", str(tmp_path / "demo"), "--events", events])
    assert code == EXIT_USAGE
    assert "--events" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "demo").exists()


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    lib = str(Path(__file__).resolve().parents[1] / "lib")
    environment = {**os.environ, **(env or {}), "PYTHONPATH": lib}
    return subprocess.run([sys.executable, "-m", "trailbook.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=120)


def test_a_real_process_prints_one_line_for_a_bad_window(source, tmp_path):
    done = _run("findings", "--source", str(source), "--store", str(tmp_path / "store"), "--start", "99999-01-01")
    assert done.returncode == EXIT_USAGE
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "99999-01-01" in done.stderr


def test_a_real_process_prints_one_line_for_a_bad_bucket_and_no_data(source, tmp_path):
    done = _run("athena", "ddl", "--bucket", "s3://Not A Bucket", "--accounts", "111122223333",
                "--regions", "us-east-1")
    assert done.returncode == EXIT_USAGE and done.stdout == ""
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    done = _run("findings", "--source", str(source), "--store", str(tmp_path / "store"), "--quiet",
                "--start", "2030-01-01", "--end", "2030-01-02")
    assert done.returncode == EXIT_NO_DATA
    assert "Traceback" not in done.stderr and done.stderr.startswith("trailbook: no data: 0 events"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_real_process_keeps_the_traceback_with_debug(source, tmp_path):
    done = _run("findings", "--source", str(source), "--store", str(tmp_path / "store"), "--start", "0001-01-01",
                "--debug")
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_incident_lines_on_the_terminal_escape_control_characters(tmp_path, capsys):
    from trailbook.cli import _print_incidents

    hostile = "user\x1b]0;pwned\x07\nFAKE: all clear"  # a terminal escape and a forged line, from an event
    record = {"severity": "high", "id": "INC-1", "first_seen": "2026-10-26T01:00:00Z", "finding_count": 1,
              "tactics": [], "narrative": f"arn:aws:iam::111111111111:user/{hostile} did things"}
    (tmp_path / "incidents.jsonl").write_text(json.dumps(record) + "\n")
    _print_incidents(tmp_path)
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\nFAKE" not in err and "\\x1b" in err
