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


# --- `trailbook report --estimate` -----------------------------------------------------------------

REPORT = ["report", "--engine", "athena", *WINDOW, "--estimate", "--trail-bucket", BUCKET]


def _report_rows(text: str) -> dict[str, tuple[str, int, int, int]]:
    """query -> (partitions, runs, objects, bytes per run)."""
    out = {}
    for line in text.splitlines():
        match = re.match(r"^(\w+)\s+(\S+)\s+(\d+)\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)$", line)
        if match:
            out[match.group(1)] = (match.group(2), int(match.group(3)), int(match.group(4).replace(",", "")),
                                   int(match.group(5).replace(",", "")))
    return out


def _first_day(query) -> dt.datetime:
    """The first day a query reads, by hand: its window's first parameter is `start` or a default
    written `start - N<unit>` in the query's header."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    first = dt.datetime(2026, 10, 22, tzinfo=dt.timezone.utc)
    default = query.params[query.window[0]].default if query.window[0] != "start" else None
    if default is not None:
        match = re.fullmatch(r"start\s*-\s*(\d+)([dhm])", str(default).strip())
        assert match, f"{query.name}: unexpected window default {default!r}"
        first -= dt.timedelta(**{units[match.group(2)]: int(match.group(1))})
    # `lookback: <int parameter>_minutes|_hours|_days` or `lookback: 36h` reads that much earlier still.
    if query.lookback in query.params:
        unit = query.lookback.rsplit("_", 1)[1]
        first -= dt.timedelta(**{unit: int(query.params[query.lookback].default)})
    elif query.lookback:
        match = re.fullmatch(r"(\d+)([dhm])", query.lookback)
        first -= dt.timedelta(**{units[match.group(2)]: int(match.group(1))})
    return first


def test_report_estimate_prices_each_notebooks_queries_with_listing_only(bucket, capsys):
    import boto3

    from trailbook.catalog import load_catalog

    calls: list[str] = []
    original = boto3.session.Session.client

    def client(self, *args, **kwargs):
        made = original(self, *args, **kwargs)
        made.meta.events.register("before-call.*.*", lambda **kw: calls.append(kw["event_name"].split(".")[-1]))
        return made

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(boto3.session.Session, "client", client)
        assert main([*REPORT, "--notebooks", "console_logins", "credential_hygiene"]) == 0
    assert calls and set(calls) == {"ListObjectsV2"}
    out = capsys.readouterr().out
    rows = _report_rows(out)
    catalog = load_catalog()
    on_athena = {n: q for n, q in catalog.items() if "athena" in q.engines}
    # By hand: credential_hygiene builds the incidents from every detection; console_logins runs the queries
    # tagged console_logins; the report measures coverage once.
    runs = {n: 1 for n, q in on_athena.items() if q.is_detection}
    for name, query in on_athena.items():
        if "console_logins" in query.tags:
            runs[name] = runs.get(name, 0) + 1
    runs["coverage"] = 1
    assert {n: r[1] for n, r in rows.items()} == runs
    total = 0
    for name, (partitions, count, objects, size) in rows.items():
        first = _first_day(catalog[name]) if name != "coverage" else dt.datetime(2026, 10, 22)
        # Every object from the first day to the late-delivery day 10/29 (not 10/30).
        wanted = [s for _, _, day, s in OBJECTS if first.strftime("%Y/%m/%d") <= day <= "2026/10/29"]
        assert (objects, size) == (len(wanted), sum(wanted)), name
        assert partitions == f"{first:%Y/%m/%d}..10/29", name
        total += count * size
    total_runs = sum(runs.values())
    assert f"total: {len(runs)} queries, {total_runs} runs, {total:,} bytes, " \
           f"{total_runs * round(10 * 2**20 / 2**40 * 5, 6):.4f} USD" in out
    tagged = sum(1 for q in on_athena.values() if "console_logins" in q.tags)
    assert f"console_logins: the {tagged} queries tagged console_logins" in out
    assert "nothing was queried and no notebook ran" in out


def test_report_estimate_is_athena_only_and_needs_the_bucket(capsys):
    assert main(["report", "--engine", "local", *WINDOW, "--estimate", "--trail-bucket", BUCKET]) == 2
    assert "--estimate is for --engine athena" in capsys.readouterr().err
    assert main(["report", "--engine", "athena", *WINDOW, "--estimate"]) == 2
    assert "needs --trail-bucket" in capsys.readouterr().err
