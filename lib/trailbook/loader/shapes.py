"""The shapes one JSON document can take, and the events each holds.

``records`` (S3 delivery files), ``array`` (a JSON array of events), ``event`` (one event per
document, JSON Lines and Logstash), ``lookup-events`` (events as JSON text under
``Events[].CloudTrailEvent``), ``wrapped`` (an event under ``event`` or ``log``), ``digest``.
"""

from __future__ import annotations

import orjson

from .records import normalise_record
from .results import BadRecord, FileRead

# Keys that mark an object as a CloudTrail event (partial hand-written events included).
_EVENT_KEYS = {"eventname", "eventtime", "eventsource", "eventversion", "eventid", "useridentity",
               "@timestamp"}


def take_document(document: object, result: FileRead, where: str) -> str | None:
    """Add the events of one JSON document to result; its shape, or None if not CloudTrail."""
    if isinstance(document, list):
        items = [_unwrap(item) for item in document]
        if items and not any(isinstance(i, dict) and _looks_like_event(i) for i in items):
            return None
        for index, item in enumerate(items):
            take_record(item, result, f"{where}[{index}]: ")
        return "array"
    if not isinstance(document, dict):
        return None
    if "digestStartTime" in document or "digestEndTime" in document:
        return "digest"
    records = document.get("Records")
    if isinstance(records, list):
        for index, item in enumerate(records):
            take_record(item, result, f"{where}Records[{index}]: ")
        return "records"
    events = document.get("Events")
    if isinstance(events, list) and (not events or _looks_like_lookup(events)):
        for index, item in enumerate(events):
            take_record(_from_lookup(item), result, f"{where}Events[{index}]: ")
        return "lookup-events"
    if _looks_like_event(document):
        take_record(document, result, where)
        return "event"
    for wrapper in ("event", "log"):
        inner = document.get(wrapper)
        if isinstance(inner, dict) and _looks_like_event(inner):
            take_record(inner, result, f"{where}{wrapper}: ")
            return "wrapped"
    return None


def take_record(raw: object, result: FileRead, where: str) -> None:
    """Add one record to result, or count it as a bad record with its place and reason."""
    try:
        if isinstance(raw, BadRecord):
            raise raw
        result.events.append(normalise_record(raw))
    except BadRecord as exc:
        result.add_bad_record(f"{where}{exc}".strip())
    except RecursionError:  # nothing here recurses on the data, but a record must never crash a run
        result.add_bad_record(f"{where}nested too deeply".strip())


def not_cloudtrail(document: object) -> str:
    if isinstance(document, dict):
        if "Records" in document:
            return f"not CloudTrail: Records is a {type(document['Records']).__name__}, not a list"
        keys = ", ".join(list(document)[:8]) or "none"
        return f"not CloudTrail: JSON object without Records, Events or event fields (keys: {keys})"
    if isinstance(document, list):
        return "not CloudTrail: JSON array without event objects"
    return f"not CloudTrail: top-level JSON {type(document).__name__}"


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
