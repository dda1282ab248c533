"""One root error type for everything a user can cause, and the exit code each kind means.

The command line catches `TrailbookError` and prints one line (no traceback unless `--debug`)
and exits with the error's `exit_code`. Library callers catch it the same way.
"""

from __future__ import annotations

# Exit codes of every command (the README's table).
EXIT_OK = 0  # ran; nothing at or above --fail-on
EXIT_FAILED = 1  # a query, notebook or engine failed; or the environment did (disk full, store busy)
EXIT_USAGE = 2  # bad arguments, parameters, paths or config; nothing ran
EXIT_FINDINGS = 3  # ran; findings at or above --fail-on exist
EXIT_NO_DATA = 4  # ran, but the selected scope and window held no events: never reported clean


class TrailbookError(Exception):
    """Anything trailbook reports to its user as one line."""

    exit_code = EXIT_FAILED


class UsageError(TrailbookError, ValueError):
    """The user asked for something invalid (arguments, parameters, paths, config); nothing ran."""

    exit_code = EXIT_USAGE


class NoDataError(TrailbookError):
    """The window and scope selected hold no events, so nothing can be called clean."""

    exit_code = EXIT_NO_DATA
