"""The boto3 session every AWS path uses: the standard credential chain, guarded read-only.

Hooks registered with `add_session_hook` run on every session created afterwards (logging,
custom endpoints, or canned AWS responses in tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import UsageError
from .guard import install_read_only_guard

SessionHook = Callable[[Any, str], None]  # (boto3.Session, role) -> None
_SESSION_HOOKS: list[SessionHook] = []


def add_session_hook(hook: SessionHook) -> None:
    """Call `hook(session, role)` on every boto3 session created from now on."""
    if hook not in _SESSION_HOOKS:
        _SESSION_HOOKS.append(hook)


def remove_session_hook(hook: SessionHook) -> None:
    if hook in _SESSION_HOOKS:
        _SESSION_HOOKS.remove(hook)


def session(role: str, *, region: str | None = None, profile: str | None = None, base: Any = None,
            need_region: bool = True) -> Any:
    """A boto3 session for `role` (athena, lake, collect), guarded read-only, with the hooks applied.

    `base` reuses an existing session's credentials (e.g. one made for a named profile).
    """
    import boto3

    made = base if base is not None else boto3.Session(region_name=region, profile_name=profile)
    if need_region and made.region_name is None:
        raise UsageError(f"trailbook's {role} calls need an AWS region: set region in its config, or AWS_REGION")
    install_read_only_guard(made, role)
    for hook in list(_SESSION_HOOKS):
        hook(made, role)
    return made
