"""Synthetic traffic for the spike tests: a steady baseline, ordinary daily rhythm, and bursts."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.engine import Engine

from tests.digests import seed

COMPLAINTS = ("refund still not processed", "delivery was late", "the app logs me out", "price went up")


def poisson_traffic(
    engine: Engine,
    start: datetime,
    end: datetime,
    negative_per_hour: Callable[[datetime], float],
    *,
    sources: dict[int, float],
    other_per_hour: float = 4.0,
    seed_value: int = 1,
) -> int:
    """Mentions hour by hour: Poisson negative counts at the given rate, spread over ``sources`` by weight."""
    rng = random.Random(seed_value)
    draw = np.random.default_rng(seed_value)
    ids, weights = list(sources), list(sources.values())
    rows = []
    hour = start
    while hour < end:
        for label, rate in (("negative", negative_per_hour(hour)), ("neutral", other_per_hour)):
            for _ in range(int(draw.poisson(rate))):
                text = f"@brand {rng.choice(COMPLAINTS)}" if label == "negative" else "@brand nice shop"
                rows.append(seed.MentionRow(hour + timedelta(seconds=rng.random() * 3600), label, text,
                                            source_id=rng.choices(ids, weights)[0]))
        hour += timedelta(hours=1)
    seed.mentions(engine, rows)
    return len(rows)


def burst(
    engine: Engine, start: datetime, count: int, source_id: int, *, every: timedelta = timedelta(seconds=15),
    text: str = "@brand my battery exploded while charging",
) -> list[int]:
    """``count`` negative mentions, one every ``every`` from ``start``."""
    rows = [seed.MentionRow(start + every * i, "negative", f"{text} #{i}" if i % 3 else text, source_id=source_id)
            for i in range(count)]
    return seed.mentions(engine, rows)


def daily_rhythm(moment: datetime) -> float:
    """Negative mentions per hour on an ordinary day: about 1 at night, 8 at lunchtime, less at weekends."""
    hour = moment.hour + moment.minute / 60
    day = 1 + 7 * math.exp(-((hour - 13) ** 2) / 18)
    return day * (0.6 if moment.weekday() >= 5 else 1.0)
