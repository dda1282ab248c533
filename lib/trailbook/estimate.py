"""What an Athena run would scan and cost, before anything runs (`--estimate`).

Athena bills the bytes it reads from S3: for the CloudTrail table, the gzip objects under every
partition a query's predicate leaves (`engines.sql.partition_time_filter`: the window's days, one
day more for late deliveries, and the account/region scope). So an estimate lists those prefixes
(ListObjectsV2, read-only), sums the object sizes per day, and prices each query's days at Athena's
rate with its 10 MB minimum (`engines.base.scan_cost_usd`). Nothing is queried.

Assumptions, stated where the estimate is printed:
- every object under a partition's prefix is read (JSON is not splittable by column);
- a query reads its window's partitions in full (its exact eventtime filter does not prune files);
- reused results, which cost nothing, are not predicted: the estimate is an upper bound.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import catalog as C
from . import params as P
from .doctor.bucket import children
from .engines.base import scan_cost_usd
from .engines.sql import LATE_DELIVERY_DAYS, window_days

# .../AWSLogs/[o-org/]<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/<file>
_ACCOUNT = re.compile(r"\d{12}")
_DAY_KEY = re.compile(r"(?:^|/)(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/[^/]+$")


@dataclass(frozen=True)
class Location:
    """Where the trail's objects are: s3://bucket/<prefix>, the folder holding one folder per account."""

    bucket: str
    prefix: str  # ends with "/" (e.g. "AWSLogs/" or "logs/AWSLogs/o-abc1234567/")

    @classmethod
    def parse(cls, url: str) -> Location:
        match = re.fullmatch(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.*)", url.strip())
        if not match:
            raise P.ParameterError(f"trail location {url!r} is not s3://bucket/prefix/")
        prefix = match.group(2)
        return cls(match.group(1), prefix if not prefix or prefix.endswith("/") else prefix + "/")


@dataclass
class DaySizes:
    """Bytes and object counts of the trail, per (account, region, 'yyyy/MM/dd')."""

    bytes: dict[tuple[str, str, str], int]
    objects: dict[tuple[str, str, str], int]
    listed_prefixes: int = 0

    def total(self, days: Iterable[str], accounts: Sequence[str] = (), regions: Sequence[str] = ()) -> tuple[int, int]:
        """(objects, bytes) over `days`, within the account/region scope (empty: all)."""
        wanted = set(days)
        size = count = 0
        for key, value in self.bytes.items():
            account, region, day = key
            if day in wanted and (not accounts or account in accounts) and (not regions or region in regions):
                size += value
                count += self.objects[key]
        return count, size


def _pages(client: Any, bucket: str, prefix: str) -> Iterable[dict[str, Any]]:
    yield from client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)


def months(days: Iterable[str]) -> list[str]:
    """The 'yyyy/MM' folders that hold `days` ('yyyy/MM/dd')."""
    return sorted({day[:7] for day in days})


def list_days(client: Any, location: Location, days: Sequence[str], accounts: Sequence[str] = (),
              regions: Sequence[str] = ()) -> DaySizes:
    """Sizes of the trail's objects on `days`, listing one prefix per account, region and month.

    Accounts and regions default to the folders present in the bucket (so an account that joined
    the organization, or a region nobody uses, is priced too).
    """
    sizes = DaySizes({}, {})
    wanted = set(days)
    present = accounts or [a for a in children(client, location.bucket, location.prefix) if _ACCOUNT.fullmatch(a)]
    for account in sorted(present):
        base = f"{location.prefix}{account}/CloudTrail/"
        for region in regions or sorted(children(client, location.bucket, base)):
            for month in months(wanted):
                sizes.listed_prefixes += 1
                for page in _pages(client, location.bucket, f"{base}{region}/{month}/"):
                    for item in page.get("Contents") or []:
                        match = _DAY_KEY.search(item["Key"])
                        if not match:
                            continue
                        day = "/".join(match.group(3, 4, 5))
                        if day in wanted:
                            key = (match.group(1), match.group(2), day)
                            sizes.bytes[key] = sizes.bytes.get(key, 0) + int(item["Size"])
                            sizes.objects[key] = sizes.objects.get(key, 0) + 1
    return sizes


def day_range(first: str, last: str) -> list[str]:
    """Every 'yyyy/MM/dd' from `first` to `last`, inclusive."""
    day = dt.datetime.strptime(first, "%Y/%m/%d")
    end = dt.datetime.strptime(last, "%Y/%m/%d")
    out = []
    while day <= end:
        out.append(day.strftime("%Y/%m/%d"))
        day += dt.timedelta(days=1)
    return out


def query_days(query: C.Query, values: Mapping[str, Any]) -> list[str]:
    """The date partitions a query reads with these values: its window's days, plus late deliveries."""
    first, last = window_days(*query.read_window(values), LATE_DELIVERY_DAYS)
    return day_range(first, last)


@dataclass(frozen=True)
class QueryCost:
    query: str
    first_day: str
    last_day: str
    objects: int
    bytes: int  # one run's
    usd: float  # one run's
    runs: int = 1  # how many times the run sends it (a report: once per notebook that runs it)
    by: tuple[str, ...] = ()  # who sends it (a report's notebooks)


