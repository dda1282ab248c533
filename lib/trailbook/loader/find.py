"""Finding files: folders, files and globs expanded, and what an S3 delivery path encodes."""

from __future__ import annotations

import glob as globlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .results import Discovered

Source = str | Path | Iterable[str | Path]

# Folder walks pick up only JSON-ish files; anything else is counted as ignored, not read.
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")

# Regex texts shared with the store's SQL (DuckDB's RE2 reads them the same way).
PATH_ACCOUNT_RE = r"AWSLogs/(?:o-[a-z0-9]+/)?(\d{12})/CloudTrail/"
PATH_REGION_RE = r"AWSLogs/(?:o-[a-z0-9]+/)?\d{12}/CloudTrail/([a-z0-9-]+)/"

_PATH_ACCOUNT = re.compile(PATH_ACCOUNT_RE)
_PATH_REGION = re.compile(PATH_REGION_RE)
_PATH_ORG = re.compile(r"AWSLogs/(o-[a-z0-9]+)/\d{12}/CloudTrail/")
_PATH_DATE = re.compile(r"/CloudTrail/[a-z0-9-]+/(\d{4})/(\d{2})/(\d{2})/")


def discover(source: Source) -> Discovered:
    """Expand folders (recursively), files and globs into a sorted, de-duplicated file list.

    A path that does not exist, or a glob that matches nothing, raises FileNotFoundError:
    a typo must not look like an empty trail.
    """
    found = walk(source)
    return Discovered([Path(p) for p in found.files], [Path(p) for p in found.ignored])


@dataclass
class Walked:
    """`discover`'s answer as absolute path strings, in Path order, and the entries met that are
    not regular files (`special`: broken symlinks, FIFOs, sockets, devices, folders that cannot be
    listed), which are never read."""

    files: list[str]
    ignored: list[str]
    special: list[str]


def walk(source: Source) -> Walked:
    """`discover` without a Path per file: one os.scandir per folder, and strings. Per-file
    Path objects and a stat per entry cost more than reading a small CloudTrail file."""
    items = [source] if isinstance(source, (str, Path)) else list(source)
    if not items:
        raise ValueError("no source given")
    files: dict[str, None] = {}
    ignored: dict[str, None] = {}
    special: dict[str, None] = {}
    for item in items:
        for path in _expand(str(item)):
            if path.is_dir():
                _walk(str(path.resolve()), files, ignored, special)
            elif path.is_file():
                files[str(path.resolve())] = None  # named explicitly: always read
            else:
                special[str(path)] = None
    return Walked(sorted(files, key=_path_order), sorted((p for p in ignored if p not in files), key=_path_order),
                  sorted(special, key=_path_order))


def _path_order(path: str) -> str:
    """Sort key giving PurePosixPath's order (by component), which fixes the source order: the
    separator made the lowest character, so a component sorts before any longer one it begins.
    One string per path, not a list of its parts: an organization's ten days are ~900,000 paths,
    and lists of parts took 1.1 GB."""
    return path.replace("/", "\0")


def _expand(text: str) -> list[Path]:
    if globlib.has_magic(text):
        matches = sorted(globlib.glob(text, recursive=True))
        if not matches:
            raise FileNotFoundError(f"glob matched nothing: {text}")
        return [Path(m) for m in matches]
    path = Path(text).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {text}")
    return [path]


def _walk(root: str, files: dict[str, None], ignored: dict[str, None], special: dict[str, None]) -> None:
    # Hidden folders and files are skipped; symlinked folders are not followed; a symlink to a
    # file is read. DirEntry answers from the folder listing (d_type) without a stat, except for
    # symlinks. A stack, not recursion: a folder nested deeper than Python's recursion limit is
    # walked like any other. A folder that cannot be listed goes to `special`, to be reported.
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            special[folder] = None
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    if not entry.is_symlink():
                        stack.append(entry.path)
                    continue
                regular = entry.is_file()
            except OSError:
                regular = False
            if regular:
                target = files if entry.name.lower().endswith(JSON_SUFFIXES) else ignored
                target[entry.path] = None
            else:
                special[entry.path] = None


def _posix(path: str | Path) -> str:
    """``Path(path).as_posix()``, without building a Path for a string that is already in that
    form: ingest asks this of every file, three times (a Path costs more than the question)."""
    text = os.fspath(path)
    if (os.sep != "/" or not text or "//" in text or "/./" in text or text.startswith("./")
            or text.endswith(("/", "/.")) or text == "."):
        return Path(text).as_posix()
    return text


def is_digest_path(path: str | Path) -> bool:
    """CloudTrail writes digests under .../CloudTrail-Digest/... as <acct>_CloudTrail-Digest_...."""
    text = _posix(path)
    return "/CloudTrail-Digest/" in f"/{text}/" or "_CloudTrail-Digest_" in text.rpartition("/")[2]


def path_partitions(path: str | Path) -> dict[str, str | None]:
    """Org, account, region and 'yyyy/MM/dd' encoded in an S3 delivery path (None when absent)."""
    text = _posix(path)

    def first(pattern: re.Pattern) -> str | None:
        match = pattern.search(text)
        return "/".join(match.groups()) if match else None

    return {"org": first(_PATH_ORG), "account": first(_PATH_ACCOUNT),
            "region": first(_PATH_REGION), "date": first(_PATH_DATE)}
