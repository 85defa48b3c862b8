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
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import data
from bench.data import PERIOD_DAYS, PERIOD_START, sqlite_loader
from bench.data import stamp as _stamp
from listener.db import make_engine


def generate(path: Path, n_mentions: int, n_previous: int, raw_bytes: int = 600, seed: int = 11) -> None:
    """Fill a migrated SQLite file with profiles, authors, mentions and replies (bench/data.py).

    The digest's mix (:data:`bench.data.DIGEST_STATUSES`, no queue): a quarter of the
    mentions negative, 1% not yet classified; one author in ten a CRM customer, 1% VIP
    and 0.5% press; heavy posters; replies to 12% of negative and 1% of other mentions
    (some twice), sent after an exponential wait of two hours on average; an SLA of
    four hours on negative mentions; 1% of the mentions still open in the queue.
    Each row carries ``raw_bytes`` of platform JSON, as collected rows do.
    """
    with sqlite_loader(path) as load:
        data.generate(load, data.Shape(n_mentions, n_previous, raw_bytes, seed))


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
