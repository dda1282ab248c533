"""Every catalog query against its match and no-match fixtures, on the local engine.

Fixtures: tests/fixtures/queries/<name>/match.json and nomatch.json (JSON arrays of
CloudTrail records), and params.json with the parameters for both runs
({"start": ..., "end": ..., ...}; or {"match": {...}, "nomatch": {...}} when they differ).
A match run must return at least one row, and every eventID listed in
expect_event_ids.json (if present) must be among the findings' event_ids.
A no-match run must return no rows.
"""

from __future__ import annotations

import json

import pytest

from conftest import QUERY_FIXTURES, local_session
from trailbook.catalog import load_catalog
from trailbook.contract import MAX_EVENT_IDS

CATALOG = load_catalog()


def _params(name: str, case: str) -> dict:
    path = QUERY_FIXTURES / name / "params.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    if case in data and isinstance(data[case], dict):
        return data[case]
    return {k: v for k, v in data.items() if k not in ("match", "nomatch")}


def _records(name: str, case: str) -> list[dict]:
    return json.loads((QUERY_FIXTURES / name / f"{case}.json").read_text())


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_query_has_match_and_nomatch_fixtures(name):
    for case in ("match", "nomatch"):
        path = QUERY_FIXTURES / name / f"{case}.json"
        assert path.exists(), f"{name}: missing fixture {path.relative_to(QUERY_FIXTURES.parent.parent)}"
        assert _records(name, case), f"{name}: {case}.json is empty"


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_query_finds_its_match_fixture(name, tmp_path):
    params = _params(name, "match")
    session = local_session(_records(name, "match"), tmp_path, start=params.pop("start"), end=params.pop("end"),
                            catalog=CATALOG)
    rows = session.run(name, **params)
    assert len(rows) > 0, f"{name}: no rows on its match fixture"
    if CATALOG[name].is_detection:
        # Complete evidence: below the cap, a finding lists every event it counts.
        for ids, count in zip(rows["event_ids"], rows["event_count"], strict=True):
            if count <= MAX_EVENT_IDS:
                assert len(set(ids)) == count, f"{name}: {count} events counted, {len(set(ids))} listed"
    expected = QUERY_FIXTURES / name / "expect_event_ids.json"
    if expected.exists() and "event_ids" in rows:
        found = {i for ids in rows["event_ids"] for i in ids}
        missing = set(json.loads(expected.read_text())) - found
        assert not missing, f"{name}: expected eventIDs not reported: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_query_ignores_its_nomatch_fixture(name, tmp_path):
    params = _params(name, "nomatch")
    session = local_session(_records(name, "nomatch"), tmp_path, start=params.pop("start"), end=params.pop("end"),
                            catalog=CATALOG)
    rows = session.run(name, **params)
    assert len(rows) == 0, f"{name}: {len(rows)} rows on its no-match fixture:\n{rows.head().to_string()}"
