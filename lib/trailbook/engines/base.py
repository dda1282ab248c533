"""What every engine provides: the two SQL fragments, and execution with statistics."""

from __future__ import annotations

import contextlib
import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import TrailbookError


class EngineError(TrailbookError, RuntimeError):
    """A query failed on its engine. The message carries the engine's own reason."""


class BudgetExceeded(EngineError):
    """The run's byte budget is spent; nothing more is sent to the engine."""


@dataclass
class QueryStats:
    """What one execution cost, as the engine reports it (None where it reports nothing)."""

    execution_id: str | None = None
    bytes_scanned: int | None = None
    events_scanned: int | None = None
    engine_ms: int | None = None
    queue_ms: int | None = None
    cost_usd: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "extra"}
        out.update(self.extra)
        return out


ATHENA_USD_PER_TB = 5.0


def scan_cost_usd(bytes_scanned: int | None) -> float | None:
    """Athena's price: $5 per TB scanned, at least 10 MB per query."""
    if bytes_scanned is None:
        return None
    billed = max(bytes_scanned, 10 * 1024**2)
    return round(billed / 1024**4 * ATHENA_USD_PER_TB, 6)


class Engine(ABC):
    """An engine renders the source and time fragments and runs Trino SQL."""

    name: str = "engine"
    shared_bytes_scanned: int = 0  # what shared scans (Athena's one-scan CTAS) read, for the run's byte budget

    @classmethod
    def from_options(cls, *, accounts: Sequence[str] = (), regions: Sequence[str] = (), store: Any = None,
                     **options: Any) -> Engine:
        """The engine from keyword options; `store` matters to the local engine only."""
        return cls(accounts=accounts, regions=regions, **options)  # type: ignore[call-arg]

    @abstractmethod
    def fragments(self, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
        """`source` and `time_filter` for a window."""

    @abstractmethod
    def execute(self, sql: str, *, columns: dict[str, str] | None = None) -> tuple[pd.DataFrame, QueryStats]:
        """Run one rendered query. `columns` are the declared output types, for engines that return text."""

    @contextlib.contextmanager
    def shared_scan(self, start: dt.datetime, end: dt.datetime,
                    columns: Sequence[str] | None = None) -> Iterator[None]:
        """While open, queries whose window lies inside [start, end) read one materialized copy of that
        window (`columns` only, when given) instead of each scanning the table. By default there is no
        copy: every query reads the table itself."""
        yield

    def describe(self) -> dict[str, Any]:
        """What to record in the evidence about this engine's connection (no secrets)."""
        return {"engine": self.name}

    def close(self) -> None:  # noqa: B027 - optional for engines that hold nothing
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
