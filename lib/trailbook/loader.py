"""Read every shape CloudTrail events come in, and say exactly what could not be read.

Shapes (one per file, or per line for JSON Lines):

- ``records``: S3 delivery files ``{"Records": [...]}`` (``.json`` or ``.json.gz``), in
  ``AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/``; compact or pretty-printed.
- ``array``: a JSON array of events (Stratus Red Team detonation logs).
- ``event``: newline-delimited events, including Logstash output, where ``@timestamp`` stands in
  for ``eventTime`` (both Logstash keys are dropped).
- ``lookup-events``: ``aws cloudtrail lookup-events`` output, each event a JSON string under
  ``Events[].CloudTrailEvent``.
- ``wrapped``: JSON Lines whose event sits under ``event`` or ``log`` (the awsdocs, Panther and
  TrailDiscover extracts used as test data).
- ``digest``: ``CloudTrail-Digest`` files, skipped and counted.

A file that cannot be read (corrupt gzip, truncated or empty JSON, JSON that is not CloudTrail) is
reported with a reason and never raises. A record that is not an object, lacks ``eventName`` or
``eventTime``, or does not fit the table schema is a bad record of its file.

Records come out canonical: top-level keys in CloudTrail's camelCase, ``eventTime`` as
``YYYY-MM-DDTHH:MM:SSZ`` (UTC), nested blobs untouched (so ``Host`` and ``host`` both survive).
"""

from __future__ import annotations

import glob as globlib
import gzip
import os
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Union

import orjson

from trailbook import schema

Source = Union[str, Path, Iterable[str | Path]]

# Folder walks pick up only JSON-ish files; anything else is counted as ignored, not read.
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")
MAX_REASONS = 5  # bad-record reasons kept per file (the count is always exact)

# Regex texts shared with the store's SQL (DuckDB's RE2 reads them the same way).
CANONICAL_TIME_RE = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ"
PATH_ACCOUNT_RE = r"AWSLogs/(?:o-[a-z0-9]+/)?(\d{12})/CloudTrail/"
PATH_REGION_RE = r"AWSLogs/(?:o-[a-z0-9]+/)?\d{12}/CloudTrail/([a-z0-9-]+)/"

_CANONICAL_TIME = re.compile(CANONICAL_TIME_RE)
_ISO_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_PATH_ACCOUNT = re.compile(PATH_ACCOUNT_RE)
_PATH_REGION = re.compile(PATH_REGION_RE)
_PATH_ORG = re.compile(r"AWSLogs/(o-[a-z0-9]+)/\d{12}/CloudTrail/")
_PATH_DATE = re.compile(r"/CloudTrail/[a-z0-9-]+/(\d{4})/(\d{2})/(\d{2})/")
# Keys that mark an object as a CloudTrail event (partial hand-written events included).
_EVENT_KEYS = {"eventname", "eventtime", "eventsource", "eventversion", "eventid", "useridentity",
               "@timestamp"}
_LOGSTASH_KEYS = ("@timestamp", "@version")
_CAMEL_BY_LOWER = schema.CAMEL  # its keys are the lower-cased camelCase keys


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


# ---------------------------------------------------------------- finding files

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
        text = str(item)
        if globlib.has_magic(text):
            matches = sorted(globlib.glob(text, recursive=True))
            if not matches:
                raise FileNotFoundError(f"glob matched nothing: {text}")
            paths = [Path(m) for m in matches]
        else:
            path = Path(text).expanduser()
            if not path.exists():
                raise FileNotFoundError(f"no such file or folder: {text}")
            paths = [path]
        for path in paths:
            if path.is_dir():
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
            elif path.is_file():
                files[path.resolve()] = None  # named explicitly: always read
    return Discovered(sorted(files), sorted(p for p in ignored if p not in files))


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


# ---------------------------------------------------------------- reading files

