"""Benchmark: a 30-day sentiment digest over 1,000,000 mentions on a SQLite file.

    .venv/bin/python bench/digest.py [--mentions 1000000] [--previous 250000] [--db FILE] [--runs 3] [--index]

Generates, in bulk (multi-row inserts through the stdlib ``sqlite3`` module on a
migrated database), ``--mentions`` mentions spread over the 30-day digest period
plus ``--previous`` mentions in the 30 days before it (the comparison period),
with authors, customer profiles (some VIP and press), replies with sent times and
SLA due times. A ``--db`` file that already holds the data is reused.

Then it times :func:`responders.digests.compute.compute_digest` for the 30 days
(best of ``--runs``, each on a fresh engine; wall and CPU time), with its parts
in parallel (the default) and one after another, and, in the same run, a naive
digest that loads the period's rows (platform, label, profile, text) into Python
and counts them there, and prints the ratio. With ``--index`` it also times the
digest with the covering index recommended for ``mentions`` (created on the bench
file only, then dropped). It asserts nothing beyond the two digests agreeing.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.db import make_engine, migrate

PERIOD_START = datetime(2026, 10, 1, tzinfo=UTC)
PERIOD_DAYS = 30
COMPLAINTS = (
    "refund still not processed", "delivery was late again", "the app crashes on login", "customer service never",
    "charged twice this month", "order arrived broken", "battery drains overnight", "support chat keeps timing out",
    "tracking number does not work", "price went up again",
)
PRAISE = ("love the new update", "fast delivery thanks", "great support today", "works perfectly", "best purchase")
NEUTRAL = ("anyone tried the new model", "store opens at nine", "is there a student discount", "new colours soon")
FILLER = ("honestly", "today", "again", "so", "really", "my", "the", "this week", "lol", "ugh")


def _stamp(moment: datetime) -> str:
    """The text SQLAlchemy stores for a naive-UTC DateTime on SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(path: Path, n_mentions: int, n_previous: int, raw_bytes: int = 600, seed: int = 11) -> None:
    """Fill a migrated SQLite file with profiles, authors, mentions and replies.

    The mix: a quarter of the mentions negative, 1% not yet classified; one author
    in ten a CRM customer, 1% VIP and 0.5% press; heavy posters (an author's share
    falls with their rank); replies to 12% of negative and 1% of other mentions
    (some twice), sent after an exponential wait of two hours on average; an SLA of
    four hours on negative mentions; 1% of the mentions still open in the queue.
    Each row carries ``raw_bytes`` of platform JSON, as collected rows do.
    """
    rng = random.Random(seed)
    migrate(f"sqlite:///{path}")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    now = _stamp(datetime.now(UTC))
    n_authors = max(10, (n_mentions + n_previous) // 10)
    connection.executemany(
        "INSERT INTO sources (id, name, kind, platform, options, enabled, interval_seconds, cursor, "
        "consecutive_failures, mentions_collected, created_at) VALUES (?, ?, ?, ?, '{}', 1, 120, '{}', 0, 0, ?)",
        [(1, "x:mentions", "x_mentions", "x", now), (2, "x:search:brand", "x_search", "x", now),
         (3, "reddit:r/brand", "reddit_subreddit", "reddit", now)],
    )
    profiles, authors = [], []
    for i in range(1, n_authors + 1):
        roll = rng.random()
        tier = "vip" if roll < 0.01 else "press" if roll < 0.015 else "standard"
        profiles.append((i, f"Person {i}", tier, rng.random() > 0.1, "[]", "[]", now, now))
        platform = "x" if i % 3 else "reddit"
        authors.append((i, platform, f"u{i}", f"handle{i}", now, now))
    connection.executemany(
        "INSERT INTO customer_profiles (id, display_name, tier, is_prospect, emails, tags, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", profiles)
    connection.executemany(
        "INSERT INTO authors (id, platform, platform_user_id, handle, first_seen_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)", authors)
    # Heavy posters: a few authors write a large share, as on real platforms.
    weights = [1.0 / (rank + 10) for rank in range(n_authors)]
    span = timedelta(days=PERIOD_DAYS).total_seconds()
    previous_start = PERIOD_START - timedelta(days=PERIOD_DAYS)
    times = sorted(
        [previous_start + timedelta(seconds=rng.random() * span) for _ in range(n_previous)]
        + [PERIOD_START + timedelta(seconds=rng.random() * span) for _ in range(n_mentions)]
    )
    author_of = rng.choices(range(1, n_authors + 1), weights=weights, k=len(times))
    mentions, replies = [], []
    labels = ("negative", "neutral", "positive", "unscored", None)
    label_weights = (0.25, 0.4, 0.3, 0.04, 0.01)
    reply_id = 0
    for n, (created, author) in enumerate(zip(times, author_of, strict=True), start=1):
        label = rng.choices(labels, label_weights)[0]
        pool = COMPLAINTS if label == "negative" else PRAISE if label == "positive" else NEUTRAL
        text = f"@brand {rng.choice(FILLER)} {rng.choice(pool)} {rng.choice(FILLER)}"
        platform = "x" if author % 3 else "reddit"
        source = 3 if platform == "reddit" else rng.choice((1, 2))
        sla_due = _stamp(created + timedelta(hours=4)) if label == "negative" else None
        status = rng.choices(("new", "needs_reply", "resolved", "ignored"), (0.005, 0.005, 0.3, 0.69))[0]
        raw = json.dumps({"id": f"m{n}", "text": text, "author_id": f"u{author}", "lang": "en",
                          "created_at": created.isoformat(), "padding": "x" * max(0, raw_bytes - 150)})
        mentions.append((n, platform, f"m{n}", "tweet", source, author, text, f"https://x.test/s/{n}",
                         _stamp(created), now, raw, label, "processed", author, status, sla_due))
        if rng.random() < (0.12 if label == "negative" else 0.01):
            for _ in range(rng.choice((1, 1, 1, 2))):
                reply_id += 1
                sent = created + timedelta(minutes=rng.expovariate(1 / 120))
                replies.append((reply_id, n, "sent", "Sorry to hear that", _stamp(sent), now, now))
        if len(mentions) >= 50_000:
            _flush(connection, mentions, replies)
    _flush(connection, mentions, replies)
    connection.commit()
    connection.close()


def _flush(connection: sqlite3.Connection, mentions: list[tuple], replies: list[tuple]) -> None:
    connection.executemany(
        "INSERT INTO mentions (id, platform, external_id, kind, source_id, author_id, text, url, created_at, "
        "collected_at, raw, sentiment_label, processing_state, profile_id, status, sla_due_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", mentions)
    connection.executemany(
        "INSERT INTO replies (id, mention_id, state, text, sent_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", replies)
    mentions.clear()
    replies.clear()


def naive_digest(path: Path, period: Any) -> dict[str, Counter]:
    """The obvious way: every row of the period into Python, counted there."""
    connection = sqlite3.connect(path)
    rows = connection.execute(
        "SELECT platform, sentiment_label, profile_id, text FROM mentions WHERE created_at >= ? AND created_at < ?",
        (_stamp(period.start), _stamp(period.end)),
    ).fetchall()
    mix: Counter = Counter()
    profiles: Counter = Counter()
    terms: Counter = Counter()
    for platform, label, profile_id, text in rows:
        mix[(platform, label or "unscored")] += 1
        profiles[profile_id] += 1
        if label == "negative":
            terms.update(set(text.lower().split()))
    connection.close()
    return {"mix": mix, "profiles": profiles, "terms": terms}


RECOMMENDED_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_mentions_digest ON mentions "
    "(created_at, sentiment_label, platform, profile_id, sla_due_at)"
)


