"""What a detection says about its findings, not only which events they cite: severity and other columns.

tests/test_queries.py checks that a match fixture's findings cite exactly the expected eventIDs. A
CASE in a detection's SELECT list (a root burst is high severity, a failed attempt medium, ...) decides
a column, which that check never reads; the catalog mutator (tests/mutation/catalog_mutants.py) found
those CASE conditions could be negated or dropped unnoticed. A fixture folder may therefore hold
`expect_findings<suffix>.json` for a match case (`expect_findings.json` for `match`,
`expect_findings_<label>.json` for `match_<label>`): a list of `{"event": <eventID>, <column>: <value>,
...}`, each naming one finding by an eventID it cites and the values its columns must have. The
values are read from the query's description (its documented severities) or the AWS documentation,
never from the query's output. `finding_problem` is the judgement, shared with the catalog mutator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import QUERY_FIXTURES, local_session
from test_queries import CATALOG, fixture_cases, fixture_params, fixture_records


def expected_findings_path(name: str, case: str) -> Path:
    return QUERY_FIXTURES / name / f"expect_findings{case[len('match'):]}.json"


def finding_problem(name: str, case: str, rows) -> str | None:
    """Why a match case's findings have other column values than expected_findings names, or None."""
    path = expected_findings_path(name, case)
    if not case.startswith("match") or not path.exists() or not len(rows):
        return None
    for want in json.loads(path.read_text()):
        found = [i for i, ids in enumerate(rows["event_ids"]) if want["event"] in list(ids)]
        if len(found) != 1:
            return f"{len(found)} findings cite {want['event']}"
        row = rows.iloc[found[0]]
        for column, value in want.items():
            if column != "event" and row[column] != value:
                return f"the finding citing {want['event']} has {column} {row[column]!r}, expected {value!r}"
    return None


CASES = [(name, case) for name in sorted(CATALOG) for case in fixture_cases(name)
         if case.startswith("match") and expected_findings_path(name, case).exists()]


@pytest.mark.parametrize(("name", "case"), CASES)
def test_findings_have_their_documented_columns(name, case, tmp_path):
    params = fixture_params(name, case)
    session = local_session(fixture_records(name, case), tmp_path, start=params.pop("start"), end=params.pop("end"),
                            catalog=CATALOG)
    problem = finding_problem(name, case, session.run(name, **params))
    assert problem is None, f"{name} ({case}): {problem}"
