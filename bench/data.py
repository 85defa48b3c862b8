"""Bulk data for the benchmarks: mentions, authors, profiles, replies (and a working queue), fast.

The benchmarks need a million mentions in a migrated database in about a minute,
which the ORM cannot do. :func:`generate` draws the rows from a seeded random
generator (the same seed gives the same rows on every back-end) and hands them in
chunks to a loader: :func:`sqlite_loader` (multi-row ``executemany`` through the
stdlib ``sqlite3`` module) or :func:`postgres_loader` (``COPY ... FROM STDIN``
through psycopg). Both load into a database migrated to head, with its secondary
indexes dropped for the load and created again afterwards (one sort per index is
much faster than a million index updates), so the schema in the end is exactly
the migrated one.

Two shapes of data: :data:`DIGEST_STATUSES` with ``queue=False`` is what
``bench/digest.py`` has always measured (1% of the mentions still open, an SLA
on negative mentions only); ``queue=True`` adds what the staff pages read: about
10% of the mentions open with the priority, level and SLA triage gives them,
staff users with assigned mentions, replies waiting for approval with their
suggestions, follower counts and platform identities. The queue's draws come from
a second random stream, so the digest's data stays the same row for row.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.db import migrate

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

DIGEST_STATUSES: tuple[tuple[str, float], ...] = (
    ("new", 0.005), ("needs_reply", 0.005), ("resolved", 0.3), ("ignored", 0.69),
)
"""1% open: the digest benchmark's mix."""
QUEUE_STATUSES: tuple[tuple[str, float], ...] = (
    ("new", 0.03), ("needs_reply", 0.04), ("assigned", 0.03), ("waiting", 0.02), ("resolved", 0.28),
    ("ignored", 0.60),
)
"""10% needing an answer (new, needs_reply, assigned), 2% waiting on the customer: a busy team's inbox."""
OPEN_FOR_ANSWER = frozenset({"new", "needs_reply", "assigned"})

# The defaults of [triage] (listener.settings.TriageSettings) and responders.triage's formula.
SLA_MINUTES = {"urgent": 60, "high": 240, "normal": 1440, "low": 4320}
LEVEL_FLOORS = (("urgent", 70.0), ("high", 45.0), ("normal", 20.0), ("low", 0.0))
TIER_POINTS = {"press": 25.0, "vip": 20.0, "standard": 0.0}
HIGH_REACH_FOLLOWERS = 10_000
STAFF_ROLES = ("approver", "approver", "approver", "manager", "admin")
REPLY_TEXTS = (
    "Sorry to hear that, could you DM us your order number?",
    "Thanks for letting us know, we are looking into it now.",
    "We are sorry for the wait. A refund is on its way.",
    "Glad you like it! Thanks for the kind words.",
)


