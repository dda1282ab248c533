"""Which source files an ingest reads: found, compared with what the store knows, and those that
must not be opened at all.

A folder can hold entries that are not regular files: broken symlinks, FIFOs (opening one blocks
forever), sockets and devices. They are never opened; they, and zero-byte files, are skipped and
named in the ingest summary. A file that vanishes between the listing and the read is skipped too.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .. import loader
from ..loader.find import walk
from . import tuning
from .book import Known


@dataclass
class Pending:
    """One source file to read in this ingest, and what is known about it so far."""

    path: str
    size: int
    mtime_ns: int
    json_size: int = 0  # uncompressed bytes (from the gzip trailer)
    status: str = "loaded"
    reason: str | None = None
    events: int = 0
    bad_records: int = 0
    bad_reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # repairs (loader FileRead.notes)
    order: int = 0  # place in its batch (source order)
    python_reader: bool = False  # read by loader.read_file (any shape) instead of the fast path
    duckdb_error: str | None = None

    def add_bad_record(self, reason: str) -> None:
        self.bad_records += 1
        if len(self.bad_reasons) < loader.MAX_REASONS:
            self.bad_reasons.append(reason)

    def reset(self) -> None:
        self.status, self.reason, self.events = "loaded", None, 0
        self.bad_records, self.bad_reasons = 0, []
        self.notes = []


@dataclass
class Found:
    """The files of a source (loader.discover's rules, as path strings) and the entries skipped unopened."""

    files: list[str]
    ignored: list[str]  # non-JSON files met while walking folders
    skipped: list[tuple[str, str]]  # (path, why) for entries that are not regular files


def find(source: loader.Source) -> Found:
    """The source's files; a missing path or a glob that matches nothing raises FileNotFoundError.

    One listing per folder (loader's walk) finds the files and the entries that are not regular
    files alike; only the latter are stat'ed here, to say why they are skipped."""
    walked = walk(source)
    skipped = [(path, why) for path in walked.special
               if (why := special_reason(path) or ("folder that cannot be listed" if os.path.isdir(path) else None))]
    return Found(walked.files, walked.ignored, sorted(skipped))


def special_reason(path: str | Path) -> str | None:
    """Why this entry must not be opened (None for a regular file, or a folder)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "broken symlink" if os.path.islink(path) else None
    except OSError as exc:
        return f"cannot stat: {exc.strerror or exc}"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    for test, what in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return f"{what}, not a regular file (never opened)"
    return "not a regular file (never opened)"


@dataclass
class Plan:
    """What an ingest has to read, and what it passes over."""

    todo: list[Pending] = field(default_factory=list)
    unchanged: int = 0
    previously_bad: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # empty or vanished files


def plan(files: list[str], known: Known | None) -> Plan:
    """The files that are new or changed (by size and mtime) since the store last read them."""
    known = known or {}
    result = Plan()
    for path in files:
        try:
            info = os.stat(path)
        except OSError as exc:
            result.skipped.append((str(path), f"vanished or unreadable before it was read: {exc.strerror or exc}"))
            continue
        if not stat.S_ISREG(info.st_mode):  # replaced since the listing
            result.skipped.append((str(path), special_reason(path) or "not a regular file (never opened)"))
            continue
        if info.st_size == 0:
            result.skipped.append((str(path), "empty (0 bytes)"))
            continue
        previous = known.get(str(path))
        if previous and previous[0] == info.st_size and previous[1] == info.st_mtime_ns:
            result.unchanged += 1
            if previous[2] == "bad":
                result.previously_bad.append((str(path), previous[3] or ""))
            continue
        # json_size is read once, by the ingest under its lock (pipeline._load), not by every plan.
        result.todo.append(Pending(str(path), info.st_size, info.st_mtime_ns))
    return result


def json_size(path: str | Path) -> int:
    """Uncompressed size: gzip stores it (mod 4 GiB) in its last 4 bytes."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            if handle.read(2) != b"\x1f\x8b" or size < 18:
                return size
            handle.seek(-4, os.SEEK_END)
            stored = int.from_bytes(handle.read(4), "little")
    except OSError:
        return 0  # unreadable: the Python reader reports it
    if stored > size * 1032 or size >= (1 << 32):
        # Deflate cannot expand more than 1032:1, so a cut file's trailer is garbage.
        return min(size * 10, tuning.MAX_OBJECT_SIZE - 1)
    return stored
