"""The index's scope section and the queries behind it: logging_gaps and events_by_day.

Expected values are counted by hand from the fixture (tests/fixtures/queries/logging_gaps/match.json:
us-east-1 has two events in every hour of 2026-10-22 00:00-12:00 except 05:00 and 06:00, plus
one event after the window; eu-west-1 has one event at 02:30 and one at 09:30).
"""

from __future__ import annotations

import html
import json
import re

import pytest

from conftest import QUERY_FIXTURES, local_session
from trailbook.reports import render_scope

WINDOW = {"start": "2026-10-22T00:00:00Z", "end": "2026-10-22T12:00:00Z"}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    records = json.loads((QUERY_FIXTURES / "logging_gaps" / "match.json").read_text())
    return local_session(records, tmp_path_factory.mktemp("scope"), **WINDOW)


def _rows(frame, columns):
    return [tuple(row) for row in frame[columns].itertuples(index=False, name=None)]


def test_logging_gaps_finds_the_silent_hours_of_a_busy_pair_only(session):
    gaps = session.run("logging_gaps")
    assert _rows(gaps, ["account_id", "region", "gap_start", "gap_end", "gap_hours", "last_event_before",
                        "first_event_after", "active_hours", "window_hours"]) == [
        ("111122223333", "us-east-1", "2026-10-22T05:00:00.000Z", "2026-10-22T07:00:00.000Z", 2,
         "2026-10-22T04:40:00Z", "2026-10-22T07:05:00Z", 10, 12)]


def test_logging_gaps_rule_counts_the_window_edges_for_quieter_pairs(session):
    gaps = session.run("logging_gaps", min_active_share=0.1)
    quiet = gaps[gaps["region"] == "eu-west-1"]
    assert _rows(quiet, ["gap_start", "gap_end", "gap_hours"]) == [
        ("2026-10-22T00:00:00.000Z", "2026-10-22T02:00:00.000Z", 2),
        ("2026-10-22T03:00:00.000Z", "2026-10-22T09:00:00.000Z", 6),
        ("2026-10-22T10:00:00.000Z", "2026-10-22T12:00:00.000Z", 2)]
    assert len(session.run("logging_gaps", min_gap_hours=3)) == 0  # the busy pair's gap is 2 hours


def test_events_by_day_counts_the_window_only(session):
    per_day = session.run("events_by_day")
    assert _rows(per_day, ["account_id", "region", "day", "events"]) == [
        ("111122223333", "eu-west-1", "2026-10-22", 2), ("111122223333", "us-east-1", "2026-10-22", 20)]


SCOPE = {
    "engine": "local", "window": ["2026-10-22T00:00:00Z", "2026-10-24T00:00:00Z"], "trailbook_version": "9.9.9",
    "cis_benchmark": "CIS Amazon Web Services Foundations Benchmark v3.0.0",
    "catalog": {"queries": 70, "content_sha256": "ab" * 32, "git_revision": "c0ffee", "git_dirty": False},
    "sources": ["source /data/ct", "local store /data/store"],
    "iam_snapshots": [{"parameter": "auto", "path": "/data/iam/iam-2026-10-29T060000Z",
                       "collected_at": "2026-10-29T06:00:00Z", "note": None, "notebooks": ["credential_hygiene"]}],
    "gap_rule": "A logging gap is ...",
    "per_day": [{"account_id": "111122223333", "region": "us-east-1", "day": "2026-10-22", "events": 20},
                {"account_id": "111122223333", "region": "eu-west-1", "day": "2026-10-22", "events": 2},
                {"account_id": "111122223333", "region": "us-east-1", "day": "2026-10-23", "events": 5},
                {"account_id": "444455556666", "region": "us-east-1", "day": "2026-10-23", "events": 7}],
    "gaps": [{"account_id": "111122223333", "region": "us-east-1", "gap_start": "2026-10-22T05:00:00.000Z",
              "gap_end": "2026-10-22T07:00:00.000Z", "gap_hours": 2, "last_event_before": "2026-10-22T04:40:00Z",
              "first_event_after": "2026-10-22T07:05:00Z", "active_hours": 10, "window_hours": 48}],
    "queries": [], "error": None,
}


def _visible(page: str) -> str:
    """The page's text as a reader sees it: markup (including the <wbr> wrap points) removed."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_scope_section_states_what_was_covered():
    page = render_scope.scope_html(SCOPE)
    assert "id='scope'" in page and "id='logging-gaps'" in page
    assert ">34<" in page
    for text in ("2026-10-22 00:00:00Z to 2026-10-24 00:00:00Z", "Accounts (2)", "111122223333, 444455556666",
                 "Regions (2)", "eu-west-1, us-east-1", "source /data/ct; local store /data/store",
                 "/data/iam/iam-2026-10-29T060000Z, collected 2026-10-29 06:00:00Z (used by credential_hygiene)",
                 "9.9.9", "sha256 " + "ab" * 32 + ", git c0ffee",
                 "CIS Amazon Web Services Foundations Benchmark v3.0.0, section 1 (credential report)"):
        assert text in _visible(page), text
    # events per account and day: the first account 22 on the 22nd (20 + 2) and 5 on the 23rd, 27 in all;
    # the second 0 on the 22nd, where it had none
    assert ("<td class='tb-id'>111122223333</td><td class='tb-num'>22</td><td class='tb-num'>5</td>"
            "<td class='tb-num'>27</td>") in page
    assert ("<td class='tb-id'>444455556666</td><td class='tb-num'>0</td><td class='tb-num'>7</td>"
            "<td class='tb-num'>7</td>") in page
    assert "1 logging gap(s), 2 silent hour(s)" in page
    assert "2026-10-22 05:00:00Z" in _visible(page) and "2026-10-22 07:00:00Z" in _visible(page)


def test_scope_section_says_when_there_is_no_gap_and_when_it_is_unknown():
    assert "No logging gaps" in render_scope.scope_html({**SCOPE, "gaps": []})
    unknown = render_scope.scope_html({**SCOPE, "gaps": [], "error": "OSError: store busy"})
    assert "Unknown: the scope could not be measured (OSError: store busy)" in unknown
    assert "No logging gaps" not in unknown
    assert render_scope.scope_html(None) == ""


def test_the_scope_says_what_the_detections_do_at_the_window_start(catalog):
    from trailbook import coverage

    # 14 detections declare `lookback` (counted in queries/ by hand: 8 bucket counts, brute force, spray,
    # sign-in after failures, user created then privileged, instance credentials 24h, federation token 36h).
    text = coverage.edges_text(catalog, "local")
    assert text is not None and text.startswith("14 detections that count or correlate over a span read up to 36 h")
    assert coverage.edges_text({}, "local") is None
    page = render_scope.scope_html({**SCOPE, "edges": text})
    assert "Window edges" in page and "reported whole here" in _visible(page)
    assert "Window edges" not in render_scope.scope_html({**SCOPE, "edges": None})
