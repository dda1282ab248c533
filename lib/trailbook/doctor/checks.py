"""A doctor's result: one line per check (PASS, WARN, FAIL or SKIP) with the fix, and its exit code.

A FAIL means a report would fail or miss data; a WARN is worth fixing but a report still runs;
SKIP names a check that could not run because an earlier one failed. The exit code is 1 (the
environment failed, as for `report`) when any check failed, else 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..aws import error_code
from ..errors import EXIT_FAILED, EXIT_OK

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"
# Error codes that mean "your policy does not allow this call".
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"})


def one_line(text: Any) -> str:
    """Any text on one line: AWS messages can hold newlines, and each check is one line."""
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f" | fix: {one_line(self.fix)}" if self.fix and self.status != PASS else ""
        return f"{self.status:<4}  {self.name:<12}  {one_line(self.detail)}{fix}"


@dataclass
class Report:
    """Every check of one doctor run, in order, and what it found along the way."""

    engine: str
    checks: list[Check] = field(default_factory=list)
    found: dict[str, Any] = field(default_factory=dict)  # listing, test query: for --json

    def add(self, name: str, status: str, detail: str, fix: str = "") -> Check:
        check = Check(name, status, detail, fix)
        self.checks.append(check)
        return check

    def skip(self, name: str, why: str) -> Check:
        return self.add(name, SKIP, why)

    def status(self, name: str) -> str | None:
        return next((c.status for c in self.checks if c.name == name), None)

    @property
    def failed(self) -> bool:
        return any(c.status == FAIL for c in self.checks)

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks]

    def to_json(self) -> dict[str, Any]:
        return {"engine": self.engine, "ok": not self.failed,
                "checks": [{"name": c.name, "status": c.status, "detail": one_line(c.detail),
                            "fix": one_line(c.fix) if c.status != PASS else ""} for c in self.checks],
                **self.found}


def refused(error: BaseException, action: str, policy: str) -> tuple[str, str]:
    """(detail, fix) for an AWS error: a denied call names the IAM action and the policy that grants it."""
    code = error_code(error) or type(error).__name__
    message = one_line(getattr(error, "response", {}).get("Error", {}).get("Message", "") or error)
    if code in DENIED:
        return f"{action} was denied ({code})", f"grant {action}: it is in `{policy}`"
    return f"{action} failed: {code}: {message}", ""


def guarded(report: Report, name: str, action: str, policy: str, run: Callable[[], Any]) -> Any:
    """`run()`, or a FAIL line for `name` when AWS refuses it (the caller's check then stops)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return run()
    except (ClientError, BotoCoreError) as error:
        detail, fix = refused(error, action, policy)
        report.add(name, FAIL, detail, fix)
        return None
