"""Consecutive reports do not lose what their shared edge cuts (`lookback` in catalog.py).

A detection that counts or correlates over a span reads from `start - lookback` and keeps the
findings whose last_seen is in the window. The expected values are worked out by hand from the
events written here and the detections' documented thresholds (secrets_bulk_retrieval: 10 distinct
secrets read with GetSecretValue within one 60-minute bucket).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from conftest import local_session
from trailbook import catalog as C
from trailbook import findings as F
from trailbook.session import Session

UTC = dt.timezone.utc
ACCOUNT = "111122223333"
NOON = dt.datetime(2026, 10, 22, 12, 0, tzinfo=UTC)


def read(n: int, when: dt.datetime, secret: str, user: str) -> dict:
    return {
        "eventVersion": "1.09", "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "eventID": f"read-{n:03d}",
        "eventSource": "secretsmanager.amazonaws.com", "eventName": "GetSecretValue",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.15.0",
        "recipientAccountId": ACCOUNT, "eventType": "AwsApiCall", "readOnly": True,
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "accountId": ACCOUNT,
                         "userName": user,
                         "principalId": "AIDAEXAMPLE", "accessKeyId": "AKIAEXAMPLEEXAMPLE12"},
        "requestParameters": {"secretId": secret},
    }


def burst(user: str, first: int, at: dt.datetime, count: int, every: dt.timedelta) -> list[dict]:
    return [read(first + i, at + i * every, f"prod/db-{first + i}", user) for i in range(count)]


# 12 distinct secrets from 11:50 to 12:11 (one every 2 minutes, 6 before noon and 6 after): no
# 60-minute bucket on either side of noon alone holds 10, and the report that ends at noon sees 6.
CUT = burst("mallory", 100, NOON - dt.timedelta(minutes=10), 12, dt.timedelta(minutes=2))
# Another user's 12 distinct secrets from 11:05 to 11:27: wholly inside the morning report, and inside
# the later report's lookback (it reads from 11:00), where it must not be reported a second time.
MORNING = burst("trent", 200, NOON - dt.timedelta(minutes=55), 12, dt.timedelta(minutes=2))


# A third user's 20 distinct secrets from 11:46 to 12:24 the next day: the hour buckets hold 7 and 13 (the
# second fires), the half-hour-shifted one holds all 20 (fires). One burst, so one finding of 20.
NEXT_NOON = NOON + dt.timedelta(days=1)
STRADDLE = burst("oscar", 300, NEXT_NOON - dt.timedelta(minutes=14), 20, dt.timedelta(minutes=2))


@pytest.fixture(scope="module")
def session(tmp_path_factory, catalog):
    return local_session(CUT + MORNING + STRADDLE, tmp_path_factory.mktemp("lookback"), start=NOON - dt.timedelta(days=1),
                         end=NOON + dt.timedelta(days=1), catalog=catalog)


def window(session, start, end):
    s = Session(session.engine, start=start, end=end, catalog=session.catalog, prepared=session.prepared)
    return s.run("secrets_bulk_retrieval")


def test_a_burst_cut_by_the_edge_is_reported_whole_by_the_later_report(session):
    before = window(session, NOON - dt.timedelta(days=1), NOON)
    after = window(session, NOON, NOON + dt.timedelta(days=1))
    cut_ids = {e["eventID"] for e in CUT}
    assert [set(ids) & cut_ids for ids in before["event_ids"]] == [set()], "the morning burst only"
    assert len(after) == 1
    row = after.iloc[0]
    assert set(row["event_ids"]) == cut_ids and row["event_count"] == 12
    assert row["first_seen"] == "2026-10-22T11:50:00Z" and row["last_seen"] == "2026-10-22T12:12:00Z"


def test_a_burst_wholly_before_the_window_stays_in_the_earlier_report(session):
    before = window(session, NOON - dt.timedelta(days=1), NOON)
    after = window(session, NOON, NOON + dt.timedelta(days=1))
    morning_ids = {e["eventID"] for e in MORNING}
    assert [set(ids) for ids in before["event_ids"]] == [morning_ids]
    assert not any(set(ids) & morning_ids for ids in after["event_ids"])


@pytest.mark.parametrize("start", [NEXT_NOON - dt.timedelta(hours=12), NEXT_NOON], ids=["whole-day", "edge-at-noon"])
def test_a_burst_both_grids_see_is_one_finding_with_every_event(session, start):
    found = window(session, start, start + dt.timedelta(days=1))
    oscar = [row for row in found.itertuples() if row.principal_arn.endswith(":user/oscar")]
    assert [(set(r.event_ids), r.event_count) for r in oscar] == [({e["eventID"] for e in STRADDLE}, 20)]


def test_the_sql_reads_from_start_minus_the_bucket(session):
    query = session.query("secrets_bulk_retrieval")
    rendered = query.render(session.engine, start=NOON, end=NOON + dt.timedelta(days=1), bucket_minutes=90)
    assert "eventtime >= '2026-10-22T10:30:00Z' AND eventtime < '2026-10-23T12:00:00Z'" in rendered.sql


def test_read_window_by_parameter_unit_and_by_duration(catalog):
    values = {"start": "2026-10-22T00:00:00Z", "end": "2026-10-29T00:00:00Z"}
    end = dt.datetime(2026, 10, 29, tzinfo=UTC)
    assert catalog["secrets_bulk_retrieval"].read_window(values) == (dt.datetime(2026, 10, 21, 23, tzinfo=UTC), end)
    assert catalog["iam_user_created_then_privileged"].read_window(values) == (dt.datetime(2026, 10, 21, tzinfo=UTC), end)
    assert catalog["long_term_key_session_token"].read_window(values) == (dt.datetime(2026, 10, 20, 12, tzinfo=UTC), end)
    assert catalog["root_activity"].read_window(values) == (dt.datetime(2026, 10, 22, tzinfo=UTC), end)


@pytest.mark.parametrize(("lookback", "problem"), [
    ("min_secrets", "must name an int parameter ending in"),     # an int, but not a span
    ("90s", "neither an int parameter nor a duration"),
    ("start", "must name an int parameter"),
])
def test_a_lookback_that_is_not_a_span_is_rejected(catalog, lookback, problem):
    from dataclasses import replace

    query = replace(catalog["secrets_bulk_retrieval"], lookback=lookback)
    assert any(problem in p for p in C.validate(query)), C.validate(query)


def test_lookback_is_for_detections_only(catalog):
    from dataclasses import replace

    context = next(q for q in catalog.values() if q.kind == "context")
    assert any("lookback is for detections" in p for p in C.validate(replace(context, lookback="60m")))


def test_ending_in_window_keeps_what_ends_at_or_after_start_and_unreadable_times():
    frame = F.normalize(pd.DataFrame([
        {**dict.fromkeys(F.FINDING_COLUMNS), "detection": "d", "severity": "high", "event_count": 1,
         "first_seen": first, "last_seen": last, "event_ids": [name]}
        for name, first, last in [("ended-before", "2026-10-22T11:00:00Z", "2026-10-22T11:59:59Z"),
                                  ("ends-at-start", "2026-10-22T11:00:00Z", "2026-10-22T12:00:00Z"),
                                  ("crosses", "2026-10-22T11:30:00Z", "2026-10-22T12:30:00Z"),
                                  ("hostile-time", "x", "not a time")]]))
    kept = F.ending_in_window(frame, NOON)
    assert [ids[0] for ids in kept["event_ids"]] == ["ends-at-start", "crosses", "hostile-time"]
