"""One record made canonical: CloudTrail's key names, a strict eventTime, schema-shaped values,
and an eventID for every record.

CloudTrail gives every event an eventID. A record without one (hand-written, exported, or
tampered) gets a content id, ``sha256:`` + the hex SHA-256 of the canonical record's JSON
(keys sorted at every level, compact, UTF-8; the record as canonicalised here, without
eventID). The store deduplicates on the eventID as it does for any record, so an exact copy of
an id-less event loads once, and id-less events that differ in any field (12 failed logins in
one second from 12 addresses) all load.
"""

from __future__ import annotations

import hashlib

import orjson

from trailbook import schema

from .results import BadRecord
from .times import normalise_event_time

CONTENT_ID_PREFIX = "sha256:"
_LOGSTASH_KEYS = ("@timestamp", "@version")
_CAMEL_BY_LOWER = schema.CAMEL  # its keys are the lower-cased camelCase keys


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
    _give_id(record)
    return record


def content_id(record: dict) -> str:
    """The documented content hash of a record (see the module docstring)."""
    body = {key: value for key, value in record.items() if key != "eventID"}
    return CONTENT_ID_PREFIX + hashlib.sha256(_encode(body, orjson.OPT_SORT_KEYS)).hexdigest()


def _give_id(record: dict) -> None:
    """Set a content id when eventID is missing or empty; check every record re-encodes."""
    if record.get("eventID") in (None, ""):
        record["eventID"] = content_id(record)
    else:
        _encode(record, 0)  # the store re-encodes every record: fail here, as a bad record


def _encode(record: dict, option: int) -> bytes:
    try:
        return orjson.dumps(record, option=option)
    except TypeError as exc:  # orjson.JSONEncodeError: nesting over 254 levels, or an odd value
        raise BadRecord(f"cannot be stored as JSON: {exc}") from exc


def _check_type(value: object, typ: object, where: str) -> None:
    """Raise BadRecord where DuckDB could not cast the value to the column type.

    Scalars and JSON blobs accept anything (objects become JSON text); structs need objects,
    arrays lists, and struct keys must not collide case-insensitively.
    """
    if value is None or not isinstance(typ, tuple):  # STRING and JSON take anything
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
