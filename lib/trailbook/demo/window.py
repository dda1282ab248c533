"""The demo's fixed calendar and fast UTC time formatting.

Dates are fixed (not relative to today) so that every analysis, test and benchmark sees the
same story: three weeks of clean history, then a detection week with the injected incidents,
then an IAM snapshot taken the morning after.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

UTC = timezone.utc


@dataclass(frozen=True)
class DemoWindow:
    """The demo's dates. All events fall in [history_start, detection_end)."""

    history_start: datetime
    detection_start: datetime
    detection_end: datetime
    snapshot_time: datetime

    @property
    def start(self) -> datetime:
        return self.history_start

    @property
    def end(self) -> datetime:
        return self.detection_end

    def as_dict(self) -> dict[str, str]:
        return {
            "history_start": iso_dt(self.history_start),
            "detection_start": iso_dt(self.detection_start),
            "detection_end": iso_dt(self.detection_end),
            "snapshot_time": iso_dt(self.snapshot_time),
        }


DEMO_WINDOW = DemoWindow(
    history_start=datetime(2026, 10, 1, tzinfo=UTC),
    detection_start=datetime(2026, 10, 22, tzinfo=UTC),
    detection_end=datetime(2026, 10, 29, tzinfo=UTC),
    snapshot_time=datetime(2026, 10, 29, 6, 0, tzinfo=UTC),
)

HISTORY_START = int(DEMO_WINDOW.history_start.timestamp())
DETECTION_START = int(DEMO_WINDOW.detection_start.timestamp())
WINDOW_END = int(DEMO_WINDOW.detection_end.timestamp())
SNAPSHOT_TIME = int(DEMO_WINDOW.snapshot_time.timestamp())
DAY = 86_400
HOUR = 3_600
MINUTE = 60


def iso_dt(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_MINUTE_PREFIX: dict[int, str] = {}


def iso(epoch: int) -> str:
    """Epoch seconds → 'YYYY-MM-DDTHH:MM:SSZ' (CloudTrail's eventTime form); cached per minute for speed."""
    minute, second = divmod(epoch, 60)
    prefix = _MINUTE_PREFIX.get(minute)
    if prefix is None:
        prefix = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
        if len(_MINUTE_PREFIX) > 200_000:
            _MINUTE_PREFIX.clear()
        _MINUTE_PREFIX[minute] = prefix
    return f"{prefix}{second:02d}Z"


def iso_offset(epoch: int) -> str:
    """Epoch seconds → '2026-10-05T13:42:07+00:00' (the credential report's timestamp form)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(epoch))


def aws_text_time(epoch: int) -> str:
    """Epoch seconds → 'Oct 5, 2026, 1:42:07 PM', the form CloudTrail uses inside responseElements."""
    t = time.gmtime(epoch)
    hour = t.tm_hour % 12 or 12
    half = "AM" if t.tm_hour < 12 else "PM"
    return f"{time.strftime('%b', t)} {t.tm_mday}, {t.tm_year}, {hour}:{t.tm_min:02d}:{t.tm_sec:02d} {half}"


def weekday(epoch: int) -> int:
    """Monday = 0 … Sunday = 6 (UTC)."""
    return time.gmtime(epoch).tm_wday


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp())
