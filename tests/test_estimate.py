"""`trailbook athena estimate`: a moto bucket laid out as CloudTrail delivers, priced by hand.

The expected numbers are worked out below from the objects put in the bucket and Athena's price
($5 per TB of 2**40 bytes, at least 10 MB per query), not from the estimate's code.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

moto = pytest.importorskip("moto")

from trailbook.cli import main  # noqa: E402

BUCKET = "org-trail"
A1, A2 = "111111111111", "222222222222"
# (account, region, yyyy/mm/dd, size): one object each.
OBJECTS = [
    (A1, "us-east-1", "2026/10/07", 1),        # before every window
    (A1, "us-east-1", "2026/10/08", 20),       # first day of key_new_region's 14-day baseline
    (A1, "us-east-1", "2026/10/22", 300),      # the window's first day
    (A1, "us-east-1", "2026/10/28", 4_000),    # its last day
    (A1, "us-east-1", "2026/10/29", 50_000),   # delivered the day after the window's end: still read
    (A1, "us-east-1", "2026/10/30", 60_000),   # two days after: never read
    (A2, "ap-south-2", "2026/10/25", 7_000),   # another account, in a region nobody named
]
MINIMUM_USD = round(10 * 2**20 / 2**40 * 5, 4)  # Athena bills at least 10 MB a query, at $5 per 2**40 bytes
WINDOW = ["--start", "2026-10-22T00:00:00Z", "--end", "2026-10-29T00:00:00Z"]


@pytest.fixture
def bucket(monkeypatch):
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3

    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        for n, (account, region, day, size) in enumerate(OBJECTS):
            key = f"AWSLogs/{account}/CloudTrail/{region}/{day}/{account}_CloudTrail_{region}_{n}.json.gz"
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"x" * size)
        yield s3


def _rows(text: str) -> dict[str, tuple[int, int, float]]:
    out = {}
    for line in text.splitlines():
        match = re.match(r"^(\w+)\s+\S+\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)$", line)
        if match:
            out[match.group(1)] = (int(match.group(2).replace(",", "")), int(match.group(3).replace(",", "")),
                                   float(match.group(4)))
    return out


def test_each_query_is_priced_on_its_own_partitions(bucket, capsys):
    assert main(["athena", "estimate", "--bucket", BUCKET, *WINDOW,
                 "--detection", "console_brute_force", "--detection", "key_new_region"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    # console_brute_force: 10/22..10/29 (the late day), both accounts: 300k + 4M + 50M + 7M.
    week = 300 + 4_000 + 50_000 + 7_000
    assert rows["console_brute_force"][:2] == (4, week)
    # key_new_region adds its baseline from 10/08.
    assert rows["key_new_region"][:2] == (5, week + 20)
    assert rows["console_brute_force"][2] == MINIMUM_USD
    assert "nothing was queried" in out
    # The union of the two queries' days (10/08..10/29): 5 objects, 61,320 bytes.
    assert "hold 5 objects, 61,320 bytes" in out


def test_the_account_and_region_scope_narrows_the_listing(bucket, capsys):
    assert main(["athena", "estimate", "--bucket", BUCKET, *WINDOW, "--accounts", A1, "--regions", "us-east-1",
                 "--detection", "console_brute_force", "--detection", "root_activity"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["console_brute_force"][:2] == (3, 54_300)
    # The scope narrows every query alike: account 2's objects are left out of root_activity too.
    assert rows["root_activity"][:2] == (3, 54_300)


def test_an_empty_window_is_billed_the_minimum(bucket, capsys):
    assert main(["athena", "estimate", "--bucket", BUCKET, "--start", "2026-09-01T00:00:00Z",
                 "--end", "2026-09-02T00:00:00Z", "--detection", "root_activity"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["root_activity"][:2] == (0, 0)
    assert rows["root_activity"][2] == MINIMUM_USD


def test_above_the_minimum_a_query_pays_its_bytes():
    from trailbook import estimate as E
    from trailbook.catalog import load_catalog

    day = ("111111111111", "us-east-1", "2026/10/22")
    sizes = E.DaySizes({day: 3 * 2**40}, {day: 1})  # 3 TB on the window's first day
    query = load_catalog()["root_activity"]
    rows, _, days = E.estimate([query], dt.datetime(2026, 10, 22, tzinfo=dt.timezone.utc),
                               dt.datetime(2026, 10, 23, tzinfo=dt.timezone.utc), lambda wanted: sizes)
    assert days == ["2026/10/22", "2026/10/23"]
    assert rows[0].bytes == 3 * 2**40 and rows[0].usd == 15.0


def test_only_listing_calls_are_made(bucket, capsys):
    import boto3

    calls: list[str] = []
    session_class = boto3.session.Session

    def record(**kwargs):
        calls.append(kwargs["event_name"].split(".")[-1])

    original = session_class.client

    def client(self, *args, **kwargs):
        made = original(self, *args, **kwargs)
        made.meta.events.register("before-call.*.*", record)
        return made

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(session_class, "client", client)
        assert main(["athena", "estimate", "--bucket", BUCKET, *WINDOW, "--detection", "root_activity"]) == 0
    assert calls and set(calls) == {"ListObjectsV2"}


def test_a_bad_bucket_is_one_line(capsys):
    assert main(["athena", "estimate", "--bucket", "Not_A_Bucket", *WINDOW]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bucket" in err[0]


def test_an_unknown_detection_is_one_line(capsys):
    assert main(["athena", "estimate", "--bucket", BUCKET, *WINDOW, "--detection", "no_such_check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_check" in err[0]


def test_a_bucket_that_cannot_be_listed_is_one_line_and_exit_1(bucket, capsys):
    assert main(["athena", "estimate", "--bucket", "no-such-trail-bucket", *WINDOW, "--detection", "root_activity"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot list s3://no-such-trail-bucket/AWSLogs/" in err[0] and "NoSuchBucket" in err[0]
