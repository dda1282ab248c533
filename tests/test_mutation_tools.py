"""The helpers of tests/mutation: catalog mutants, near-miss fixtures, the score file.

Expected values are written by hand from each helper's documented contract.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "mutation"))

import catalog_mutants  # noqa: E402
import near_miss  # noqa: E402
import score  # noqa: E402

TEMPLATE = """WITH events AS (SELECT * FROM {{ source }} WHERE {{ time_filter }})
SELECT eventid FROM events WHERE a = 1 AND (b = {{ limit }} OR c IS NULL)"""


def _norm(sql: str) -> str:
    return "".join(sql.split()).lower()  # no whitespace: layout is sqlglot's business


def test_each_condition_is_negated_dropped_and_each_alternative_dropped():
    found = [(m.where, m.kind, m.condition) for m in catalog_mutants.mutants(TEMPLATE)]
    assert found == [
        ("main", "negate", "a = 1"),
        ("main", "drop", "a = 1"),
        ("main", "negate", "b = {{ limit }} OR c IS NULL"),
        ("main", "drop", "b = {{ limit }} OR c IS NULL"),
        ("main", "drop-alternative", "b = {{ limit }}  (of b = {{ limit }} OR c IS NULL)"),
        ("main", "drop-alternative", "c IS NULL  (of b = {{ limit }} OR c IS NULL)"),
    ]  # the time filter is never mutated


def test_mutant_sql_keeps_placeholders_and_changes_one_condition():
    mutants = list(catalog_mutants.mutants(TEMPLATE))
    dropped = _norm(mutants[1].sql)
    assert "where{{time_filter}}" in dropped and "from{{source}}" in dropped
    assert "a=1" not in dropped and "b={{limit}}" in dropped and "cisnull" in dropped
    negated = _norm(mutants[0].sql)
    assert "not(a=1)" in negated and "cisnull" in negated
    alternative = _norm(mutants[4].sql)
    assert "b={{limit}}" not in alternative and "a=1" in alternative and "cisnull" in alternative


def test_a_filter_that_only_shapes_an_output_column_is_not_a_condition():
    template = ("SELECT count(*) FILTER (WHERE x = 1) AS n FROM {{ source }} WHERE {{ time_filter }} "
                "GROUP BY y HAVING count(*) FILTER (WHERE z = 2) > 3")
    conditions = [m.condition for m in catalog_mutants.mutants(template)]
    assert "x = 1" not in conditions
    assert "z = 2" in conditions and "COUNT(*) FILTER(WHERE z = 2) > 3" in conditions


def test_near_miss_edits_selected_records_and_renames_every_copy():
    records = [
        {"eventID": "e1", "eventName": "CreateAccessKey", "eventSource": "iam.amazonaws.com", "key": "AKIAOLD"},
        {"eventID": "e2", "eventName": "GetCallerIdentity", "eventSource": "sts.amazonaws.com", "key": "AKIAOLD"},
        {"eventID": "e3", "eventName": "ListUsers", "eventSource": "iam.amazonaws.com"},
    ]
    out = near_miss.near_miss(records, {"eventSource": "ec2.amazonaws.com", "a.b": 1}, ["key"], "nearmiss7",
                              only="CreateAccessKey", replace={"AKIAOLD": "AKIANEW"},
                              drop=["eventName=ListUsers"])
    assert out == [
        {"eventID": "nearmiss7-e1", "eventName": "CreateAccessKey", "eventSource": "ec2.amazonaws.com",
         "a": {"b": 1}},
        {"eventID": "nearmiss7-e2", "eventName": "GetCallerIdentity", "eventSource": "sts.amazonaws.com",
         "key": "AKIANEW"},
    ]
    assert records[0]["eventSource"] == "iam.amazonaws.com"  # the originals are untouched


def test_equivalents_are_read_by_id_with_their_reason(tmp_path):
    path = tmp_path / "equivalent.txt"
    path.write_text("# comment\n\nm:op#1 the reason here\nm:op#2\n", encoding="utf-8")
    assert score.equivalents(path) == {"m:op#1": "the reason here", "m:op#2": ""}


def test_the_score_table_is_rewritten_between_its_markers_only(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    module = score.ModuleScore("demo_module", total=10, killed=7, incompetent=1,
                               survivors=[score.Survivor("demo_module:x#0", 3, "")] * 2)
    score.write_module_report(module, results / "demo_module.md")
    path = tmp_path / "score.md"
    path.write_text(f"intro\n{score._MARK_START}\nold table\n{score._MARK_END}\noutro\n", encoding="utf-8")
    score.write_score(path, results)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old table" not in text
    # 10 mutants, 1 incompetent, none equivalent: 7 of 9 killed.
    assert "| demo_module | 10 | 7 | 2 | 0 | 1 | 0 | 77.8% |" in text


def test_a_mutated_optional_annotation_is_equivalent_and_other_code_is_not():
    annotation = "--- a\n+++ b\n-def f(x: str | None = None) -> int:\n+def f(x: str - None = None) -> int:\n"
    code = "--- a\n+++ b\n-    return a | b\n+    return a - b\n"
    ident = "m:core/ReplaceBinaryOperator_BitOr_Sub#1"
    assert score.verdict("m:core/ReplaceBinaryOperator_BitOr_Sub#0", annotation, {}) == score.ANNOTATION
    assert score.verdict(ident, code, {}) is None
    assert score.verdict(ident, code, {ident: "why"}) == "why"
    union = "--- a\n+++ b\n-def f(rows: pa.Table | pa.RecordBatch, *, n: int | None) -> str | Path:\n+def f(...):\n"
    assert score.verdict(ident, union, {}) == score.ANNOTATION
    default = "--- a\n+++ b\n-def f(flags: int = A | B) -> int:\n+def f(flags: int = A - B) -> int:\n"
    assert score.verdict(ident, default, {}) is None  # a default value is evaluated
    both = "--- a\n+++ b\n-def f(x: str | None = A | B):\n+def f(x: str | None = A - B):\n"
    assert score.verdict(ident, both, {}) is None


def test_other_fixture_cases_are_found_and_take_their_base_cases_parameters(tmp_path, monkeypatch):
    import json

    import test_queries

    folder = tmp_path / "q"
    folder.mkdir()
    for name in ("match", "nomatch", "nomatch_empty_list", "match_other_list", "notes"):
        (folder / f"{name}.json").write_text("[]")
    (folder / "params.json").write_text(json.dumps({
        "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z", "limit": 3,
        "nomatch": {"start": "2023-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z"},
        "nomatch_empty_list": {"names": []}, "match_other_list": {"names": ["x"], "limit": 4}}))
    monkeypatch.setattr(test_queries, "QUERY_FIXTURES", tmp_path)
    assert test_queries.fixture_cases("q") == ["match", "nomatch", "match_other_list", "nomatch_empty_list"]
    assert test_queries.fixture_params("q", "match") == {
        "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z", "limit": 3}
    assert test_queries.fixture_params("q", "match_other_list") == {
        "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z", "limit": 4, "names": ["x"]}
    assert test_queries.fixture_params("q", "nomatch_empty_list") == {
        "start": "2023-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z", "names": []}
    assert test_queries.expected_ids_path("q", "match_other_list") == folder / "expect_event_ids_other_list.json"
    assert test_queries.expected_ids_path("q", "match") == folder / "expect_event_ids.json"


def test_a_match_case_must_cite_exactly_the_expected_events(tmp_path, monkeypatch):
    import json
    from types import SimpleNamespace

    import pandas as pd

    import test_queries

    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "expect_event_ids.json").write_text(json.dumps(["a", "b"]))
    monkeypatch.setattr(test_queries, "QUERY_FIXTURES", tmp_path)
    query = SimpleNamespace(name="q", is_detection=True)

    def problem(*findings):
        rows = pd.DataFrame({"event_ids": [list(f) for f in findings], "event_count": [len(f) for f in findings]})
        return test_queries.fixture_problem(query, "match", rows)

    assert problem(["a"], ["b"]) is None
    assert "reported but not expected: ['c']" in problem(["a", "b", "c"])  # a superset is not enough
    assert "not reported: ['b']" in problem(["a"])
    assert problem() == "no rows on its match fixture"
    assert test_queries.fixture_problem(query, "nomatch_x", pd.DataFrame({"event_ids": []})) is None
