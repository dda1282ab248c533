"""Per-account collection context: cached clients, the polite caller, and non-fatal error capture."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from trailbook.aws import Caller

log = logging.getLogger(__name__)
T = TypeVar("T")

# botocore's own retries stay modest; Caller adds bounded, jittered backoff on throttling.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, user_agent_extra="trailbook-iam-collect")


class CollectionIncomplete(Exception):
    """AWS's answer could not be completed: a report missed its deadline, or paging broke off."""


class Failed:
    """Marker returned by ``AccountContext.attempt`` when the call failed (and was recorded)."""

    def __repr__(self) -> str:
        return "FAILED"


FAILED: Final = Failed()


@dataclass
class AccountContext:
    """What one account's collection needs: a session, its clients, a caller, and an error list."""

    session: boto3.Session
    home_region: str
    caller: Caller
    problems: list[tuple[str, str]] = field(default_factory=list)  # (call, message)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.home_region
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region, config=CLIENT_CONFIG)
        return self._clients[key]

    def record(self, call: str, message: str) -> None:
        log.warning("%s failed: %s", call, message)
        self.problems.append((call, message))

    def attempt(self, call: str, fn: Callable[..., T], *args: Any, context: str = "", **kwargs: Any) -> T | Failed:
        """Run ``fn``; an AWS error or timeout is recorded and FAILED returned.

        Missing credentials stay fatal: every later call would fail the same way.
        """
        try:
            return fn(*args, **kwargs)
        except NoCredentialsError:
            raise
        except (ClientError, BotoCoreError, CollectionIncomplete) as error:
            prefix = f"{context}: " if context else ""
            # Name the operation that actually failed (e.g. GenerateCredentialReport within
            # the credential-report step), falling back to the step's name.
            self.record(getattr(error, "operation_name", None) or call, prefix + describe_error(error))
            return FAILED


def describe_error(error: BaseException) -> str:
    """A one-line description with the AWS error code when there is one."""
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return f"{info.get('Code', 'ClientError')}: {info.get('Message', str(error))}"
    return f"{type(error).__name__}: {error}"
