"""Reader leases: a compaction deletes the files it replaced only when no reader can still read them.

A reader's snapshot (`reader.connect`) lists Parquet files and reads them lazily, for as long as
its connection lives (a notebook kernel may keep one for days). So each snapshot holds a lease:
``<store>/.readers/<id>.lease``, flocked by the reader for the connection's life and holding the
store generation the snapshot saw. A writer (ingest or compaction, under the ingest lock) deletes
a retired file of generation g only when every live lease has seen g or later. A lease whose lock
is free belongs to a dead process (the kernel drops an flock on kill -9) and is removed.

Order makes this safe without any shared lock: a lease is locked and visible (renamed into place)
before its snapshot is read, and a writer looks at the leases only after its compaction commit.
A reader the writer did not see therefore read its snapshot after that commit. A lease whose
generation is not yet written blocks every deletion.

The lease ends when its connection is garbage-collected, or closed (noticed by the next writer in
the same process; a closed connection in another process holds its lease until it is collected).
A store folder readers cannot write to gets no leases: its readers are not protected.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

READERS_DIR = ".readers"
_SUFFIX = ".lease"
UNKNOWN = -1  # a lease whose snapshot is not read yet: blocks every deletion
STALE_TEMPORARY_S = 3600.0  # a lease still unnamed this long after its creation was abandoned


@dataclass
class Lease:
    path: Path
    fd: int
    target: weakref.ref | None = field(default=None)

    def set_generation(self, generation: int) -> None:
        os.pwrite(self.fd, str(generation).encode(), 0)

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1
        _HELD.pop(id(self), None)


_HELD: dict[int, Lease] = {}  # this process's live leases


def take(store_dir: Path) -> Lease | None:
    """A locked, visible lease of unknown generation; None when the store folder is read-only."""
    folder = store_dir / READERS_DIR
    name = uuid.uuid4().hex
    temporary = folder / f".{name}.tmp"
    try:
        folder.mkdir(exist_ok=True)
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return None
    lease = Lease(folder / f"{name}{_SUFFIX}", fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(temporary, lease.path)  # visible only once locked: a writer never takes it for dead
    except OSError:  # a file system without flock
        os.close(fd)
        temporary.unlink(missing_ok=True)
        return None
    _HELD[id(lease)] = lease
    return lease


def bind(lease: Lease, con: duckdb.DuckDBPyConnection) -> None:
    """End the lease when the connection is collected (a closed one: see `release_closed`)."""
    lease.target = weakref.ref(con)
    weakref.finalize(con, lease.release)


def release_closed() -> None:
    """End this process's leases whose connection was closed."""
    for lease in list(_HELD.values()):
        con = lease.target() if lease.target else None
        if lease.target is None:
            continue  # not bound yet: its snapshot is being read
        if con is None or _closed(con):
            lease.release()


def _closed(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        con.cursor().close()  # a new cursor leaves the connection's pending result alone
    except duckdb.ConnectionException:
        return True
    return False


def oldest_live(store_dir: Path) -> int | None:
    """The oldest generation a live reader may still read (UNKNOWN when one is being taken), or None
    when there are no live readers. Leases of dead processes are removed on the way."""
    release_closed()
    folder = store_dir / READERS_DIR
    if not folder.is_dir():
        return None
    for path in folder.glob(".*.tmp"):  # a reader killed while taking its lease, long ago
        _remove_stale(path)
    oldest: int | None = None
    for path in folder.glob(f"*{_SUFFIX}"):
        seen = _live_generation(path)
        if seen is not None:
            oldest = seen if oldest is None else min(oldest, seen)
    return oldest


def _live_generation(path: Path) -> int | None:
    """The lease's generation if its reader lives; a dead reader's lease is removed (None)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # held: the reader lives
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else UNKNOWN
        path.unlink(missing_ok=True)  # free: its process is gone
        return None
    finally:
        os.close(fd)


def _remove_stale(path: Path) -> None:
    try:
        if time.time() - path.stat().st_mtime > STALE_TEMPORARY_S:
            path.unlink()
    except OSError:
        pass
