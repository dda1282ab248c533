"""The cost model's pruning rules (benchmarks/cost_model.py): which predicates reach the copy's scan, Hive's
bucket of a value, and what a pruned scan is charged. Expected values are worked out by hand."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import cost_model as C  # noqa: E402

SOURCE = "WITH events AS (SELECT * FROM t WHERE eventtime >= '2026-10-22')"


def test_hive_bucket_is_javas_string_hash_for_ascii():
    # Java: "hello".hashCode() == 99162322; "polygenelubricants".hashCode() == Integer.MIN_VALUE (& 0x7fffffff: 0).
    assert C.hive_bucket("hello", 1000) == 322
    assert C.hive_bucket("polygenelubricants", 7) == 0
    assert C.hive_bucket("ab", 4) == (97 * 31 + 98) % 4 == 1
    # Non-ASCII: signed bytes. 'é' is C3 A9 = -61, -87: -61 * 31 - 87 = -1978 -> 0x7FFFF846 = 2147481670.
    assert C.hive_bucket("é", 10) == 2147481670 % 10 == 0


def test_conjuncts_in_a_later_cte_reach_the_scan():
    sql = SOURCE + (", x AS (SELECT eventtime, eventname FROM events WHERE errorcode IS NULL "
                    "AND eventsource = 'iam.amazonaws.com' AND eventname IN ('CreateUser', 'CreateRole')) "
                    "SELECT * FROM x")
    assert C.pushed_predicates(sql, "t") == {"eventsource": {"iam.amazonaws.com"},
                                             "eventname": {"CreateUser", "CreateRole"}}


def test_an_or_bounds_nothing_unless_credited_and_every_branch_bounds_the_column():
    sql = SOURCE + (", x AS (SELECT * FROM events WHERE (eventsource = 'a' AND eventname = 'A') "
                    "OR (eventsource = 'b' AND eventname LIKE 'B%')) SELECT * FROM x")
    assert C.pushed_predicates(sql, "t") == {"eventsource": None, "eventname": None}
    assert C.pushed_predicates(sql, "t", disjunctions=True) == {"eventsource": {"a", "b"}, "eventname": None}


def test_a_cte_read_once_without_the_filter_is_not_pruned():
    sql = SOURCE + (", x AS (SELECT * FROM events WHERE eventsource = 'a'), "
                    "y AS (SELECT * FROM events) SELECT * FROM x JOIN y ON x.eventid = y.eventid")
    assert C.pushed_predicates(sql, "t")["eventsource"] is None
    # Both references filtered: the union of what they need.
    sql = SOURCE + (", x AS (SELECT * FROM events WHERE eventsource = 'a'), "
                    "y AS (SELECT * FROM events WHERE eventsource IN ('b', 'c')) SELECT * FROM x, y")
    assert C.pushed_predicates(sql, "t")["eventsource"] == {"a", "b", "c"}


def test_the_outer_side_of_a_left_join_and_renamed_columns_are_not_pruned():
    sql = SOURCE + (", x AS (SELECT * FROM k LEFT JOIN events e ON k.id = e.eventid WHERE e.eventsource = 'a') "
                    "SELECT * FROM x")
    assert C.pushed_predicates(sql, "t")["eventsource"] is None
    sql = SOURCE.replace("SELECT *", "SELECT lower(eventsource) AS eventsource") + (
        ", x AS (SELECT * FROM events WHERE eventsource = 'a') SELECT * FROM x")
    assert C.pushed_predicates(sql, "t")["eventsource"] is None


def test_charge_counts_only_surviving_files_and_row_groups():
    def group(es: tuple[str, str], en: tuple[str, str], a: int, b: int) -> dict:
        return {"sizes": {"a": a, "b": b}, "stats": {"eventsource": es, "eventname": en}}

    b_x = C.hive_bucket("x", 2)
    files = [
        {"day": "d1", "bucket": b_x, "groups": [group(("x", "x"), ("A", "M"), 10, 1)]},
        {"day": "d1", "bucket": 1 - b_x, "groups": [group(("y", "y"), ("A", "Z"), 20, 2)]},
        {"day": "d2", "bucket": b_x, "groups": [group(("x", "x"), ("N", "Z"), 40, 4)]},
    ]
    everything = {"eventsource": None, "eventname": None}
    # No pushdown (the old design): every chunk of the columns read.
    assert C.charge(files, {"a"}, None, 2, None) == 70
    # Partition pruning only: d1's files.
    assert C.charge(files, {"a", "b"}, {"d1"}, 2, everything) == 33
    # Bucket pruning on eventsource = 'x': x's bucket, both days.
    assert C.charge(files, {"a"}, None, 2, {"eventsource": {"x"}, "eventname": None}) == 50
    # Statistics on eventname = 'P': only the d2 group's range [N, Z] holds it.
    assert C.charge(files, {"a"}, None, 2, {"eventsource": {"x"}, "eventname": {"P"}}) == 40
