"""Finding files: folders, files and globs expanded, and what an S3 delivery path encodes."""

from __future__ import annotations

import glob as globlib
import os
import re
from collections.abc import Iterable
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
    items = [source] if isinstance(source, (str, Path)) else list(source)
    if not items:
        raise ValueError("no source given")
    files: dict[Path, None] = {}
    ignored: dict[Path, None] = {}
    for item in items:
        for path in _expand(str(item)):
            if path.is_dir():
                _walk(path, files, ignored)
            elif path.is_file():
                files[path.resolve()] = None  # named explicitly: always read
    return Discovered(sorted(files), sorted(p for p in ignored if p not in files))


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


def _walk(path: Path, files: dict[Path, None], ignored: dict[Path, None]) -> None:
    root = path.resolve()
    # os.walk (scandir) and one resolve per root: per-file resolve() cost more than
    # reading a small CloudTrail file. Hidden folders and files are skipped.
    for folder, dirs, names in os.walk(root):  # symlinked folders are not followed
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if name.startswith("."):
                continue
            child = Path(folder, name)
            if not child.is_file():
                continue
            target = files if name.lower().endswith(JSON_SUFFIXES) else ignored
            target[child] = None


def is_digest_path(path: str | Path) -> bool:
    """CloudTrail writes digests under .../CloudTrail-Digest/... as <acct>_CloudTrail-Digest_...."""
    path = Path(path)
    return "CloudTrail-Digest" in path.parts or "_CloudTrail-Digest_" in path.name


def path_partitions(path: str | Path) -> dict[str, str | None]:
    """Org, account, region and 'yyyy/MM/dd' encoded in an S3 delivery path (None when absent)."""
    text = Path(path).as_posix()

    def first(pattern: re.Pattern) -> str | None:
        match = pattern.search(text)
        return "/".join(match.groups()) if match else None

    return {"org": first(_PATH_ORG), "account": first(_PATH_ACCOUNT),
            "region": first(_PATH_REGION), "date": first(_PATH_DATE)}
