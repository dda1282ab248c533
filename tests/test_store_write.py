"""write.layout: which partitions of a batch are written rolled up, as compaction would roll them up.

The expected layouts are written out by hand from the rule in tuning (ROLLUP_PARTITIONS small
partitions of one account's day, each under ROLLUP_ROWS rows)."""

from __future__ import annotations

import pytest

from trailbook.store import tuning
from trailbook.store.write import layout

DAY = "2026/10/01"
REGIONS = ["ap-south-1", "eu-west-1", "eu-west-2", "sa-east-1", "us-east-1", "us-east-2", "us-west-1",
           "us-west-2", "ca-central-1"]


@pytest.fixture(autouse=True)
def rule(monkeypatch):
    monkeypatch.setattr(tuning, "ROLLUP_PARTITIONS", 8)
    monkeypatch.setattr(tuning, "ROLLUP_ROWS", 100)


def test_eight_small_partitions_of_an_accounts_day_become_one_file_in_region_order():
    sizes = {("111111111111", region, DAY): 5 for region in REGIONS[:8]}
    assert layout(sizes) == {("111111111111", "*", DAY): [
        ("111111111111", r, DAY) for r in ["ap-south-1", "eu-west-1", "eu-west-2", "sa-east-1", "us-east-1",
                                           "us-east-2", "us-west-1", "us-west-2"]]}


def test_seven_small_partitions_stay_apart():
    sizes = {("111111111111", region, DAY): 5 for region in REGIONS[:7]}
    assert layout(sizes) == {key: [key] for key in sorted(sizes)}


def test_a_partition_of_rollup_rows_or_more_stays_apart_and_is_not_counted():
    sizes = {("111111111111", region, DAY): 99 for region in REGIONS[:8]}
    sizes[("111111111111", "us-east-1", DAY)] = 100  # not small: 7 small ones are left
    assert layout(sizes) == {key: [key] for key in sorted(sizes)}
    sizes[("111111111111", "ca-central-1", DAY)] = 1  # the eighth small one
    small = sorted(key for key, rows in sizes.items() if rows < 100)
    assert layout(sizes) == {("111111111111", "*", DAY): small,
                             ("111111111111", "us-east-1", DAY): [("111111111111", "us-east-1", DAY)]}


def test_accounts_and_days_are_counted_apart():
    sizes = {("111111111111", region, DAY): 5 for region in REGIONS[:4]}
    sizes |= {("222222222222", region, DAY): 5 for region in REGIONS[4:8]}
    sizes |= {("111111111111", region, "2026/10/02"): 5 for region in REGIONS[4:8]}
    assert layout(sizes) == {key: [key] for key in sorted(sizes)}


def test_an_unknown_region_or_day_stays_apart():
    sizes = {("111111111111", region, DAY): 5 for region in REGIONS[:8]}
    sizes[("111111111111", "", DAY)] = 5
    sizes[("111111111111", "eu-north-1", "")] = 5
    rolled = sorted(("111111111111", region, DAY) for region in REGIONS[:8])
    assert layout(sizes) == {("111111111111", "", DAY): [("111111111111", "", DAY)],
                             ("111111111111", "*", DAY): rolled,
                             ("111111111111", "eu-north-1", ""): [("111111111111", "eu-north-1", "")]}


def test_a_day_with_a_rolled_up_file_takes_any_small_partition_of_that_day():
    sizes = {("111111111111", "us-east-1", DAY): 5, ("111111111111", "eu-west-1", DAY): 99,
             ("111111111111", "us-west-2", DAY): 100, ("222222222222", "us-east-1", DAY): 5,
             ("111111111111", "us-east-1", "2026/10/02"): 5}
    assert layout(sizes, {("111111111111", DAY)}) == {
        ("111111111111", "*", DAY): [("111111111111", "eu-west-1", DAY), ("111111111111", "us-east-1", DAY)],
        ("111111111111", "us-west-2", DAY): [("111111111111", "us-west-2", DAY)],
        ("222222222222", "us-east-1", DAY): [("222222222222", "us-east-1", DAY)],
        ("111111111111", "us-east-1", "2026/10/02"): [("111111111111", "us-east-1", "2026/10/02")]}
