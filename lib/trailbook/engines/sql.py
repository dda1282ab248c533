"""SQL fragments the engines share, owned by none of them: the time window and the scope.

Every value goes through `params` (the one escaping path).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from .. import params as P


def window_days(start: dt.datetime, end: dt.datetime) -> tuple[str, str]:
    """The first and last 'yyyy/MM/dd' date partitions that overlap [start, end)."""
    last = end - dt.timedelta(microseconds=1)
    return start.strftime("%Y/%m/%d"), last.strftime("%Y/%m/%d")


def partition_time_filter(start: dt.datetime, end: dt.datetime) -> str:
    """The time filter for tables partitioned like the Athena CloudTrail table.

    The partition predicate prunes files; the eventtime bounds make the window exact.
    eventtime is CloudTrail's ISO-8601 text, which orders as time when compared as text.
    """
    first, last = window_days(start, end)
    return (
        f"date_partition BETWEEN {P.sql_string(first)} AND {P.sql_string(last)}"
        f" AND eventtime >= {P.sql_string(P.iso(start))} AND eventtime < {P.sql_string(P.iso(end))}"
    )


def scope_filter(accounts: Sequence[str] = (), regions: Sequence[str] = ()) -> str:
    """Extra partition predicates for an account/region scope ('' when unscoped)."""
    parts = []
    if accounts:
        parts.append("account_partition IN (" + ", ".join(P.sql_string(a) for a in accounts) + ")")
    if regions:
        parts.append("region_partition IN (" + ", ".join(P.sql_string(r) for r in regions) + ")")
    return "".join(f" AND {p}" for p in parts)
