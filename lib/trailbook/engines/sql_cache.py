"""Translated SQL kept between runs: translating a detection to DuckDB (sqlglot parses and types
it) cost more than running it on a day of an organization's trail (benchmarks/README.md).

What changes from one run to the next is the window: its ISO-8601 times and partition days. They
are swapped for stand-ins before the lookup, so yesterday's translation serves today's run, and put
back afterwards. A stand-in that does not come back verbatim, or a text that already holds one,
means the query is translated as it is, uncached. Entries are keyed by the translator's own source
and sqlglot's version, so a change to either starts afresh; they live in <home>/cache/duckdb-sql.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from .. import paths

# A quoted ISO-8601 time (CloudTrail's eventtime text) or a partition day, as `engines.sql` renders them.
_WINDOW_LITERAL = re.compile(r"'(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z|\d{4}/\d{2}/\d{2})'")
_STAND_IN_YEAR = "1111"
_LIMIT = 1440
KEEP = 4000  # entries: past this, the least recently written are deleted (a translator change strands old ones)


def folder() -> Path:
    return paths.home() / "cache" / "duckdb-sql"


def stand_in(number: int, literal: str) -> str:
    """The number-th stand-in of the literal's shape (a time, or a day)."""
    if "T" in literal:
        return f"{_STAND_IN_YEAR}-01-01T{number // 60:02d}:{number % 60:02d}:00Z"
    return f"{_STAND_IN_YEAR}/{number // 28 + 1:02d}/{number % 28 + 1:02d}"


def _swap(text: str, pairs: list[tuple[str, str]]) -> str:
    table = {f"'{old}'": f"'{new}'" for old, new in pairs}
    if not table:
        return text
    pattern = re.compile("|".join(re.escape(key) for key in sorted(table, key=len, reverse=True)))
    return pattern.sub(lambda m: table[m.group(0)], text)


def translated(sql: str, translate: Callable[[str], str]) -> str:
    """``translate(sql)``, from the cache when the same query with another window was seen."""
    literals = list(dict.fromkeys(m.group(1) for m in _WINDOW_LITERAL.finditer(sql)))
    if len(literals) > _LIMIT or f"'{_STAND_IN_YEAR}-01-01T" in sql or f"'{_STAND_IN_YEAR}/" in sql:
        return translate(sql)
    pairs = [(literal, stand_in(n, literal)) for n, literal in enumerate(literals)]
    normal = _swap(sql, pairs)
    out = _lookup(normal, translate)
    if any(out.count(f"'{new}'") != normal.count(f"'{new}'") for _, new in pairs):
        return translate(sql)  # the translator rewrote a window literal: its answer is for that text only
    return _swap(out, [(new, old) for old, new in pairs])


def _lookup(normal: str, translate: Callable[[str], str]) -> str:
    who = f"{getattr(translate, '__module__', '')}.{getattr(translate, '__qualname__', type(translate).__name__)}"
    key = hashlib.sha256(f"{fingerprint()}\n{who}\n{normal}".encode()).hexdigest()
    path = folder() / f"{key}.sql"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    out = translate(normal)
    try:  # a cache that cannot be written only costs the next run its time
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out_file:
                out_file.write(out)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        _prune(path.parent)
    except OSError:
        pass
    return out


def _prune(where: Path) -> None:
    entries = list(os.scandir(where))
    if len(entries) <= KEEP:
        return
    entries.sort(key=lambda entry: entry.stat().st_mtime_ns)
    for entry in entries[: len(entries) - KEEP * 3 // 4]:
        Path(entry.path).unlink(missing_ok=True)


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """sqlglot's version and the translator's source (translate/ and the local engine)."""
    import sqlglot

    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(sqlglot.__version__.encode())
    for source in sorted([*here.parent.joinpath("translate").glob("*.py"), here / "local.py", Path(__file__)]):
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()
