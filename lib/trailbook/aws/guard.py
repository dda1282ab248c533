"""The read-only guard: a boto3 session that refuses every call outside its role's allow-list.

The check runs on botocore's ``before-parameter-build`` event, so a refused call never reaches
AWS, and an edit that adds a write call fails loudly instead of running.
"""

from __future__ import annotations

from typing import Any

from ..errors import TrailbookError
from .operations import ALLOWED, allowed

_GUARD_ID = "trailbook-read-only-guard"


class ReadOnlyViolation(TrailbookError, RuntimeError):
    """An AWS operation outside the allow-list was about to be called."""


def install_read_only_guard(session: Any, role: str) -> None:
    """Make every client created from `session` afterwards refuse operations outside `role`'s list.

    Installing twice is harmless (one handler per session and role).
    """
    if role not in ALLOWED:
        raise ValueError(f"no allow-list for {role!r}; known: {sorted(ALLOWED)}")

    def refuse_unlisted(model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        if not allowed(role, service, model.name):
            raise ReadOnlyViolation(
                f"refusing {service}:{model.name}: trailbook's {role} role only makes the calls listed in "
                f"trailbook.aws.ALLOWED[{role!r}]")

    session.events.register("before-parameter-build", refuse_unlisted, unique_id=f"{_GUARD_ID}-{role}")
