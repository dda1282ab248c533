"""What a detection says about its findings, not only which events they cite: severity and other columns.

tests/test_queries.py checks that a match fixture's findings cite exactly the expected eventIDs. A
CASE in a detection's SELECT list (a root burst is high severity, a failed attempt medium, ...) decides
a column, which that check never reads; the catalog mutator (tests/mutation/catalog_mutants.py) found
those CASE conditions could be negated or dropped unnoticed. A fixture folder may therefore hold
`expect_findings<suffix>.json` for a match case (`expect_findings.json` for `match`,
`expect_findings_<label>.json` for `match_<label>`): a list of `{"event": <eventID>, <column>: <value>,
...}`, each naming one finding by an eventID it cites and the values its columns must have. The
values are read from the query's description (its documented severities) or the AWS documentation,
never from the query's output. A JSON list pins a list-valued column (`changes`, `user_names`)
exactly, element by element and in order: pin one only where the query fixes the order
(`array_sort(...)`, or `array_agg(... ORDER BY ...)`) and write the list in that order (array_sort:
ascending by code point, so upper case before lower case). `finding_problem` is the judgement, shared
with the catalog mutator.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
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
            if column == "event":
                continue
            got = row[column]
            if isinstance(value, list):  # an array column: the same elements in the same order
                got = None if got is None else got.tolist() if hasattr(got, "tolist") else list(got)
            if got != value:
                return f"the finding citing {want['event']} has {column} {got!r}, expected {value!r}"
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


def test_a_list_value_pins_an_array_column_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "QUERY_FIXTURES", tmp_path)
    (tmp_path / "q").mkdir()
    rows = pd.DataFrame({"event_ids": [np.array(["e1"])], "severity": ["high"],
                         "changes": [np.array(["lifecycle: logs", "trail updated: main"])]})

    def problem(changes):
        (tmp_path / "q" / "expect_findings.json").write_text(
            json.dumps([{"event": "e1", "severity": "high", "changes": changes}]))
        return finding_problem("q", "match", rows)

    assert problem(["lifecycle: logs", "trail updated: main"]) is None
    assert "changes" in problem(["trail updated: main", "lifecycle: logs"])  # array_sort fixes the order
    assert "changes" in problem(["lifecycle: logs"])
