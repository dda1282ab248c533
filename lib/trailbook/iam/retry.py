"""Calling AWS politely: throttling backoff, and a clock that tests can replace.

IAM's Access Advisor and report APIs are rate limited per account; a full collection makes
a few calls per principal, so throttling is expected, not exceptional.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import botocore
from botocore.exceptions import ClientError

# Error codes AWS uses for request-rate limiting (IAM and STS: Throttling; JSON services:
# ThrottlingException / TooManyRequestsException; EC2-style: RequestLimitExceeded).
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
})


class Clock(Protocol):
    """Time as the collector sees it; tests pass a virtual clock so nothing really waits."""

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


def is_throttling(error: BaseException) -> bool:
    """True for a botocore ClientError whose code means "slow down"."""
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in THROTTLING_CODES


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a ClientError, else None."""
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code")
    return None


@dataclass
class Caller:
    """Makes one AWS call with throttling backoff and returns the response without ResponseMetadata."""

    clock: Clock
    retry: RetryPolicy
    rng: random.Random

    def call(self, client: Any, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(client, botocore.xform_name(operation))
        attempt = 0
        while True:
            try:
                response = dict(method(**params))
            except ClientError as error:
                attempt += 1
                if not is_throttling(error) or attempt >= self.retry.max_attempts:
                    raise
                self.clock.sleep(self.retry.delay(attempt - 1, self.rng))
                continue
            response.pop("ResponseMetadata", None)
            return response
