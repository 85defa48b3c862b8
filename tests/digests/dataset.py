"""A generated week of mentions, replies and profiles, and every digest figure counted directly from it.

The expected figures are computed here in plain Python from the rows as read back
from the database, independently of ``responders.digests.compute`` (its SQL is
what is under test).
"""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine

from listener.models import CustomerProfile, Mention, Reply
from tests.digests import seed

ZONE = "Europe/Paris"
# Monday 19 to Monday 26 October 2026, Paris time: Sunday the 25th has 25 hours (summer time ends).
WEEK = date(2026, 10, 19)
NOW = datetime(2026, 10, 26, 8, 0, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)
OPEN = ("new", "needs_reply", "assigned", "waiting")
STATUSES = (*OPEN, "resolved", "ignored")

COMPLAINTS = (
    ("refund never arrived", 6), ("app crashes on login", 4), ("charged twice", 3), ("delivery late again", 2),
    ("support chat keeps timing out", 2),
)
FILLER = ("honestly", "seriously", "this is", "my", "again", "wow", "ugh")
PRAISE = ("love the new colours", "great support today", "fast shipping, thanks")
NEUTRAL = ("does the store open on sunday", "anyone tried the blue one", "new catalogue out")
HOSTILE = '<script>alert("x")</script> refund never arrived <img src=x onerror=alert(1)>'


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


PERIOD_START, PERIOD_END = local_midnight(WEEK), local_midnight(WEEK + timedelta(days=7))
PREVIOUS_START = local_midnight(WEEK - timedelta(days=7))


@dataclass
class Generated:
    profiles: dict[int, dict[str, Any]]
    hostile_profile: int


def generate(engine: Engine, seed_value: int = 5) -> Generated:
    rng = random.Random(seed_value)
    x_source = seed.source(engine, "x:search:brand", "x")
    reddit_source = seed.source(engine, "reddit:r/brand", "reddit")
    profiles: dict[int, dict[str, Any]] = {}
    for i, (tier, prospect) in enumerate(
        [("standard", False)] * 5 + [("vip", False), ("vip", False), ("press", True), ("press", False)]
        + [("standard", True)] * 10
    ):
        name = f"Customer {i}" if not prospect else f"Prospect {i}"
        profiles[seed.profile(engine, name, tier, prospect)] = {"tier": tier, "prospect": prospect}
    hostile = seed.profile(engine, '<b onmouseover="alert(1)">Mallory</b> & co', "vip", False)
    profiles[hostile] = {"tier": "vip", "prospect": False}
    ids = list(profiles)
    weights = [8 if p["tier"] != "standard" or not p["prospect"] else 1 for p in profiles.values()]

    def one(created: datetime) -> seed.MentionRow:
        label = rng.choices(["negative", "neutral", "positive", "unscored", None], [35, 30, 25, 7, 3])[0]
        if label == "negative":
            phrase = rng.choices([c for c, _ in COMPLAINTS], [w for _, w in COMPLAINTS])[0]
            body = HOSTILE if rng.random() < 0.03 else f"@brand {rng.choice(FILLER)} {phrase}, {rng.choice(FILLER)}"
        else:
            body = f"@brand {rng.choice(PRAISE if label == 'positive' else NEUTRAL)}"
        # A platform Harken does not know (no package registers it) is counted under "other".
        platform = rng.choices(["x", "reddit", "myspace"], [60, 37, 3])[0]
        due = None
        if label == "negative" or rng.random() < 0.1:
            due = created + timedelta(hours=rng.choice((1, 4, 12)))
        return seed.MentionRow(
            created_at=created, label=label, text=body, platform=platform,
            source_id=x_source if platform == "x" else reddit_source if platform == "reddit" else None,
            profile_id=rng.choices(ids, weights)[0] if rng.random() < 0.9 else None,
            status=rng.choice(STATUSES), sla_due_at=due,
        )

    def spread(start: datetime, end: datetime, n: int) -> list[seed.MentionRow]:
        span = (end - start).total_seconds()
        return [one(start + timedelta(seconds=rng.random() * span)) for _ in range(n)]

    rows = (
        spread(PREVIOUS_START - timedelta(days=5), PREVIOUS_START, 40)
        + spread(PREVIOUS_START, PERIOD_START, 150)
        + spread(PERIOD_START, PERIOD_END, 420)
        + spread(PERIOD_END, NOW, 25)
    )
    # Exactly on the boundaries: a period is [start, end).
    rows += [one(PERIOD_START), one(PERIOD_END), one(PERIOD_END - timedelta(microseconds=1))]
    mention_ids = seed.mentions(engine, rows)
    for mention_id, row in zip(mention_ids, rows, strict=True):
        chance = 0.4 if row.label == "negative" else 0.06
        if rng.random() < chance:
            for _ in range(rng.choice((1, 1, 2))):
                seed.reply(engine, mention_id, row.created_at + timedelta(minutes=rng.randint(3, 900)))
        if rng.random() < 0.05:
            seed.reply(engine, mention_id, None, state=rng.choice(("draft", "pending_approval", "failed")))
    return Generated(profiles, hostile)


