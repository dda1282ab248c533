"""One ingest per store at a time: two would delete each other's uncommitted Parquet files.

Only an ingest with new files to load takes the lock; readers never do. A second ingest waits for
the first (it then finds most of its files already loaded) for at most ``tuning.INGEST_WAIT_S``
seconds, or ``TRAILBOOK_INGEST_WAIT``, then fails with `StoreBusy` (exit 1, one line).
The lock is an flock on ``<store>/.ingest.lock``: the kernel drops it when its process dies,
even by kill -9, so no stale lock is ever left.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import TrailbookError
from . import tuning

LOCK_NAME = ".ingest.lock"
WAIT_ENV = "TRAILBOOK_INGEST_WAIT"


class StoreBusy(TrailbookError):
    """Another process kept the store locked for longer than the wait allowed (exit 1)."""


def wait_seconds() -> float:
    """The wait for another ingest: TRAILBOOK_INGEST_WAIT when set to a number, else the default."""
    text = os.environ.get(WAIT_ENV, "").strip()
    try:
        return max(0.0, float(text)) if text else tuning.INGEST_WAIT_S
    except ValueError:
        return tuning.INGEST_WAIT_S


@contextmanager
def ingest_lock(store_dir: Path, *, wait_s: float | None = None, say: bool = False) -> Iterator[None]:
    """Hold the store's ingest lock, waiting up to ``wait_s`` seconds for another ingest to end."""
    store_dir.mkdir(parents=True, exist_ok=True)
    wait = wait_seconds() if wait_s is None else wait_s
    with open(store_dir / LOCK_NAME, "a+") as handle:
        _acquire(handle, store_dir, wait, say)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle, store_dir: Path, wait: float, say: bool) -> None:
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise StoreBusy(f"another ingest into {store_dir} is running (waited {wait:.0f} s, "
                                f"{WAIT_ENV} sets the wait); try again when it ends") from None
        if say and not told:
            print(f"waiting for another ingest into {store_dir} to end (up to {wait:.0f} s)", file=sys.stderr)
            told = True
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
