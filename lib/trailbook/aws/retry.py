"""Calling AWS politely: one retry policy for throttled calls, and backoff for polling.

IAM's Access Advisor and report APIs are rate limited per account, and Athena and Lake throttle
status calls; a run makes many calls, so throttling is expected, not exceptional. Every AWS path
(the engines and IAM collection) retries through `RetryPolicy`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

# Error codes AWS uses for request-rate limiting (IAM and STS: Throttling; JSON services:
# ThrottlingException / TooManyRequestsException; EC2-style: RequestLimitExceeded).
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "TooManyRequestsException", "TooManyRequests", "RequestLimitExceeded",
})


class Clock(Protocol):
    """Time as a caller sees it; tests pass a virtual clock so nothing really waits."""

    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...
    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def is_throttling(error: BaseException) -> bool:
    """True for an AWS error whose code means "slow down"."""
    return error_code(error) in THROTTLING_CODES


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded: attempt n waits in [d/2, d], d = min(cap, base * 2**n)."""

    max_attempts: int = 6
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("retry delays must be >= 0")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** attempt))
        # "Equal jitter": spreads concurrent clients apart but still grows exponentially.
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    def call(self, function: Callable[..., Any], *, sleep: Callable[[float], None] = time.sleep,
             rng: random.Random | None = None, **kwargs: Any) -> Any:
        """`function(**kwargs)`, retrying throttling errors; any other error, or the last one, is raised."""
        chance = rng or random.Random()
        attempt = 0
        while True:
            try:
                return function(**kwargs)
            except Exception as error:
                attempt += 1
                if not is_throttling(error) or attempt >= self.max_attempts:
                    raise
                sleep(self.delay(attempt - 1, chance))


@dataclass
class Caller:
    """Makes one named AWS call with the retry policy and returns the response without ResponseMetadata."""

    clock: Clock
    retry: RetryPolicy
    rng: random.Random

    def call(self, client: Any, operation: str, **params: Any) -> dict[str, Any]:
        import botocore

        method = getattr(client, botocore.xform_name(operation))
        response = dict(self.retry.call(method, sleep=self.clock.sleep, rng=self.rng, **params))
        response.pop("ResponseMetadata", None)
        return response


def backoff_delays(first: float, ceiling: float) -> Iterator[float]:
    """Polling waits: first, 1.5x, 2.25x, ... capped at `ceiling` (quick answers for short queries,
    few calls for long ones)."""
    delay = max(first, 0.0)
    while True:
        yield delay
        delay = min(max(delay * 1.5, 0.01), max(ceiling, first))
