"""Reading one file of any shape, and whole sources into memory. Never raises for bad content.

Bytes are repaired before parsing where that keeps good records: a UTF-8 byte-order mark is
dropped, and invalid UTF-8 is replaced with U+FFFD (the record still loads, so no byte can hide
an event; the file is named in ``notes`` with the count). A complete ``{"Records": [...]}``
document that does not parse (a record nested over 1024 levels, a raw control character) is cut
into its records without parsing them, so only the broken record is bad; a truncated document
stays a bad file.
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import orjson

from .find import Source, discover, is_digest_path
from .results import FileRead, LoadResult
from .shapes import not_cloudtrail, take_document, take_record

_BOM = b"\xef\xbb\xbf"
_REPLACEMENT = "\ufffd".encode()
_RECORDS_START = re.compile(rb'\s*\{\s*"Records"\s*:\s*\[')
_RECORDS_END = re.compile(rb"\s*\}\s*")
# A JSON string (unrolled loop: fast on long strings) or one structural character.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')


_UNSET = object()


class _FileError(Exception):
    pass


def read_bytes(path: str | Path) -> bytes:
    """The file's content, gunzipped when it is gzip (by magic bytes, not by name)."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise _FileError(f"corrupt or truncated gzip: {exc}") from exc
    return data


def read_file(path: str | Path) -> FileRead:
    """Read one file of any supported shape. Never raises for bad content."""
    result = FileRead(path=str(path))
    if is_digest_path(path):
        result.shape = "digest"
        return result
    try:
        data = read_bytes(path)
    except _FileError as exc:
        return _bad(result, str(exc))
    except OSError as exc:
        return _bad(result, f"cannot read: {exc}")
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if not data.strip():
        return _bad(result, "empty file")
    data, replaced = _valid_utf8(data)
    shapes: list[str] = []
    if not _read_document(data, result, shapes):
        return result
    result.shape = "+".join(dict.fromkeys(shapes))
    if result.shape == "digest":
        result.events.clear()
    elif not result.events and result.bad_records:
        # Nothing usable at all: the file is not CloudTrail (e.g. labels with eventName only).
        examples = "; ".join(result.bad_record_reasons[:2])
        count = result.bad_records
        result.bad_records = 0
        result.bad_record_reasons.clear()
        return _bad(result, f"no usable CloudTrail event in {count} records ({examples})")
    if replaced:
        _note_repairs(result, replaced)
    return result


def _read_document(data: bytes, result: FileRead, shapes: list[str]) -> bool:
    """Parse data as one document, or its records one by one, or JSON Lines; False if bad."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as whole_error:
        # A Records document that is whole but has a bad record (too deep, a raw control
        # character): its records one by one, so only that record is bad.
        pieces = _split_records(data)
        if pieces is not None:
            _take_pieces(pieces, result)
            shapes.append("records")
            return True
        # Not one JSON document: try JSON Lines (one document per line).
        return _read_lines(data, result, shapes, whole_error)
    shape = take_document(document, result, where="")
    if shape is None:
        _bad(result, not_cloudtrail(document))
        return False
    shapes.append(shape)
    return True


def _read_lines(data: bytes, result: FileRead, shapes: list[str], whole_error: Exception) -> bool:
    """Parse data as JSON Lines into result; False (and result marked bad) if it is not.

    The first line must parse (unless it is only too deep): otherwise the file is one malformed
    (e.g. truncated) document, and the whole-document error is the reason.
    """
    first_foreign: object = _UNSET
    lines = [(n, line) for n, line in enumerate(data.splitlines(), start=1) if line.strip()]
    for index, (number, line) in enumerate(lines):
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if index == 0 and "depth limit" not in str(exc):
                _bad(result, f"malformed or truncated JSON: {whole_error}")
                return False
            result.add_bad_record(f"line {number}: malformed JSON: {exc}")
            continue
        shape = take_document(document, result, where=f"line {number}: ")
        if shape is None:
            if first_foreign is _UNSET:
                first_foreign = document
            result.add_bad_record(f"line {number}: {not_cloudtrail(document)}")
        else:
            shapes.append(shape)
    if not shapes:
        _bad(result, not_cloudtrail(first_foreign) if first_foreign is not _UNSET
             else f"malformed JSON: {whole_error}")
        result.bad_records = 0
        result.bad_record_reasons.clear()
        return False
    return True


def _split_records(data: bytes) -> list[bytes] | None:
    """The items of a ``{"Records": [...]}`` document as byte slices, found without parsing
    them; None when data is not exactly such a document."""
    start = _RECORDS_START.match(data)
    if start is None:
        return None
    items: list[bytes] = []
    depth, begin = 0, start.end()
    for token in _TOKEN.finditer(data, start.end()):
        char = token.group()
        if char in (b"[", b"{"):
            depth += 1
        elif char in (b"]", b"}") and depth:
            depth -= 1
        elif char == b"]":  # the end of Records: only the closing brace may follow
            items.append(data[begin:token.start()])
            if not _RECORDS_END.fullmatch(data, token.end()):
                return None
            return [item for item in items if item.strip()]
        elif char == b"," and not depth:
            items.append(data[begin:token.start()])
            begin = token.end()
    return None  # truncated


def _take_pieces(pieces: list[bytes], result: FileRead) -> None:
    for index, piece in enumerate(pieces):
        where = f"Records[{index}]: "
        try:
            record = orjson.loads(piece)
        except orjson.JSONDecodeError as exc:
            result.add_bad_record(f"{where}malformed JSON: {exc}")
            continue
        take_record(record, result, where)


def _valid_utf8(data: bytes) -> tuple[bytes, int]:
    """data with invalid UTF-8 replaced by U+FFFD, and how many sequences were replaced."""
    try:
        data.decode("utf-8")
        return data, 0
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "replace")
    repaired = text.encode("utf-8")
    return repaired, repaired.count(_REPLACEMENT) - data.count(_REPLACEMENT)


def _note_repairs(result: FileRead, replaced: int) -> None:
    # Records holding U+FFFD after the repair (exact unless the file had U+FFFD of its own).
    result.repaired_records = sum(_REPLACEMENT in orjson.dumps(event) for event in result.events)
    result.add_note(f"{replaced} invalid UTF-8 byte sequences replaced with U+FFFD "
                    f"in {result.repaired_records} records (loaded)")


def _bad(result: FileRead, reason: str) -> FileRead:
    result.shape = "bad"
    result.error = reason
    result.events.clear()
    return result


def load(source: Source) -> LoadResult:
    """Read every file of a source into memory. For small data; `store.ingest` streams instead."""
    found = discover(source)
    events: list[dict] = []
    files: list[FileRead] = []
    for path in found.files:
        result = read_file(path)
        events.extend(result.events)
        result.events = []
        files.append(result)
    return LoadResult(events=events, files=files, ignored=found.ignored)
