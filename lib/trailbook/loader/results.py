"""What reading gives: per-file results, the whole-source result, and the bad-record error."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MAX_REASONS = 5  # reasons kept per file for bad records and for notes (the counts are always exact)


class BadRecord(ValueError):
    """A record that cannot become a table row; the message is the reason."""


@dataclass
class FileRead:
    """What one file gave: canonical events, or why it was skipped or bad."""

    path: str
    shape: str = ""  # records | array | event | lookup-events | wrapped | digest | bad (joined by '+')
    events: list[dict] = field(default_factory=list)
    bad_records: int = 0
    bad_record_reasons: list[str] = field(default_factory=list)
    error: str | None = None  # set when the whole file is bad
    # Records loaded after a repair (invalid UTF-8 replaced with U+FFFD), and what was repaired.
    repaired_records: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def is_bad(self) -> bool:
        return self.error is not None

    @property
    def is_digest(self) -> bool:
        return self.shape == "digest"

    def add_bad_record(self, reason: str) -> None:
        self.bad_records += 1
        if len(self.bad_record_reasons) < MAX_REASONS:
            self.bad_record_reasons.append(reason)

    def add_note(self, note: str) -> None:
        if len(self.notes) < MAX_REASONS:
            self.notes.append(note)


@dataclass
class Discovered:
    files: list[Path]
    ignored: list[Path]  # non-JSON files found while walking folders (LICENSE, README, ...)


@dataclass
class LoadResult:
    """Everything read from a source, held in memory (small data, notebooks, tests)."""

    events: list[dict]
    files: list[FileRead]  # per file, with its events list emptied to avoid holding them twice
    ignored: list[Path]

    @property
    def bad_files(self) -> list[tuple[str, str]]:
        return [(f.path, f.error or "") for f in self.files if f.is_bad]

    @property
    def digest_files(self) -> list[str]:
        return [f.path for f in self.files if f.is_digest]

    @property
    def bad_records(self) -> int:
        return sum(f.bad_records for f in self.files)

    @property
    def repaired_records(self) -> int:
        return sum(f.repaired_records for f in self.files)
