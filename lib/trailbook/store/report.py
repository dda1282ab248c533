"""What one ingest did, for the CLI, notebooks and the report manifest."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Named = list[tuple[str, str]]  # (path, reason)


@dataclass
class IngestReport:
    store: str = ""
    files_seen: int = 0
    files_new: int = 0  # new or changed files read in this run
    files_skipped_unchanged: int = 0
    files_ignored: int = 0  # non-JSON files met while walking folders (README, LICENSE, ...)
    digest_files: int = 0
    events_read: int = 0  # usable events in the files read
    events_loaded: int = 0
    duplicates_removed: int = 0
    bad_files: Named = field(default_factory=list)
    previously_bad_files: Named = field(default_factory=list)  # unchanged, not re-read
    bad_records: int = 0
    files_with_bad_records: Named = field(default_factory=list)  # (path, what was wrong)
    repaired_files: Named = field(default_factory=list)  # (path, what was repaired; every record loaded)
    # Never opened: broken symlinks, FIFOs, sockets, devices, empty or vanished files.
    skipped_files: Named = field(default_factory=list)
    parquet_files_written: int = 0
    # The automatic compaction at the end of the ingest (compact.after_ingest).
    partitions_compacted: int = 0
    parquet_files_compacted: int = 0  # files rewritten into one per compacted partition
    compaction_failed: Named = field(default_factory=list)  # (partition, why it was left as it was)
    seconds: float = 0.0

    def summary(self) -> list[str]:
        """Human-readable lines for the CLI and notebooks."""
        lines = [
            f"store: {self.store}",
            f"files: {self.files_seen} seen, {self.files_new} new or changed, "
            f"{self.files_skipped_unchanged} unchanged (skipped), {self.digest_files} digest (skipped)",
            f"events: {self.events_read} read, {self.events_loaded} loaded, "
            f"{self.duplicates_removed} duplicates removed, {self.bad_records} bad records",
            f"parquet files written: {self.parquet_files_written}",
            f"time: {self.seconds:.1f} s",
        ]
        if self.partitions_compacted:
            lines.append(f"compacted {self.partitions_compacted} partitions "
                         f"({self.parquet_files_compacted} files into {self.partitions_compacted})")
        if self.files_ignored:
            lines.append(f"ignored {self.files_ignored} non-JSON files found in folders")
        for title, named in (("bad files", self.bad_files),
                             ("files with bad records, the rest of each loaded", self.files_with_bad_records),
                             ("files repaired, every record loaded", self.repaired_files),
                             ("previously bad files, unchanged", self.previously_bad_files),
                             ("skipped, never opened", self.skipped_files),
                             ("partitions not compacted", self.compaction_failed)):
            if named:
                lines.append(f"{title} ({len(named)}):")
                lines += [f"  {one_line(path)}: {one_line(reason)}" for path, reason in named]
        return lines

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("bad_files", "previously_bad_files", "files_with_bad_records", "repaired_files", "skipped_files",
                     "compaction_failed"):
            data[name] = [list(item) for item in getattr(self, name)]
        return data


def one_line(text: str) -> str:
    """A file name or reason on one line: control characters (a newline in a hostile file name
    could forge summary lines) are shown escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