def stamp(moment: datetime) -> str:
    """The text SQLAlchemy stores for a naive-UTC DateTime on SQLite; PostgreSQL's COPY reads it too."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Loader(Protocol):
    """Writes rows into one table: what :func:`generate` needs from a database."""

    def __call__(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None: ...


@dataclass(frozen=True)
class Shape:
    """How much data, and which kind (see the module docstring)."""

    mentions: int
    previous: int = 0
    raw_bytes: int = 600
    seed: int = 11
    statuses: tuple[tuple[str, float], ...] = DIGEST_STATUSES
    queue: bool = False
    # Of the mentions needing an answer: the share with a reply waiting for approval, and with one on its way.
    pending_share: float = 0.02
    moving_share: float = 0.005
    agents: int = 20


@dataclass
class Generated:
    """What was generated: counts, and the ids the page benchmarks ask for."""

    mentions: int = 0
    replies: int = 0
    suggestions: int = 0
    open_mentions: int = 0
    pending_replies: int = 0
    staff: int = 0
    heaviest_profile: int = 0
    heaviest_profile_mentions: int = 0


MENTION_COLUMNS = (
    "id", "platform", "external_id", "kind", "source_id", "author_id", "text", "url", "created_at",
    "collected_at", "raw", "sentiment_label", "processing_state", "profile_id", "status", "sla_due_at",
)
QUEUE_MENTION_COLUMNS = (
    *MENTION_COLUMNS, "sentiment_confidence", "priority", "priority_level", "assignee_id", "triaged_at",
    "processed_at",
)
REPLY_COLUMNS = ("id", "mention_id", "state", "text", "sent_at", "created_at", "updated_at")
QUEUE_REPLY_COLUMNS = (
    *REPLY_COLUMNS, "suggestion_id", "created_by_id", "submitted_by_id", "submitted_at", "high_risk",
    "required_approvals", "approved_at",
)
SUGGESTION_COLUMNS = ("id", "mention_id", "text", "origin", "rank", "score", "rule", "created_at")


def generate(load: Loader, shape: Shape) -> Generated:
    """Profiles, authors, mentions and replies (and with ``shape.queue`` staff, identities, the queue).

    The mix: a quarter of the mentions negative, 1% not yet classified; one author
    in ten a CRM customer, 1% VIP and 0.5% press; heavy posters (an author's share
    falls with their rank, so profile 1 is the busiest); replies to 12% of negative
    and 1% of other mentions (some twice), sent after an exponential wait of two
    hours on average; statuses drawn from ``shape.statuses``. Each row carries
    ``raw_bytes`` of platform JSON, as collected rows do.

    Without ``queue``, an SLA of four hours on negative mentions and nothing else
    (the digest benchmark's data). With it, every mention gets what triage gives
    it: a priority (the formula of ``responders.triage``, the age part full for open
    mentions, as the periodic refresh leaves it), its level and the level's SLA; 5%
    of the new ones are not triaged yet (no priority, no SLA); assigned mentions
    belong to one of ``shape.agents`` agents; ``pending_share`` of the mentions
    needing an answer have a reply waiting for approval (submitted by an agent, from
    the first of two or three suggestions; two approvals needed when high-risk) and
    ``moving_share`` one approved or failed.
    """
    rng = random.Random(shape.seed)
    extra = random.Random(shape.seed + 1)  # the queue's draws: the digest's stream stays as it was
    result = Generated()
    now = stamp(datetime.now(UTC))
    n_authors = max(10, (shape.mentions + shape.previous) // 10)
    load("sources", ("id", "name", "kind", "platform", "options", "enabled", "interval_seconds", "cursor",
                     "consecutive_failures", "mentions_collected", "created_at"),
         [(1, "x:mentions", "x_mentions", "x", "{}", True, 120, "{}", 0, 0, now),
          (2, "x:search:brand", "x_search", "x", "{}", True, 120, "{}", 0, 0, now),
          (3, "reddit:r/brand", "reddit_subreddit", "reddit", "{}", True, 120, "{}", 0, 0, now)])
    agents: list[int] = []
    if shape.queue:
        staff = [(i, f"agent{i}@bench.test", f"Agent {i}", "agent", True, now) for i in range(1, shape.agents + 1)]
        for role in STAFF_ROLES:
            n = len(staff) + 1
            staff.append((n, f"{role}{n}@bench.test", f"{role.title()} {n}", role, True, now))
        load("staff_users", ("id", "email", "name", "role", "active", "created_at"), staff)
        agents = list(range(1, shape.agents + 1))
        result.staff = len(staff)
    profiles, authors, identities = [], [], []
    tiers: list[str] = [""]
    followers: list[int | None] = [None]
    for i in range(1, n_authors + 1):
        roll = rng.random()
        tier = "vip" if roll < 0.01 else "press" if roll < 0.015 else "standard"
        profiles.append((i, f"Person {i}", tier, rng.random() > 0.1, "[]", "[]", now, now))
        platform = "x" if i % 3 else "reddit"
        tiers.append(tier)
        if shape.queue:
            count = int(math.exp(extra.gauss(5.0, 2.2)))  # median ~150, a long tail into the millions
            followers.append(count)
            authors.append((i, platform, f"u{i}", f"handle{i}", f"Person {i}", count, now, now))
            identities.append((i, i, platform, f"u{i}", f"handle{i}", f"handle{i}", "automatic", 1.0, now, now))
        else:
            authors.append((i, platform, f"u{i}", f"handle{i}", now, now))
    load("customer_profiles", ("id", "display_name", "tier", "is_prospect", "emails", "tags", "created_at",
                               "updated_at"), profiles)
    if shape.queue:
        load("authors", ("id", "platform", "platform_user_id", "handle", "display_name", "followers",
                         "first_seen_at", "updated_at"), authors)
        load("identities", ("id", "profile_id", "platform", "platform_user_id", "handle", "handle_key",
                            "provenance", "confidence", "created_at", "updated_at"), identities)
    else:
        load("authors", ("id", "platform", "platform_user_id", "handle", "first_seen_at", "updated_at"), authors)
    del profiles, authors, identities
    # Heavy posters: a few authors write a large share, as on real platforms.
    weights = [1.0 / (rank + 10) for rank in range(n_authors)]
    span = timedelta(days=PERIOD_DAYS).total_seconds()
    previous_start = PERIOD_START - timedelta(days=PERIOD_DAYS)
    times = sorted(
        [previous_start + timedelta(seconds=rng.random() * span) for _ in range(shape.previous)]
        + [PERIOD_START + timedelta(seconds=rng.random() * span) for _ in range(shape.mentions)]
    )
    author_of = rng.choices(range(1, n_authors + 1), weights=weights, k=len(times))
    per_author: dict[int, int] = {}
    mentions: list[tuple[Any, ...]] = []
    replies: list[tuple[Any, ...]] = []
    suggestions: list[tuple[Any, ...]] = []
    labels = ("negative", "neutral", "positive", "unscored", None)
    label_weights = (0.25, 0.4, 0.3, 0.04, 0.01)
    status_names = tuple(name for name, _ in shape.statuses)
    status_weights = tuple(weight for _, weight in shape.statuses)
    reply_id = suggestion_id = 0
    for n, (created, author) in enumerate(zip(times, author_of, strict=True), start=1):
        label = rng.choices(labels, label_weights)[0]
        pool = COMPLAINTS if label == "negative" else PRAISE if label == "positive" else NEUTRAL
        text = f"@brand {rng.choice(FILLER)} {rng.choice(pool)} {rng.choice(FILLER)}"
        platform = "x" if author % 3 else "reddit"
        source = 3 if platform == "reddit" else rng.choice((1, 2))
        sla_due = stamp(created + timedelta(hours=4)) if label == "negative" else None
        status = rng.choices(status_names, status_weights)[0]
        raw = json.dumps({"id": f"m{n}", "text": text, "author_id": f"u{author}", "lang": "en",
                          "created_at": created.isoformat(), "padding": "x" * max(0, shape.raw_bytes - 150)})
        row: tuple[Any, ...] = (n, platform, f"m{n}", "tweet", source, author, text, f"https://x.test/s/{n}",
                                stamp(created), now, raw, label, "processed", author, status, sla_due)
        per_author[author] = per_author.get(author, 0) + 1
        if shape.queue:
            row, reply_rows, suggestion_rows = _triaged(
                extra, row, created, label, status, followers[author], tiers[author], agents, shape,
                reply_id, suggestion_id,
            )
            reply_id += len(reply_rows)
            suggestion_id += len(suggestion_rows)
            replies += reply_rows
            suggestions += suggestion_rows
            result.open_mentions += status in OPEN_FOR_ANSWER
            result.pending_replies += sum(1 for r in reply_rows if r[2] == "pending_approval")
        mentions.append(row)
        if rng.random() < (0.12 if label == "negative" else 0.01):
            for _ in range(rng.choice((1, 1, 1, 2))):
                reply_id += 1
                sent = created + timedelta(minutes=rng.expovariate(1 / 120))
                # The queue's replies were last updated when sent, as the sender leaves them.
                updated = stamp(sent) if shape.queue else now
                reply = (reply_id, n, "sent", "Sorry to hear that", stamp(sent), now, updated)
                replies.append((*reply, None, None, None, None, False, 1, None) if shape.queue else reply)
        if len(mentions) >= 20_000:
            _flush(load, shape, mentions, suggestions, replies, result)
    _flush(load, shape, mentions, suggestions, replies, result)
    result.heaviest_profile, result.heaviest_profile_mentions = max(per_author.items(), key=lambda item: item[1])
    return result


def _triaged(
    extra: random.Random, row: tuple[Any, ...], created: datetime, label: str | None, status: str,
    followers: int | None, tier: str, agents: list[int], shape: Shape, reply_id: int, suggestion_id: int,
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The mention row with what triage sets, and its queued reply and suggestions if it has one."""
    confidence = round(extra.uniform(0.5, 0.99), 3) if label in ("negative", "neutral", "positive") else None
    open_now = status in OPEN_FOR_ANSWER
    if status == "new" and extra.random() < 0.05:  # not triaged yet
        return (*row[:15], None, confidence, None, None, None, None, None), [], []
    mood = 40.0 * (confidence or 0.5) if label == "negative" else 4.0 if label == "positive" else 12.0
    reach = 25.0 * min(1.0, math.log10(1 + followers) / math.log10(1 + HIGH_REACH_FOLLOWERS)) if followers else 0.0
    age = 10.0 if open_now or status == "waiting" else extra.uniform(0.0, 2.0)
    score = round(mood + reach + TIER_POINTS.get(tier, 0.0) + age, 1)
    level = next(name for name, floor in LEVEL_FLOORS if score >= floor)
    assignee = extra.choice(agents) if status == "assigned" or (status == "waiting" and extra.random() < 0.5) \
        else None
    triaged = stamp(created + timedelta(seconds=extra.uniform(5, 120)))
    sla_due = stamp(created + timedelta(minutes=SLA_MINUTES[level]))
    triaged_row = (*row[:15], sla_due, confidence, score, level, assignee, triaged, triaged)
    if not open_now:
        return triaged_row, [], []
    roll = extra.random()
    if roll >= shape.pending_share + shape.moving_share:
        return triaged_row, [], []
    mention_id = row[0]
    drafted = created + timedelta(minutes=extra.uniform(5, 600))
    suggestion_rows = [
        (suggestion_id + rank + 1, mention_id, REPLY_TEXTS[(mention_id + rank) % len(REPLY_TEXTS)], "rule", rank,
         round(1.0 - 0.2 * rank, 2), "bench", triaged)
        for rank in range(extra.choice((2, 3)))
    ]
    agent = assignee or extra.choice(agents)
    high_risk = label == "negative" and ((followers or 0) >= HIGH_REACH_FOLLOWERS or tier in ("press", "vip"))
    if roll < shape.pending_share:
        state, approved = "pending_approval", None
    else:
        state = extra.choice(("approved", "approved", "failed"))
        approved = stamp(drafted + timedelta(minutes=extra.uniform(1, 60)))
    reply = (reply_id + 1, mention_id, state, suggestion_rows[0][2], None, stamp(drafted),
             approved or stamp(drafted), suggestion_rows[0][0], agent, agent, stamp(drafted), high_risk,
             2 if high_risk else 1, approved)
    return triaged_row, [reply], suggestion_rows


def _flush(load: Loader, shape: Shape, mentions: list[tuple[Any, ...]], suggestions: list[tuple[Any, ...]],
           replies: list[tuple[Any, ...]], result: Generated) -> None:
    load("mentions", QUEUE_MENTION_COLUMNS if shape.queue else MENTION_COLUMNS, mentions)
    if suggestions:
        load("suggestions", SUGGESTION_COLUMNS, suggestions)
    load("replies", QUEUE_REPLY_COLUMNS if shape.queue else REPLY_COLUMNS, replies)
    result.mentions += len(mentions)
    result.suggestions += len(suggestions)
    result.replies += len(replies)
    mentions.clear()
    suggestions.clear()
    replies.clear()


# -- loaders -------------------------------------------------------------------------------------------


@contextmanager
def sqlite_loader(path: Path) -> Iterator[Loader]:
    """Load into a new SQLite file migrated to head; its secondary indexes are built after the load."""
    migrate(f"sqlite:///{path}")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    # Indexes with SQL of their own (not those behind UNIQUE constraints and primary keys).
    indexes = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        connection.execute(f'DROP INDEX "{name}"')

    def load(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if rows:
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)

    try:
        yield load
        for _, sql in indexes:
            connection.execute(sql)
        connection.commit()
    finally:
        connection.close()


@contextmanager
def postgres_loader(url: str) -> Iterator[Loader]:
    """Load into an empty PostgreSQL database migrated to head, by COPY.

    Its indexes other than those of primary keys and constraints are built after the
    load; foreign-key triggers are skipped during the load where the role may do so
    (``session_replication_role``, superusers), the rows being generated in an order
    that satisfies them anyway. Sequences are moved past the loaded ids and the
    tables vacuumed and analysed, as autovacuum leaves them some time after a bulk
    load (the visibility map set, so index-only scans need not visit the table).
    """
    import psycopg

    migrate(url)
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            try:
                cursor.execute("SET session_replication_role = replica")
            except psycopg.errors.InsufficientPrivilege:
                connection.rollback()
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = "
                "(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')

        def load(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
            if not rows:
                return
            with connection.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)

        yield load
        with connection.cursor() as cursor:
            for _, sql in indexes:
                cursor.execute(sql)
            cursor.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND column_name = 'id' AND column_default LIKE 'nextval%'"
            )
            for (table,) in cursor.fetchall():
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"GREATEST((SELECT max(id) FROM {table}), 1))"
                )
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM (ANALYZE)")
