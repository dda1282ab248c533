"""Source files as tagged newline-delimited lines, DuckDB's fastest input.

Python threads gunzip a batch of files and append each compact ``{"Records": [...]}`` document as
one line, tagged with its place in the batch, to temporary files; a file of any other shape is
read by ``loader.read_file`` and its canonical records join the same files in lines of about one
real CloudTrail file, so one code path types every row (benchmarks/README.md measured why).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import orjson

from .. import loader
from . import tuning
from .discover import Pending

_inflate: ModuleType = zlib
try:  # ISA-L inflates about twice as fast as zlib (benchmarks/README.md); zlib is the fallback
    from isal import isal_zlib

    _inflate = isal_zlib
except ImportError:  # pragma: no cover - isal is a declared dependency
    pass

LineFile = tuple[Path, int]  # a temporary line file and its longest line
Namer = Callable[[int], Path]


@dataclass
class Work:
    """Where one batch's temporary line files go."""

    folder: Path
    pool: ThreadPoolExecutor
    batch_id: str
    runs: int = 0

    def file_namer(self, worker: int) -> Namer:
        """Names for one worker's line files (a worker starts a new file every SCAN_BYTES)."""
        self.runs += 1
        prefix = f"{self.batch_id}-{self.runs}-{worker}"
        return lambda number: self.folder / f"{prefix}-{number}.ndjson"


@dataclass
class Prepared:
    """Temporary line files being written for a set of items (threads of the read pool)."""

    writing: list[Future]

    def finish(self) -> list[LineFile]:
        """Every non-empty line file with its longest line."""
        return [(path, longest) for future in self.writing for path, longest in future.result()
                if path.stat().st_size]


def prepare(items: list[Pending], work: Work) -> Prepared:
    """Start gunzipping and tagging items into temporary lines, one file per read thread."""
    chunks = [chunk for chunk in split([(item.order, item) for item in items], tuning.READ_THREADS) if chunk]
    return Prepared([work.pool.submit(write_lines, chunk, work.file_namer(n))
                     for n, chunk in enumerate(chunks)])


def split(items: list[tuple[int, Pending]], parts: int) -> list[list[tuple[int, Pending]]]:
    """Contiguous runs of about equal uncompressed size (contiguous keeps partitions together)."""
    total = sum(max(item.json_size, 1) for _, item in items)
    chunks: list[list[tuple[int, Pending]]] = [[] for _ in range(parts)]
    done = 0
    for entry in items:
        chunks[min(parts - 1, done * parts // max(total, 1))].append(entry)
        done += max(entry[1].json_size, 1)
    return chunks


def write_lines(items: list[tuple[int, Pending]], name: Namer) -> list[LineFile]:
    """Write each file as tagged Records lines (thread worker): line files of about SCAN_BYTES,
    each with its longest line."""
    files: list[LineFile] = []
    out = None
    try:
        for index, item in items:
            for line in _lines(item, index):
                length = sum(len(piece) for piece in line)
                if out is None or (out.tell() and out.tell() + length > tuning.SCAN_BYTES):
                    if out is not None:
                        out.close()
                    path = name(len(files))
                    out = open(path, "wb")  # noqa: SIM115 - closed above or below
                    files.append((path, 0))
                out.writelines(line)
                files[-1] = (files[-1][0], max(files[-1][1], length))
    finally:
        if out is not None:
            out.close()
    return files


def _lines(item: Pending, index: int) -> Iterator[tuple[bytes | memoryview, ...]]:
    """The item as lines of pieces: ``{"_file":index,"_acct":..,"_region":..,"Records":[...]}``."""
    where = loader.path_partitions(item.path)
    tag = (b'{"_file":' + str(index).encode() + b',"_acct":' + orjson.dumps(where["account"])
           + b',"_region":' + orjson.dumps(where["region"]) + b",")
    if not item.python_reader:
        document = _compact_records(item)
        if document is not None:
            yield (tag, memoryview(document)[1:], b"\n")
            return
        item.python_reader = True
    result = loader.read_file(item.path)
    if result.is_digest:
        item.status, item.reason = "digest", "CloudTrail digest (digestStartTime)"
        return
    if result.is_bad:
        item.status, item.reason = "bad", result.error
        return
    item.bad_records = result.bad_records
    item.bad_reasons = list(result.bad_record_reasons)
    item.notes = list(result.notes)
    yield from _event_lines(tag, result.events)


def _event_lines(tag: bytes, events: list[dict]) -> Iterator[tuple[bytes, ...]]:
    """Events cut into lines of about TEMP_LINE_BYTES; ``_base`` numbers a line's first record."""
    chunk: list[bytes] = []
    size = done = 0
    for event in events:
        text = orjson.dumps(event)
        if chunk and size + len(text) > tuning.TEMP_LINE_BYTES:
            yield (tag, b'"_base":%d,"Records":[' % done, b",".join(chunk), b"]}\n")
            done += len(chunk)
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
    if chunk:
        yield (tag, b'"_base":%d,"Records":[' % done, b",".join(chunk), b"]}\n")


def _compact_records(item: Pending) -> bytes | None:
    """The file's bytes if it is one compact ``{"Records":[...]}`` line, else None.

    None sends the file to the Python reader, which reads every other shape and names what is
    wrong with a bad file (truncated gzip, malformed JSON, ...).
    """
    if item.json_size >= tuning.MAX_BIG_OBJECT_SIZE:
        return None
    try:
        with open(item.path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if data[:2] == b"\x1f\x8b":
        inflate = _inflate.decompressobj(wbits=31)
        try:
            data = inflate.decompress(data)
        except _inflate.error:
            return None
        if not inflate.eof or inflate.unused_data:  # truncated, or several gzip members
            return None
    if not data.startswith(b'{"Records":['):
        return None
    data = data.rstrip(b" \t\r\n")
    if not data.endswith(b"}") or b"\n" in data or len(data) >= tuning.MAX_BIG_OBJECT_SIZE:
        return None
    return data
