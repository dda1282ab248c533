"""What a user names as data, resolved once into a ready local store.

A source is a folder, file or glob of CloudTrail files, or a named source (`demo`, the bundled
demo organisation). `prepare` is the one explicit ingest step: it resolves the source, picks
the store (the one named, or one per source under `paths.home()`), ingests what is new, and
records in the store where its data came from. Engines only open stores; reports prepare the
store once and hand its path to every notebook.

A store remembers its source in `source.json`, with the IAM snapshot that belongs to the same
data when there is one (the demo's), so later readers need not know how it was made.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import paths
from .errors import UsageError

SOURCE_FILE = "source.json"


@dataclass(frozen=True)
class Named:
    """A named source: its CloudTrail files, its own store, and its IAM snapshot (if any)."""

    files: Path
    store: Path
    iam_snapshot: Path | None


def _demo() -> Named:
    from . import demo

    made = demo.ensure()
    return Named(files=made["cloudtrail"], store=made["store"], iam_snapshot=made["iam"])


# Names a user can give instead of a path.
NAMED: dict[str, Callable[[], Named]] = {"demo": _demo}


@dataclass(frozen=True)
class Prepared:
    """A store ready to open, and what is known of its data."""

    store: Path
    source: str | None  # what was ingested: an absolute path or glob, or a source name
    ingest: Any = None  # store.IngestReport of this preparation, None when nothing was ingested
    iam_snapshot: Path | None = None  # the IAM snapshot of the same data, when the source has one

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "store": str(self.store),
                "iam_snapshot": str(self.iam_snapshot) if self.iam_snapshot else None,
                "ingest": self.ingest.to_dict() if self.ingest is not None else None}


def is_named(value: Any) -> bool:
    return isinstance(value, str) and value in NAMED


def absolute(value: str) -> str:
    """A path made absolute (so a record names exact files); names and globs' folders kept as given."""
    if not value or is_named(value):
        return value
    return str(Path(value).expanduser().resolve())


def default_store(source: Any) -> Path:
    """The store for a source when none is named: one per source path, under `paths.home()`.

    Keyed by the source's absolute path, so two log folders never share a store (and nothing is
    written next to the user's logs).
    """
    text = str(source)
    resolved = text if any(ch in text for ch in "*?[") else str(Path(text).expanduser().resolve())
    digest = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:12]
    label = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in Path(resolved.rstrip("/*")).name)[:40]
    return paths.home() / "stores" / f"{label or 'source'}-{digest}"


def prepare(source: Any = None, store: Any = None, *, progress: bool = False) -> Prepared:
    """Resolve `source` and `store` into a ready store, ingesting what is new in the source.

    With no source, the store must already exist. Raises UsageError for a missing source or store.
    """
    from . import store as store_mod

    if not source:
        if not store:
            raise UsageError("give a source (CloudTrail files, or 'demo') or an existing store")
        return opened(store)
    named_snapshot = None
    if is_named(source):
        named = NAMED[source]()
        files, store = named.files, store or named.store
        named_snapshot = named.iam_snapshot
        label = str(source)
    else:
        files = source
        label = absolute(str(source)) if isinstance(source, (str, Path)) else str(source)
    store_dir = Path(store).expanduser() if store else default_store(source)
    try:
        report = store_mod.ingest(files, store_dir, progress=progress)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    snapshot = named_snapshot or _companion_snapshot(files)
    _remember(store_dir, label, snapshot)
    return Prepared(store_dir, label, report, snapshot)


def opened(store: Any) -> Prepared:
    """An existing store, with what it remembers of its source."""
    from . import store as store_mod

    store_dir = Path(store).expanduser()
    if not store_mod.db_path(store_dir).exists():
        raise UsageError(f"no local store at {store_dir}: run `trailbook ingest SOURCE --store {store_dir}` first")
    remembered = _recall(store_dir)
    snapshot = remembered.get("iam_snapshot")
    return Prepared(store_dir, remembered.get("source"), None, Path(snapshot) if snapshot else None)


def _companion_snapshot(files: Any) -> Path | None:
    """The IAM snapshot generated with these files (a demo written with `trailbook demo --out`)."""
    if not isinstance(files, (str, Path)):
        return None
    from . import demo

    return demo.snapshot_beside(Path(files).expanduser())


def _remember(store_dir: Path, source: str, iam_snapshot: Path | None) -> None:
    record = {"source": source, "iam_snapshot": str(iam_snapshot) if iam_snapshot else None}
    if _recall(store_dir) == record:  # a reader of an unchanged store writes nothing
        return
    target = store_dir / SOURCE_FILE
    temporary = target.with_suffix(f".tmp-{os.getpid()}")
    temporary.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, target)


def _recall(store_dir: Path) -> dict[str, Any]:
    try:
        loaded = json.loads((store_dir / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}
