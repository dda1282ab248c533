"""Every catalog query against its match and no-match fixtures, on the local engine.

Fixtures: tests/fixtures/queries/<name>/match.json and nomatch.json (JSON arrays of
CloudTrail records), and params.json with the parameters for both runs
({"start": ..., "end": ..., ...}; or {"match": {...}, "nomatch": {...}} when they differ).
A query whose conditions depend on a parameter can have more cases, each a file of its own:
match_<label>.json or nomatch_<label>.json, run with its base case's parameters updated by
params.json's "match_<label>" / "nomatch_<label>" entry (a match case's expected eventIDs are in
expect_event_ids_<label>.json).
A match run must return at least one row, and a detection's findings must cite exactly the eventIDs
in expect_event_ids.json: every event a finding should cite (read from the query's description, not
its output), and no other, so a condition that lets an unrelated event join a finding is noticed.
A no-match run must return no rows. `fixture_problem` is the judgement, shared with the catalog
mutator (tests/mutation/catalog_mutants.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import QUERY_FIXTURES, local_session
from trailbook.catalog import load_catalog
from trailbook.contract import MAX_EVENT_IDS

CATALOG = load_catalog()


def fixture_cases(name: str) -> list[str]:
    """match, nomatch, then the query's other cases (match_<label>, nomatch_<label>) in name order."""
    extra = sorted(p.stem for p in (QUERY_FIXTURES / name).glob("*match_*.json"))
    return ["match", "nomatch", *extra]


def fixture_params(name: str, case: str) -> dict:
    path = QUERY_FIXTURES / name / "params.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    base = "nomatch" if case.startswith("nomatch") else "match"
    if case != base:
        return {**fixture_params(name, base), **data.get(case, {})}
    if case in data and isinstance(data[case], dict):
        return dict(data[case])
    return {k: v for k, v in data.items() if not k.startswith(("match", "nomatch"))}


def fixture_records(name: str, case: str) -> list[dict]:
    return json.loads((QUERY_FIXTURES / name / f"{case}.json").read_text())


def expected_ids_path(name: str, case: str) -> Path:
    return QUERY_FIXTURES / name / f"expect_event_ids{case[len('match'):]}.json"


def fixture_problem(query, case: str, rows) -> str | None:
    """Why `rows` (this query's result on its `case` fixture) fail the fixture, or None when they pass."""
    if case.startswith("nomatch"):
        return f"{len(rows)} rows on its no-match fixture:\n{rows.head().to_string()}" if len(rows) else None
    if not len(rows):
        return "no rows on its match fixture"
    if query.is_detection:
        # Complete evidence: below the cap, a finding lists every event it counts.
        for ids, count in zip(rows["event_ids"], rows["event_count"], strict=True):
            if count <= MAX_EVENT_IDS and len(set(ids)) != count:
                return f"{count} events counted, {len(set(ids))} listed"
        # One event, one finding of a detection: an event cited twice is a finding counted twice.
        cited = [i for ids in rows["event_ids"] for i in set(ids)]
        twice = sorted({i for i in cited if cited.count(i) > 1})
        if twice:
            return f"events cited by more than one finding: {twice[:5]}"
    expected = expected_ids_path(query.name, case)
    if expected.exists() and "event_ids" in rows:
        found = {i for ids in rows["event_ids"] for i in ids}
        want = set(json.loads(expected.read_text()))
        if found != want:
            return (f"expected eventIDs not reported: {sorted(want - found)}; "
                    f"reported but not expected: {sorted(found - want)}")
    return None


CASES = [(name, case) for name in sorted(CATALOG) for case in fixture_cases(name)]


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_query_has_match_and_nomatch_fixtures(name):
    for case in fixture_cases(name):
        path = QUERY_FIXTURES / name / f"{case}.json"
        assert path.exists(), f"{name}: missing fixture {path.relative_to(QUERY_FIXTURES.parent.parent)}"
        assert fixture_records(name, case), f"{name}: {case}.json is empty"
        if CATALOG[name].is_detection and case.startswith("match"):
            assert expected_ids_path(name, case).exists(), \
                f"{name}: a detection needs {expected_ids_path(name, case).name} (the exact eventIDs its findings cite)"


@pytest.mark.parametrize(("name", "case"), [c for c in CASES if c[1].startswith("match")])
def test_query_finds_its_match_fixture(name, case, tmp_path):
    params = fixture_params(name, case)
    session = local_session(fixture_records(name, case), tmp_path, start=params.pop("start"), end=params.pop("end"),
                            catalog=CATALOG)
    rows = session.run(name, **params)
    problem = fixture_problem(CATALOG[name], case, rows)
    assert problem is None, f"{name} ({case}): {problem}"


@pytest.mark.parametrize(("name", "case"), [c for c in CASES if c[1].startswith("nomatch")])
def test_query_ignores_its_nomatch_fixture(name, case, tmp_path):
    params = fixture_params(name, case)
    session = local_session(fixture_records(name, case), tmp_path, start=params.pop("start"), end=params.pop("end"),
                            catalog=CATALOG)
    rows = session.run(name, **params)
    problem = fixture_problem(CATALOG[name], case, rows)
    assert problem is None, f"{name} ({case}): {problem}"