def read_bytes(path: str | Path) -> bytes:
    """The file's content, gunzipped when it is gzip (by magic bytes, not by name)."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise _FileError(f"corrupt or truncated gzip: {exc}") from exc
    return data


class _FileError(Exception):
    pass


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
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        return _bad(result, "empty file")

    shapes: list[str] = []
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as whole_error:
        # Not one JSON document: try JSON Lines (one document per line).
        if not _read_lines(data, result, shapes, whole_error):
            return result
    else:
        shape = _take_document(document, result, where="")
        if shape is None:
            return _bad(result, _not_cloudtrail(document))
        shapes.append(shape)

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
    return result


def _read_lines(data: bytes, result: FileRead, shapes: list[str], whole_error: Exception) -> bool:
    """Parse data as JSON Lines into result; False (and result marked bad) if it is not.

    The first line must parse: otherwise the file is one malformed (e.g. truncated) document,
    and the whole-document error is the reason.
    """
    first_foreign: object = None
    lines = [(n, line) for n, line in enumerate(data.splitlines(), start=1) if line.strip()]
    for index, (number, line) in enumerate(lines):
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if index == 0:
                _bad(result, f"malformed or truncated JSON: {whole_error}")
                return False
            result.add_bad_record(f"line {number}: malformed JSON: {exc}")
            continue
        shape = _take_document(document, result, where=f"line {number}: ")
        if shape is None:
            if first_foreign is None:
                first_foreign = document
            result.add_bad_record(f"line {number}: {_not_cloudtrail(document)}")
        else:
            shapes.append(shape)
    if not shapes:
        _bad(result, _not_cloudtrail(first_foreign))
        result.bad_records = 0
        result.bad_record_reasons.clear()
        return False
    return True


def _take_document(document: object, result: FileRead, where: str) -> str | None:
    """Add the events of one JSON document to result; its shape, or None if not CloudTrail."""
    if isinstance(document, list):
        items = [_unwrap(item) for item in document]
        if items and not any(isinstance(i, dict) and _looks_like_event(i) for i in items):
            return None
        for index, item in enumerate(items):
            _take_record(item, result, f"{where}[{index}]: ")
        return "array"
    if not isinstance(document, dict):
        return None
    if "digestStartTime" in document or "digestEndTime" in document:
        return "digest"
    records = document.get("Records")
    if isinstance(records, list):
        for index, item in enumerate(records):
            _take_record(item, result, f"{where}Records[{index}]: ")
        return "records"
    events = document.get("Events")
    if isinstance(events, list) and (not events or _looks_like_lookup(events)):
        for index, item in enumerate(events):
            _take_record(_from_lookup(item), result, f"{where}Events[{index}]: ")
        return "lookup-events"
    if _looks_like_event(document):
        _take_record(document, result, where)
        return "event"
    for wrapper in ("event", "log"):
        inner = document.get(wrapper)
        if isinstance(inner, dict) and _looks_like_event(inner):
            _take_record(inner, result, f"{where}{wrapper}: ")
            return "wrapped"
    return None


def _looks_like_event(obj: dict) -> bool:
    return any(key.lower() in _EVENT_KEYS for key in obj)


def _looks_like_lookup(events: list) -> bool:
    return any(isinstance(e, dict) and "CloudTrailEvent" in e for e in events)


def _unwrap(item: object) -> object:
    """Array items may themselves be wrappers; take the inner event."""
    if isinstance(item, dict) and not _looks_like_event(item):
        for wrapper in ("event", "log"):
            if isinstance(item.get(wrapper), dict):
                return item[wrapper]
    return item


def _from_lookup(item: object) -> object:
    if not isinstance(item, dict):
        return item
    text = item.get("CloudTrailEvent")
    if not isinstance(text, str):
        return BadRecord("lookup-events entry without a CloudTrailEvent string")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return BadRecord(f"CloudTrailEvent is not JSON: {exc}")


def _take_record(raw: object, result: FileRead, where: str) -> None:
    try:
        if isinstance(raw, BadRecord):
            raise raw
        result.events.append(normalise_record(raw))
    except BadRecord as exc:
        result.add_bad_record(f"{where}{exc}".strip())


def _bad(result: FileRead, reason: str) -> FileRead:
    result.shape = "bad"
    result.error = reason
    result.events.clear()
    return result


def _not_cloudtrail(document: object) -> str:
    if isinstance(document, dict):
        keys = ", ".join(list(document)[:8]) or "none"
        return f"not CloudTrail: JSON object without Records, Events or event fields (keys: {keys})"
    if isinstance(document, list):
        return "not CloudTrail: JSON array without event objects"
    return f"not CloudTrail: top-level JSON {type(document).__name__}"


# ---------------------------------------------------------------- records

def normalise_record(raw: object) -> dict:
    """The canonical record: camelCase top-level keys, ISO eventTime, schema-shaped values.

    Raises BadRecord with the reason when the record cannot become a row.
    """
    if not isinstance(raw, dict):
        raise BadRecord(f"record is a {type(raw).__name__}, not an object")
    record: dict = {}
    for key, value in raw.items():
        if key in _LOGSTASH_KEYS:
            continue
        canonical = _CAMEL_BY_LOWER.get(key.lower(), key)
        if canonical in record:
            raise BadRecord(f"key {key!r} appears twice (differing only by case)")
        record[canonical] = value
    if record.get("eventTime") is None and "@timestamp" in raw:
        record["eventTime"] = raw["@timestamp"]  # Logstash keeps the event time here
    if not isinstance(record.get("eventName"), str) or not record["eventName"]:
        raise BadRecord("no eventName")
    if record.get("eventTime") is None:
        raise BadRecord("no eventTime")
    record["eventTime"] = normalise_event_time(record["eventTime"])
    for name, typ in schema.COLUMNS:
        camel = schema.CAMEL[name]
        if record.get(camel) is not None:
            _check_type(record[camel], typ, camel)
    return record


def normalise_event_time(value: object) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, so string order is time order; BadRecord if unparseable.

    Accepts CloudTrail's own form, fractions (Logstash ``.000Z``, nanoseconds), a space instead of
    ``T``, and explicit offsets. A time without a zone is taken as UTC, as CloudTrail writes UTC.
    """
    if not isinstance(value, str):
        raise BadRecord(f"eventTime is a {type(value).__name__}, not an ISO-8601 string")
    text = value.strip()
    if _CANONICAL_TIME.fullmatch(text):
        try:
            datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")  # the right shape can still be 30 February
        except ValueError as exc:
            raise BadRecord(f"eventTime {value!r}: {exc}") from exc
        return text
    match = _ISO_TIME.fullmatch(text)
    if not match:
        raise BadRecord(f"eventTime {value!r} is not ISO-8601")
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError as exc:
        raise BadRecord(f"eventTime {value!r}: {exc}") from exc
    if zone and zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_type(value: object, typ: object, where: str) -> None:
    """Raise BadRecord where DuckDB could not cast the value to the column type.

    Scalars and JSON blobs accept anything (objects become JSON text); structs need objects,
    arrays lists, and struct keys must not collide case-insensitively.
    """
    if value is None or typ in (schema.STRING, schema.JSON):
        return
    kind = typ[0]
    if kind == "struct":
        if not isinstance(value, dict):
            raise BadRecord(f"{where} is a {type(value).__name__}, not an object")
        fields = dict(typ[1])
        seen: set[str] = set()
        for key, inner in value.items():
            lower = key.lower()
            if lower in seen:
                raise BadRecord(f"{where}.{key} appears twice (differing only by case)")
            seen.add(lower)
            if lower in fields:
                _check_type(inner, fields[lower], f"{where}.{key}")
    elif kind == "array":
        if not isinstance(value, list):
            raise BadRecord(f"{where} is a {type(value).__name__}, not a list")
        for index, item in enumerate(value):
            _check_type(item, typ[1], f"{where}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            raise BadRecord(f"{where} is a {type(value).__name__}, not an object")


# ---------------------------------------------------------------- whole sources

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
