"""Coverage of a window (events, accounts, regions, first/last, outside), the no-data rule, and
the default window that covers the data given (whole source, capped, never past now + 1 day)."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import local_session
from trailbook import coverage as C
from trailbook.errors import EXIT_NO_DATA, NoDataError

UTC = dt.timezone.utc


def record(n: int, when: str, account: str = "111122223333", region: str = "us-east-1") -> dict:
    return {"eventVersion": "1.09", "eventTime": when, "eventSource": "sts.amazonaws.com",
            "eventName": "GetCallerIdentity", "awsRegion": region, "sourceIPAddress": "192.0.2.10",
            "userAgent": "aws-cli/2.15.30", "requestParameters": None, "responseElements": None,
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{account}:user/anaya", "accountId": account,
                             "principalId": "AIDACKCEVSQ6C2EXAMPLE", "userName": "anaya"},
            "requestID": f"req-{n}", "eventID": f"00000000-0000-4000-8000-{n:012d}", "eventType": "AwsApiCall",
            "recipientAccountId": account}


RECORDS = [
    record(1, "2026-10-20T08:00:00Z"),                               # before the window
    record(2, "2026-10-22T09:15:00Z"),                               # in
    record(3, "2026-10-23T10:30:00Z", "444455556666", "eu-west-1"),  # in: a second account and region
    record(4, "2026-10-28T23:59:59Z"),                               # in: the last second
    record(5, "2026-10-29T00:00:00Z"),                               # after: the end is exclusive
    record(6, "2026-11-02T00:00:00Z"),                               # after
]


@pytest.fixture()
def session(tmp_path):
    return local_session(RECORDS, tmp_path, start="2026-10-22", end="2026-10-29")


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_measure_counts_the_window_and_what_lies_outside(session):
    cov = C.measure(session)
    assert (cov.events, cov.accounts, cov.regions) == (3, 2, 2)
    assert cov.first_event == t("2026-10-22T09:15:00Z") and cov.last_event == t("2026-10-28T23:59:59Z")
    assert (cov.before, cov.after, cov.outside) == (1, 2, 3)
    assert cov.scan_first == t("2026-10-20T08:00:00Z") and cov.scan_last == t("2026-11-02T00:00:00Z")
    assert not cov.empty
    assert cov.window_text() == "2026-10-22T00:00Z → 2026-10-29T00:00Z"
    # Its SQL is evidence like any query's.
    assert [run.query for run in session.evidence] == ["coverage"]


def test_measure_another_window_and_a_narrow_scan(session):
    cov = C.measure(session, "2026-10-29", "2026-11-03", scan=("2026-10-25", "2026-11-03"))
    assert (cov.events, cov.before, cov.after) == (2, 1, 0)  # the 20th lies outside the scan
    assert cov.first_event == t("2026-10-29T00:00:00Z")


def test_an_empty_window_is_no_data_never_clean(session):
    cov = C.measure(session, "2027-01-01", "2027-01-08")
    assert cov.empty and cov.outside == 6
    with pytest.raises(NoDataError) as raised:
        C.require_data(cov, "source logs/")
    assert raised.value.exit_code == EXIT_NO_DATA == 4
    text = str(raised.value)
    assert text.startswith("no data: 0 events in 2027-01-01T00:00Z → 2027-01-08T00:00Z for source logs/")
    assert "6 events outside it (6 before, 0 after" in text


def test_an_empty_store_is_no_data(tmp_path):
    # One record far outside a narrow scan: the scanned span holds nothing at all.
    session = local_session([record(1, "2026-10-22T00:00:00Z")], tmp_path, start="2020-01-01", end="2020-01-02")
    cov = C.measure(session, scan=("2020-01-01", "2020-01-02"))
    assert cov.empty and cov.scan_first is None
    with pytest.raises(NoDataError, match="holds no events at all"):
        C.require_data(cov, "source x")
    with pytest.raises(NoDataError):
        C.choose_window(cov, None, None)


def span(first: str, last: str) -> C.Coverage:
    return C.Coverage(start=C.ALL_TIME[0], end=C.ALL_TIME[1], events=10, accounts=1, regions=1,
                      first_event=t(first), last_event=t(last), before=0, after=0, scan=C.ALL_TIME,
                      scan_first=t(first), scan_last=t(last))


NOW = t("2026-12-01T12:00:00Z")


def test_default_window_is_the_whole_source_in_whole_days():
    window = C.choose_window(span("2026-07-03T10:00:00Z", "2026-08-20T05:00:00Z"), None, None, now=NOW)
    assert (window.start, window.end) == (t("2026-07-03T00:00:00Z"), t("2026-08-21T00:00:00Z"))
    assert not window.capped and not window.clamped


def test_default_window_is_capped_at_ninety_days():
    window = C.choose_window(span("2026-01-01T00:00:00Z", "2026-11-30T05:00:00Z"), None, None, now=NOW)
    assert window.end == t("2026-12-01T00:00:00Z") and window.start == t("2026-09-02T00:00:00Z")
    assert window.capped and C.MAX_DEFAULT_WINDOW == dt.timedelta(days=90)


def test_default_window_never_ends_past_now_plus_a_day():
    # An event dated 2099 (a bad record that reached the store) must not move the window there.
    window = C.choose_window(span("2026-11-20T00:00:00Z", "2099-01-01T00:00:00Z"), None, None, now=NOW)
    assert window.end == t("2026-12-02T12:00:00Z") and window.clamped
    assert window.start == t("2026-11-20T00:00:00Z")


def test_given_bounds_are_kept():
    whole = span("2026-01-01T00:00:00Z", "2026-11-30T05:00:00Z")
    window = C.choose_window(whole, t("2026-03-01T00:00:00Z"), None, now=NOW)
    assert (window.start, window.end) == (t("2026-03-01T00:00:00Z"), t("2026-12-01T00:00:00Z"))
    window = C.choose_window(whole, None, t("2026-02-01T00:00:00Z"), now=NOW)
    assert (window.start, window.end) == (t("2026-01-01T00:00:00Z"), t("2026-02-01T00:00:00Z"))
    # A start after the data: an empty one-day window (then reported as no data), never start >= end.
    window = C.choose_window(whole, t("2027-05-01T00:00:00Z"), None, now=NOW)
    assert (window.start, window.end) == (t("2027-05-01T00:00:00Z"), t("2027-05-02T00:00:00Z"))


def test_window_line_says_what_was_left_out():
    cov = C.Coverage(start=t("2026-09-02T00:00:00Z"), end=t("2026-12-01T00:00:00Z"), events=5, accounts=1,
                     regions=1, first_event=None, last_event=None, before=1234, after=3, scan=C.ALL_TIME,
                     scan_first=None, scan_last=None)
    line = C.window_line(C.Window(cov.start, cov.end, capped=True, clamped=True), cov)
    assert line.startswith("window 2026-09-02T00:00Z → 2026-12-01T00:00Z (capped at 90 days); 1,237 events outside")
    assert "1,234 earlier events not analysed, pass --start to include them" in line
    assert "3 events dated later are bad records" in line
    plain = C.window_line(C.Window(cov.start, cov.end), C.Coverage(**{**cov.__dict__, "before": 0, "after": 0}))
    assert plain == "window 2026-09-02T00:00Z → 2026-12-01T00:00Z (whole source); 0 events outside"
