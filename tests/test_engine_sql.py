"""The SQL fragments every engine shares: the window's partitions and predicates, the scope."""

from __future__ import annotations

import datetime as dt

from trailbook.engines.sql import partition_time_filter, scope_filter, window_days

UTC = dt.timezone.utc


def test_window_days_exclusive_end():
    assert window_days(dt.datetime(2026, 10, 22, tzinfo=UTC), dt.datetime(2026, 10, 29, tzinfo=UTC)) == (
        "2026/10/22", "2026/10/28")
    assert window_days(dt.datetime(2026, 10, 22, tzinfo=UTC), dt.datetime(2026, 10, 22, 1, tzinfo=UTC)) == (
        "2026/10/22", "2026/10/22")


def test_time_filter_bounds_partitions_and_eventtime():
    text = partition_time_filter(dt.datetime(2026, 10, 22, tzinfo=UTC), dt.datetime(2026, 10, 29, tzinfo=UTC))
    assert text == ("date_partition BETWEEN '2026/10/22' AND '2026/10/28'"
                    " AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'")


def test_scope_filter():
    assert scope_filter() == ""
    assert scope_filter(["111122223333"], ["eu-west-1", "us-east-1"]) == (
        " AND account_partition IN ('111122223333') AND region_partition IN ('eu-west-1', 'us-east-1')")
