"""The background's calendar: bursts of activity per stream, and the event count split over them.

The *schedule* places bursts (a console session, a CI run, an instance's hourly refresh …) on
the calendar with a diurnal and weekly rhythm; it depends on the seed only. The requested event
count is then apportioned over the bursts by weight (systematic sampling), so `events=N` gives
exactly N background events and the same shape at any size.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .streams import Stream
from .window import DAY, HISTORY_START, HOUR, MINUTE, WINDOW_END, weekday
from .world import DEV, PROD, SECURITY


@dataclass
class Burst:
    start: int
    duration: int
    stream: Stream
    weight: float
    count: int = 0


def load(t: int) -> float:
    """Application load by hour (UTC): busy in US working hours, quieter at night and at weekends."""
    hour = (t // HOUR) % 24
    factor = 3.0 if 13 <= hour < 22 else (0.6 if 5 <= hour < 11 else 1.0)
    return factor * (0.5 if weekday(t) >= 5 else 1.0)


def build_schedule(streams: list[Stream], rng: random.Random) -> list[Burst]:
    """Bursts for every stream over the whole window (independent of the event count)."""
    bursts: list[Burst] = []
    days = range(HISTORY_START, WINDOW_END, DAY)
    order_in_kind: dict[str, int] = {}

    def burst(stream: Stream, start: int, duration: int, weight: float) -> None:
        end = min(start + duration, WINDOW_END - 1)
        if start < WINDOW_END and end > start:
            bursts.append(Burst(start, end - start, stream, weight))

    for s in streams:
        if s.kind in ("console", "cli"):
            work_start = 8 * HOUR if s.account == SECURITY else 13 * HOUR   # Dublin vs New York office hours
            per_day = [1, 1, 2, 2, 3] if s.kind == "console" else [0, 1, 1, 2]
            for day in days:
                if weekday(day) >= 5 or rng.random() < 0.05:
                    continue  # weekends and the odd day off
                for _ in range(rng.choice(per_day)):
                    duration = rng.randrange(20, 90) * MINUTE if s.kind == "console" else rng.randrange(5, 25) * MINUTE
                    start = day + work_start + rng.randrange(9 * HOUR - duration)
                    burst(s, start, duration, duration)
        elif s.kind == "job":  # a daily report at 06:00 and hourly refreshes in US office hours
            for day in days:
                burst(s, day + 6 * HOUR + rng.randrange(120), 6 * MINUTE, 3.0)
                if weekday(day) < 5:
                    for hour in range(13, 22):
                        burst(s, day + hour * HOUR + 15 * MINUTE + rng.randrange(60), 2 * MINUTE, 1.0)
        elif s.kind == "ci":
            nightly = 2 * HOUR if s.account == PROD else 3 * HOUR
            for day in days:
                burst(s, day + nightly + rng.randrange(600), rng.randrange(6, 14) * MINUTE, 10.0)
                if weekday(day) < 5:
                    for _ in range(rng.randint(4, 9)):
                        duration = rng.randrange(4, 12) * MINUTE
                        burst(s, day + 13 * HOUR + rng.randrange(9 * HOUR), duration, duration / MINUTE)
        elif s.kind == "instance":
            # The app refreshes its cached secrets and keys hourly and the SSM agent reports in with
            # it, a few minutes past the hour (so one delivery file per hour carries them). The
            # us-west-2 standby refreshes every three hours; dev runs 12:00-24:00 UTC on weekdays.
            minute = 4 + 2 * (order_in_kind.setdefault(s.key, len(order_in_kind)) % 3)
            standby = s.account == PROD and s.tools[0].items[0].region != "us-east-1"
            for hour_start in range(HISTORY_START, WINDOW_END, HOUR):
                hour = (hour_start // HOUR) % 24
                if standby and hour % 3:
                    continue
                if s.account == DEV and (hour < 12 or weekday(hour_start) >= 5):
                    continue
                burst(s, hour_start + minute * MINUTE + rng.randrange(40), 3 * MINUTE, load(hour_start))
        elif s.kind == "lambda":
            # The ETL runs hourly (a big batch at 03:00); the log processor every two hours.
            minute, every = (5, 1) if s.account == PROD else (35, 2)
            for hour_start in range(HISTORY_START, WINDOW_END, every * HOUR):
                big = (hour_start // HOUR) % 24 == 3
                burst(s, hour_start + minute * MINUTE + rng.randrange(30), (12 if big else 3) * MINUTE,
                      (6.0 if big else 1.0) * (1.0 if s.account == PROD else load(hour_start)))
        elif s.kind == "autoscaling":
            for day in days:
                if weekday(day) < 5:
                    burst(s, day + 12 * HOUR + 50 * MINUTE + rng.randrange(300), 4 * MINUTE, 1.0)
                    burst(s, day + 23 * HOUR + 10 * MINUTE + rng.randrange(300), 4 * MINUTE, 1.0)
    return bursts


def apportion(bursts: list[Burst], total: int, rng: random.Random) -> None:
    """Split `total` events over the bursts in proportion to stream share × burst weight, exactly."""
    stream_weight: dict[str, float] = {}
    for b in bursts:
        stream_weight[b.stream.key] = stream_weight.get(b.stream.key, 0.0) + b.weight
    shares = {b.stream.key: b.stream.share for b in bursts}
    scale = sum(shares.values())
    weights = [b.stream.share / scale * b.weight / stream_weight[b.stream.key] for b in bursts]
    grand = sum(weights)
    step = grand / total
    offset = rng.random() * step
    assigned, cum = 0, 0.0
    for b, w in zip(bursts, weights, strict=True):
        cum += w
        upto = min(total, int((cum - offset) // step) + 1) if cum > offset else 0
        b.count = upto - assigned
        assigned = upto
    bursts[-1].count += total - assigned
