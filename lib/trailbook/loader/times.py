"""eventTime, parsed strictly into CloudTrail's canonical UTC form, or a bad record.

A time is accepted when it is a real date and time, its offset is a real one (at most 18:00,
minutes under 60, as java.time and so Athena accept), and in UTC it falls between CloudTrail's
start (EARLIEST_EVENT_TIME) and one day after now (clocks drift, events are never from the
future). Anything else raises BadRecord naming the value and the reason; nothing raises
OverflowError, whatever the year and offset.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from .results import BadRecord

CANONICAL_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Regex text shared with the store's SQL (DuckDB's RE2 reads it the same way).
CANONICAL_TIME_RE = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ"
# CloudTrail began in November 2013: an earlier time is not a CloudTrail time.
EARLIEST_EVENT_TIME = "2013-11-01T00:00:00Z"
FUTURE_SLACK = timedelta(days=1)  # events dated later than now + this are bad records
MAX_OFFSET = timedelta(hours=18)

_CANONICAL_TIME = re.compile(CANONICAL_TIME_RE)
_ISO_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_latest: tuple[int, str] = (-1, "")  # (minute it was computed in, latest accepted time)


def latest_event_time() -> str:
    """The latest eventTime accepted now (canonical text: string order is time order)."""
    global _latest
    minute = int(time.time() // 60)
    if _latest[0] != minute:  # recomputed once a minute: strftime per record costs
        _latest = (minute, (datetime.now(timezone.utc) + FUTURE_SLACK).strftime(CANONICAL_FORMAT))
    return _latest[1]


def normalise_event_time(value: object) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, so string order is time order; BadRecord if not a real time.

    Accepts CloudTrail's own form, fractions (Logstash ``.000Z``, nanoseconds), a space instead of
    ``T``, and explicit offsets. A time without a zone is taken as UTC, as CloudTrail writes UTC.
    """
    if not isinstance(value, str):
        raise BadRecord(f"eventTime {str(value)[:40]} is a {type(value).__name__}, not an ISO-8601 string")
    text = value.strip()
    if _CANONICAL_TIME.fullmatch(text):
        try:
            datetime.strptime(text, CANONICAL_FORMAT)  # the right shape can still be 30 February
        except ValueError as exc:
            raise BadRecord(f"eventTime {value!r}: {exc}") from exc
        return _in_range(text, value)
    match = _ISO_TIME.fullmatch(text)
    if not match:
        raise BadRecord(f"eventTime {value!r} is not ISO-8601")
    year, month, day, hour, minute, second, zone = match.groups()
    offset = _zone(zone, value)
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                          tzinfo=offset)
        utc = moment.astimezone(timezone.utc)
    except ValueError as exc:
        raise BadRecord(f"eventTime {value!r}: {exc}") from exc
    except OverflowError as exc:  # the offset moves it outside years 1-9999
        raise BadRecord(f"eventTime {value!r} is out of range in UTC") from exc
    return _in_range(utc.strftime(CANONICAL_FORMAT), value)


def _zone(zone: str | None, value: str) -> timezone:
    if not zone or zone.upper() == "Z":
        return timezone.utc
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    offset = timedelta(hours=hours, minutes=minutes)
    if minutes >= 60 or offset > MAX_OFFSET:
        raise BadRecord(f"eventTime {value!r}: {zone} is not a real UTC offset")
    return timezone(offset if zone[0] == "+" else -offset)


def _in_range(canonical: str, value: str) -> str:
    # strftime pads years below 1000 differently on some platforms; such years are early anyway.
    if len(canonical) != 20 or canonical < EARLIEST_EVENT_TIME:
        raise BadRecord(f"eventTime {value!r} is before CloudTrail existed ({EARLIEST_EVENT_TIME})")
    if canonical > latest_event_time():
        raise BadRecord(f"eventTime {value!r} is more than a day in the future")
    return canonical
