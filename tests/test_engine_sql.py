"""The SQL fragments every engine shares: the window's partitions and predicates, the scope."""

from __future__ import annotations

import datetime as dt

import duckdb

from trailbook.engines.lake import LakeEngine
from trailbook.engines.sql import eventtime_filter, partition_time_filter, scope_filter, window_days
from trailbook.translate import to_duckdb

UTC = dt.timezone.utc
START, END = dt.datetime(2026, 10, 22, tzinfo=UTC), dt.datetime(2026, 10, 29, tzinfo=UTC)


def test_window_days_exclusive_end():
    assert window_days(START, END) == ("2026/10/22", "2026/10/28")
    assert window_days(START, dt.datetime(2026, 10, 22, 1, tzinfo=UTC)) == ("2026/10/22", "2026/10/22")


def test_window_days_reach_late_deliveries():
    assert window_days(START, END, late_days=1) == ("2026/10/22", "2026/10/29")
    assert window_days(START, dt.datetime(2026, 10, 22, 12, tzinfo=UTC), late_days=2) == ("2026/10/22", "2026/10/24")


def test_time_filter_reads_one_day_past_the_end_and_keeps_eventtime_exact():
    assert partition_time_filter(START, END) == (
        "date_partition BETWEEN '2026/10/22' AND '2026/10/29'"
        " AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'")
    assert partition_time_filter(START, END, late_days=0).startswith(
        "date_partition BETWEEN '2026/10/22' AND '2026/10/28' AND ")


# (eventTime, delivery folder day): the Athena table's date_partition is the folder's day.
DELIVERED = [
    ("2026-10-21T23:59:00Z", "2026/10/22"),  # before the window, delivered inside it: not counted
    ("2026-10-22T00:00:00Z", "2026/10/22"),  # the first instant: counted
    ("2026-10-25T12:00:00Z", "2026/10/25"),
    ("2026-10-28T23:58:00Z", "2026/10/29"),  # last minutes before the end, delivered after midnight
    ("2026-10-28T20:00:00Z", "2026/10/29"),  # delivered hours late, the next day
    ("2026-10-29T00:00:00Z", "2026/10/29"),  # the end is exclusive: not counted
]


def _count_on_emulated_athena_table(time_filter: str) -> int:
    con = duckdb.connect()
    con.execute("CREATE TABLE cloudtrail (eventtime VARCHAR, date_partition VARCHAR)")
    con.executemany("INSERT INTO cloudtrail VALUES (?, ?)", DELIVERED)
    sql = to_duckdb(f"SELECT count(*) FROM cloudtrail WHERE {time_filter}")
    return con.execute(sql).fetchall()[0][0]


def test_late_deliveries_at_the_windows_end_are_read():
    # Counted by hand from DELIVERED: the events in [START, END) whatever folder they were delivered to.
    assert _count_on_emulated_athena_table(partition_time_filter(START, END)) == 4
    assert _count_on_emulated_athena_table(eventtime_filter(START, END)) == 4


def test_lake_filters_on_eventtime_only():
    fragments = LakeEngine(client=object(), event_data_store="EXAMPLE-f852-4e8f").fragments(START, END)
    assert fragments["time_filter"] == eventtime_filter(START, END)
    assert "date_partition" not in fragments["time_filter"]


def test_scope_filter():
    assert scope_filter() == ""
    assert scope_filter(["111122223333"], ["eu-west-1", "us-east-1"]) == (
        " AND account_partition IN ('111122223333') AND region_partition IN ('eu-west-1', 'us-east-1')")