def _time_digest(path: Path, period: Any, runs: int, parallel: bool) -> tuple[list[tuple[float, float]], Any]:
    from listener.settings import DigestSettings
    from responders.digests.compute import compute_digest

    timings, digest = [], None
    for _ in range(runs):
        engine = make_engine(f"sqlite:///{path}")
        wall, cpu = time.perf_counter(), time.process_time()
        digest = compute_digest(engine, period, DigestSettings(), parallel=parallel)
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
        engine.dispose()
    return timings, digest


def _report(name: str, timings: list[tuple[float, float]]) -> float:
    best = min(t[0] for t in timings)
    runs = ", ".join(f"{wall:.3f}" for wall, _ in timings)
    print(f"  {name}: best {best:.3f} s wall (runs {runs}; CPU {min(t[1] for t in timings):.3f} s)")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--previous", type=int, default=250_000)
    parser.add_argument("--db", type=Path, default=None, help="reuse or create this file")
    parser.add_argument("--raw-bytes", type=int, default=600, help="platform JSON kept per mention")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--index", action="store_true",
                        help="also time it with the recommended covering index (added to this file only)")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp(prefix="harken-bench-")) / "digest.db"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.mentions, args.previous, args.raw_bytes)
        print(f"generated {args.mentions:,} + {args.previous:,} mentions in {time.perf_counter() - started:.1f} s"
              f" ({path}, {path.stat().st_size / 1e6:.0f} MB)")
    with sqlite3.connect(path) as connection:  # the schema as the migrations make it
        connection.execute("DROP INDEX IF EXISTS ix_mentions_digest")
    from responders.digests.periods import Period

    period = Period(PERIOD_START, PERIOD_START + timedelta(days=PERIOD_DAYS), "custom", "UTC")
    parallel, digest = _time_digest(path, period, args.runs, parallel=True)
    serial, _ = _time_digest(path, period, args.runs, parallel=False)
    started = time.perf_counter()
    naive = naive_digest(path, period)
    naive_seconds = time.perf_counter() - started
    assert sum(naive["mix"].values()) == digest.overall.total, "the naive and SQL digests disagree"
    print(f"30-day digest over {digest.overall.total:,} mentions (previous period {digest.previous_overall.total:,}, "
          f"{digest.response.replies_sent:,} replies sent), schema as migrated:")
    best = _report("compute_digest, parts in parallel", parallel)
    _report("compute_digest, parts one after another", serial)
    print(f"  naive (the period's rows into Python): {naive_seconds:.3f} s, {naive_seconds / best:.1f}x the digest")
    if args.index:
        with sqlite3.connect(path) as connection:
            connection.execute(RECOMMENDED_INDEX)
        indexed, _ = _time_digest(path, period, args.runs, parallel=True)
        print("with the recommended index (created_at, sentiment_label, platform, profile_id, sla_due_at):")
        _report("compute_digest, parts in parallel", indexed)
        with sqlite3.connect(path) as connection:
            connection.execute("DROP INDEX ix_mentions_digest")


if __name__ == "__main__":
    main()