@dataclass(frozen=True)
class Planned:
    """One query a run would send: the values that set its window, its scope, and who sends it how often."""

    query: C.Query
    values: Mapping[str, Any]
    runs: int = 1
    by: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


def window_values(query: C.Query, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """The run's window as this query's values: `start` and `end` where it declares them (a baseline
    start keeps its default, relative to `start`)."""
    return {k: v for k, v in (("start", start), ("end", end)) if k in query.params}


def estimate(queries: Sequence[C.Query], start: dt.datetime, end: dt.datetime,
             sizes_for: Callable[[Sequence[str]], DaySizes], *, accounts: Sequence[str] = (),
             regions: Sequence[str] = ()) -> tuple[list[QueryCost], DaySizes, list[str]]:
    """Each query's partitions, objects, bytes and price, and the sizes of the union of their days."""
    return estimate_planned([Planned(q, window_values(q, start, end), accounts=tuple(accounts),
                                     regions=tuple(regions)) for q in queries], sizes_for)


def estimate_planned(planned: Sequence[Planned], sizes_for: Callable[[Sequence[str]], DaySizes]
                     ) -> tuple[list[QueryCost], DaySizes, list[str]]:
    """`estimate` for queries with their own values, scope and number of runs."""
    days_of = [query_days(p.query, p.values) for p in planned]
    every_day = sorted({day for days in days_of for day in days})
    sizes = sizes_for(every_day)
    rows = []
    for plan, days in zip(planned, days_of, strict=True):
        objects, size = sizes.total(days, plan.accounts, plan.regions)
        rows.append(QueryCost(plan.query.name, days[0], days[-1], objects, size, scan_cost_usd(size) or 0.0,
                              plan.runs, plan.by))
    return rows, sizes, every_day


def lines(rows: Sequence[QueryCost], sizes: DaySizes, every_day: Sequence[str], *,
          accounts: Sequence[str] = (), regions: Sequence[str] = ()) -> list[str]:
    """The printed estimate: one line per query, the run's total, and the assumptions."""
    out = [f"{'query':<44} {'partitions':<23} {'objects':>9} {'bytes':>15} {'USD':>10}"]
    for row in sorted(rows, key=lambda r: (-r.bytes, r.query)):
        out.append(f"{row.query:<44} {row.first_day}..{row.last_day[5:]:<11} {row.objects:>9,} "
                   f"{row.bytes:>15,} {row.usd:>10.4f}")
    total_bytes = sum(r.bytes for r in rows)
    once_objects, once_bytes = sizes.total(every_day, accounts, regions)
    out.append(f"{'total: ' + str(len(rows)) + ' queries':<68} {total_bytes:>15,} {sum(r.usd for r in rows):>10.4f}")
    out.append(f"the run's partitions ({every_day[0]}..{every_day[-1]}) hold {once_objects:,} objects, "
               f"{once_bytes:,} bytes: the queries read them {total_bytes / once_bytes if once_bytes else 0:.1f} times")
    out.append(f"listed {sizes.listed_prefixes} prefixes (ListObjectsV2, read-only); nothing was queried. An upper "
               "bound: every object of a query's partitions is billed (10 MB minimum each), reused results are not "
               "predicted, and $5 per TB is Athena's list price in most regions")
    return out


def run_lines(rows: Sequence[QueryCost], sizes: DaySizes, every_day: Sequence[str], *,
              accounts: Sequence[str] = (), regions: Sequence[str] = ()) -> list[str]:
    """The printed estimate of a run whose queries may run several times (a report): per query its
    runs, one run's bytes and the price of all its runs; then the run's total."""
    out = [f"{'query':<44} {'partitions':<23} {'runs':>4} {'objects':>9} {'bytes per run':>15} {'USD':>10}"]
    for row in sorted(rows, key=lambda r: (-r.bytes * r.runs, r.query)):
        out.append(f"{row.query:<44} {row.first_day}..{row.last_day[5:]:<11} {row.runs:>4} {row.objects:>9,} "
                   f"{row.bytes:>15,} {row.usd * row.runs:>10.4f}")
    total_bytes = sum(r.bytes * r.runs for r in rows)
    runs = sum(r.runs for r in rows)
    once_objects, once_bytes = sizes.total(every_day, accounts, regions)
    out.append(f"total: {len(rows)} queries, {runs} runs, {total_bytes:,} bytes, "
               f"{sum(r.usd * r.runs for r in rows):.4f} USD")
    out.append(f"the run's partitions ({every_day[0]}..{every_day[-1]}) hold {once_objects:,} objects, "
               f"{once_bytes:,} bytes: the runs read them {total_bytes / once_bytes if once_bytes else 0:.1f} times")
    out.append(f"listed {sizes.listed_prefixes} prefixes (ListObjectsV2, read-only); nothing was queried and no "
               "notebook ran. An upper bound: every object of a query's partitions is billed (10 MB minimum each), "
               "reused results are not predicted, and $5 per TB is Athena's list price in most regions")
    return out