# --- direct counts -----------------------------------------------------------------------------------


def _rows(engine: Engine, model: Any) -> list[dict[str, Any]]:
    """Every row of a table, read through its typed columns (times come back aware, in UTC)."""
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(model.__table__))]


def label_of(value: str | None) -> str:
    return value if value in ("negative", "neutral", "positive") else "unscored"


def mix(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(label_of(r["sentiment_label"]) for r in rows)
    return {label: counts[label] for label in ("negative", "neutral", "positive", "unscored")}


def net(m: dict[str, int]) -> float | None:
    scored = m["negative"] + m["neutral"] + m["positive"]
    return 100.0 * (m["positive"] - m["negative"]) / scored if scored else None


def term_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in term.split(" ")]
    return re.compile(r"(?<![\w'-])" + r"\s+".join(words) + r"(?![\w'-])")


def expected(engine: Engine, start: datetime, end: datetime, now: datetime, previous: datetime) -> dict[str, Any]:
    mentions = _rows(engine, Mention)
    replies = _rows(engine, Reply)
    profiles = {p["id"]: p for p in _rows(engine, CustomerProfile)}
    period = [m for m in mentions if start <= m["created_at"] < end]
    before = [m for m in mentions if previous <= m["created_at"] < start]
    zone = ZoneInfo(ZONE)
    edges = [start]
    day = start.astimezone(zone).date() + timedelta(days=1)
    while datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC) < end:
        edges.append(datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC))
        day += timedelta(days=1)
    edges.append(end)
    series = [(a, b, mix([m for m in period if a <= m["created_at"] < b])) for a, b in pairwise(edges)]

    def platform_of(m: dict[str, Any]) -> str:
        return m["platform"] if m["platform"] in ("x", "reddit") else "other"

    platforms = {p: (mix([m for m in period if platform_of(m) == p]), mix([m for m in before if platform_of(m) == p]))
                 for p in ("x", "reddit", "other")}

    def ranking(keep: Any) -> list[tuple[int, int, int]]:
        counts: Counter[int] = Counter()
        negative: Counter[int] = Counter()
        for m in period:
            pid = m["profile_id"]
            if pid is not None and keep(profiles[pid]):
                counts[pid] += 1
                negative[pid] += m["sentiment_label"] == "negative"
        return sorted(((pid, n, negative[pid]) for pid, n in counts.items()), key=lambda t: (-t[1], t[0]))[:10]

    sent = [r for r in replies if r["sent_at"] is not None]
    first: dict[int, datetime] = {}
    for r in sent:
        first[r["mention_id"]] = min(first.get(r["mention_id"], r["sent_at"]), r["sent_at"])
    by_id = {m["id"]: m for m in mentions}
    waits = [(first[i] - by_id[i]["created_at"]).total_seconds() for i in first if start <= first[i] < end]
    due = [m for m in period if m["sla_due_at"] is not None and m["sla_due_at"] < now]
    breached = [m for m in due if not (m["id"] in first and first[m["id"]] <= m["sla_due_at"])]
    backlog = [m for m in mentions if m["status"] in OPEN and m["created_at"] < end and m["id"] not in first]
    negatives = [m for m in period if m["sentiment_label"] == "negative"]
    negatives_before = [m for m in before if m["sentiment_label"] == "negative"]
    return {
        "series": series,
        "overall": mix(period),
        "previous": mix(before),
        "platforms": platforms,
        "customers": ranking(lambda p: not p["is_prospect"]),
        "vips": ranking(lambda p: p["tier"] in ("vip", "press")),
        "names": {pid: p["display_name"] for pid, p in profiles.items()},
        "replies_sent": sum(1 for r in sent if start <= r["sent_at"] < end),
        "first_replies": len(waits),
        "median_wait": statistics.median(waits) if waits else None,
        "sla_due": len(due),
        "sla_breaches": len(breached),
        "backlog": len(backlog),
        "negatives": negatives,
        "negatives_before": negatives_before,
        "by_id": by_id,
    }


def matching(rows: list[dict[str, Any]], term: str) -> list[dict[str, Any]]:
    pattern = term_pattern(term)
    return [r for r in rows if pattern.search(r["text"].lower())]

