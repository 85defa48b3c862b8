"""Benchmark: server time of the staff web pages over a large database, on SQLite and PostgreSQL.

    .venv/bin/python bench/pages.py [--mentions 1000000] [--previous N] [--postgres URL] [--no-sqlite]
                                    [--keep] [--dir DIR] [--runs 20] [--warmup 3] [--baseline-runs 5]
                                    [--only TEXT]

Generates (bench/data.py, the queue shape) ``--mentions`` mentions over a 30-day
period plus ``--previous`` (default a quarter as many) in the 30 days before it:
about 10% of them needing an answer, with the priority, level and SLA triage gives
them, some assigned to staff, 2% of those with a reply waiting for approval (with
its suggestions), authors with follower counts, customer profiles and identities.
On a SQLite file (in ``--dir``, default a temporary folder) and, with
``--postgres postgresql+psycopg://user@host:port``, in a new PostgreSQL database on
that server (``harken_bench_pages_<N>``), dropped at the end; ``--keep`` keeps the
file and the database and reuses them next time.

Then it asks the app (``responders.web.app.create_app``) for each page in-process
through FastAPI's TestClient, signed in through the sign-in form as an approver
(the digest as a manager). The time is the server's: an ASGI wrapper around the
app measures from the request entering the app to the last byte of its response,
so it holds routing, the session check, the queries and the template, and not the
test client's own work (printed apart). Per page: median and 95th percentile over
``--runs`` requests after ``--warmup``.

Baseline, in the same run and on the same data: the pages as they were before
migration 0008: the database downgraded to 0007 (without ``ix_mentions_open``,
``ix_replies_updated`` and ``ix_mentions_profile_timeline``, with
``ix_mentions_profile_id``; upgraded again after) and, for the inbox and the
queue, the former queries (copied below: one statement that joins every open
reply and sorts every match). The digest page is served from a snapshot
(responders.digests.snapshots, migration 0010); its baseline is the same page cold,
with no snapshot (every stored one deleted before each request, outside the
timing): the compute, its store and the page. ``compute_digest`` alone is printed
too. A second baseline, for the pages that the inbox's search serves: its query as it was
before migration 0012 (copied below: a LIKE over every text; a view over every status
sorting every mention of the period) on the schema of 0011 (without the trigram index
of the text and ``ix_mentions_order``); the report gives its ratio and whether each
page's p95 is within 100 ms. ``--only TEXT`` measures only the pages whose name contains TEXT (e.g.
``--only digest``; the downgrade for the legacy baseline is skipped when none of
them needs it). Asserts nothing; prints figures.
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import bindparam, create_engine, delete, func, or_, select, text
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import aliased
from sqlmodel import Session

from bench import data
from listener.db import downgrade, make_engine, migrate
from listener.models import (
    Author,
    CustomerProfile,
    DigestSnapshot,
    Mention,
    Reply,
    Source,
    StaffUser,
)
from listener.settings import load_settings

PASSWORD = "bench horse battery staple"
P95_TARGET_MS = 100.0
BASELINE_REVISION = "0007"
"""The baseline's schema: before migrations 0008 (ix_mentions_open, ix_replies_updated) and 0009
(ix_mentions_profile_timeline in place of ix_mentions_profile_id)."""
FORMER_REVISION = "0011"
"""The second baseline's schema: before migration 0012 (the trigram index of the text, ix_mentions_order)."""


@dataclass(frozen=True)
class PageCase:
    name: str
    path: str
    role: str = "approver"
    # "legacy" (the former queries, without the new indexes) or "cold" (the page with no digest snapshot)
    baseline: str | None = None
    target_ms: float | None = None


def cases(profile_id: int) -> list[PageCase]:
    start = data.PERIOD_START.date()
    last = (data.PERIOD_START + timedelta(days=data.PERIOD_DAYS - 1)).date()
    middle = (data.PERIOD_START + timedelta(days=14)).date()
    return [
        PageCase("inbox (default: needs an answer)", "/inbox", baseline="legacy", target_ms=50),
        PageCase("inbox, platform=x sentiment=negative", "/inbox?platform=x&sentiment=negative",
                 baseline="legacy", target_ms=50),
        PageCase("inbox, reddit + unscored + urgent (rare)", "/inbox?platform=reddit&sentiment=unscored"
                 "&priority=urgent", baseline="legacy"),
        PageCase("inbox, assignee=one agent", "/inbox?assignee=agent3%40bench.test", baseline="legacy"),
        PageCase("inbox, text 'refund' (common)", "/inbox?q=refund", baseline="legacy", target_ms=50),
        PageCase("inbox, text 'zebra' (no match)", "/inbox?q=zebra", baseline="legacy", target_ms=50),
        PageCase("inbox, text 'crashes on login' (rarer)", "/inbox?q=crashes+on+login", baseline="legacy",
                 target_ms=50),
        PageCase("inbox, every status, text 'zebra'", "/inbox?status=all&q=zebra", baseline="legacy",
                 target_ms=50),
        PageCase("inbox, every status, text 'refund' (common)", "/inbox?status=all&q=refund", baseline="legacy",
                 target_ms=50),
        PageCase("inbox, text 'refund', reddit + unscored (narrowed)", "/inbox?q=refund&platform=reddit"
                 "&sentiment=unscored", baseline="legacy", target_ms=50),
        PageCase("inbox, every status, text 'handle12345'", "/inbox?status=all&q=handle12345", baseline="legacy",
                 target_ms=50),
        PageCase("inbox, every status, one day", f"/inbox?status=all&since={middle}&until={middle}",
                 baseline="legacy", target_ms=50),
        PageCase("inbox, every status, 30 days", f"/inbox?status=all&since={start}&until={last}",
                 baseline="legacy", target_ms=50),
        PageCase("API /api/v1/mentions (default)", "/api/v1/mentions", baseline="legacy", target_ms=50),
        PageCase("approval queue", "/queue", baseline="legacy", target_ms=50),
        PageCase("profile (the busiest)", f"/profiles/{profile_id}", baseline="legacy"),
        PageCase("digest, 30 days (snapshot)", f"/digest?since={start}&until={last}", role="manager",
                 baseline="cold", target_ms=200),
    ]


# -- the database ------------------------------------------------------------------------------------


@dataclass
class Database:
    label: str
    url: str
    created: bool  # generated in this run
    drop: Callable[[], None] = lambda: None
    stats: data.Generated = field(default_factory=data.Generated)


def shape(args: argparse.Namespace) -> data.Shape:
    return data.Shape(args.mentions, args.previous, statuses=data.QUEUE_STATUSES, queue=True)


def sqlite_database(args: argparse.Namespace, folder: Path) -> Database:
    path = folder / f"pages-{args.mentions}.db"
    created = not (args.keep and path.exists())
    if created:
        for leftover in folder.glob(path.name + "*"):
            leftover.unlink()
        started = time.perf_counter()
        with data.sqlite_loader(path) as load:
            stats = data.generate(load, shape(args))
        print(f"SQLite: generated in {time.perf_counter() - started:.0f} s ({path}, "
              f"{path.stat().st_size / 1e6:,.0f} MB)")
    else:
        stats = data.Generated()
    url = f"sqlite:///{path}"

    def drop() -> None:
        if not args.keep:
            for leftover in folder.glob(path.name + "*"):
                leftover.unlink()

    return Database("SQLite", url, created, drop, stats)


def postgres_database(args: argparse.Namespace) -> Database:
    server = make_url(args.postgres)
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"harken_bench_pages_{args.mentions}"
    admin = create_engine(server.set(database=server.database or "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        created = not (args.keep and exists)
        if created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    if created:
        started = time.perf_counter()
        with data.postgres_loader(url) as load:
            stats = data.generate(load, shape(args))
        with admin.connect() as connection:
            size = connection.scalar(text("SELECT pg_database_size(:n)"), {"n": name}) or 0
        print(f"PostgreSQL: generated in {time.perf_counter() - started:.0f} s ({name}, {size / 1e6:,.0f} MB)")
    else:
        stats = data.Generated()

    def drop() -> None:
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return Database("PostgreSQL", url, created, drop, stats)


def describe(engine: Engine, db: Database) -> None:
    """Counts for the report, and the busiest profile when the data was reused (not generated now)."""
    with Session(engine) as session:
        if not db.created:
            db.stats.mentions = session.scalar(select(func.count()).select_from(Mention)) or 0
            db.stats.open_mentions = session.scalar(select(func.count()).select_from(Mention).where(
                Mention.status.in_(["new", "needs_reply", "assigned"]))) or 0  # type: ignore[attr-defined]
            db.stats.pending_replies = session.scalar(select(func.count()).select_from(Reply).where(
                Reply.state == "pending_approval")) or 0
            db.stats.heaviest_profile, db.stats.heaviest_profile_mentions = session.execute(
                select(Mention.profile_id, func.count()).group_by(Mention.profile_id)
                .order_by(func.count().desc()).limit(1)
            ).one()
    s = db.stats
    print(f"{db.label}: {s.mentions:,} mentions, {s.open_mentions:,} needing an answer, {s.pending_replies:,} "
          f"replies waiting for approval; busiest profile {s.heaviest_profile} with "
          f"{s.heaviest_profile_mentions:,} mentions")


def add_model_columns(engine: Engine) -> list[tuple[str, str]]:
    """Columns that later migrations added to tables still present (``staff_users.timezone``), added back
    (nullable, no index) so that today's models can read the older schema; returns them, for drop_columns."""
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    added = []
    inspector = inspect(engine)
    with engine.begin() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    kind = column.type.compile(dialect=engine.dialect)
                    connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
                    added.append((table.name, column.name))
    return added


def drop_columns(engine: Engine, columns: list[tuple[str, str]]) -> None:
    with engine.begin() as connection:
        for table, column in columns:
            connection.execute(text(f'ALTER TABLE "{table}" DROP COLUMN "{column}"'))


@contextmanager
def schema_before(engine: Engine, url: str, revision: str = BASELINE_REVISION,
                  added: list[tuple[str, str]] | None = None) -> Iterator[list[tuple[str, str]]]:
    """The schema as it was at ``revision`` (before migration 0008: 0007), upgraded to head again after.

    Columns added since to tables the pages read are there too (add_model_columns), as the models read them;
    ``added`` collects them (a caller that downgrades further adds to it), dropped again before the upgrade.
    """
    engine.dispose()
    downgrade(url, revision)
    added = added if added is not None else []
    added += add_model_columns(engine)
    try:
        yield added
    finally:
        engine.dispose()
        drop_columns(engine, added)
        engine.dispose()
        migrate(url)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE mentions"))
                connection.execute(text("ANALYZE replies"))


# -- the former queries (before migration 0008), for the baseline ------------------------------------


def legacy_search(session: Session, wanted: Any, me: StaffUser | None = None, limit: int = 50,
                  offset: int = 0) -> Any:
    """responders.inbox.search as it was: one statement joining every open reply, sorting every match."""
    from responders import inbox
    from responders.workflow import OPEN_STATES

    wanted.check()
    assignee = aliased(StaffUser)
    open_reply = (
        select(Reply.mention_id, Reply.id.label("reply_id"), Reply.state.label("reply_state"))  # type: ignore[attr-defined]
        .where(Reply.state.in_(OPEN_STATES))  # type: ignore[attr-defined]
        .subquery()
    )
    statement = (
        select(Mention, Author.handle, Author.followers, CustomerProfile.tier, assignee.email,
               open_reply.c.reply_id, open_reply.c.reply_state)
        .outerjoin(Author, Author.id == Mention.author_id)
        .outerjoin(CustomerProfile, CustomerProfile.id == Mention.profile_id)
        .outerjoin(assignee, assignee.id == Mention.assignee_id)
        .outerjoin(open_reply, open_reply.c.mention_id == Mention.id)
    )
    if wanted.statuses and set(wanted.statuses) != set(inbox.STATUSES):
        statement = statement.where(Mention.status.in_(list(wanted.statuses)))  # type: ignore[attr-defined]
    if wanted.platform:
        statement = statement.where(Mention.platform == wanted.platform)
    if wanted.sentiment == "unscored":
        statement = statement.where(Mention.sentiment_label.is_(None) | (Mention.sentiment_label == "unscored"))  # type: ignore[union-attr]
    elif wanted.sentiment:
        statement = statement.where(Mention.sentiment_label == wanted.sentiment)
    if wanted.priority_level:
        statement = statement.where(Mention.priority_level == wanted.priority_level)
    if wanted.assignee == "unassigned":
        statement = statement.where(Mention.assignee_id.is_(None))  # type: ignore[union-attr]
    elif wanted.assignee == "me":
        statement = statement.where(Mention.assignee_id == (me.id if me is not None else -1))
    elif wanted.assignee:
        statement = statement.where(assignee.email == wanted.assignee.strip().lower())
    if wanted.since:
        statement = statement.where(Mention.created_at >= inbox._start(wanted.since))
    if wanted.until:
        statement = statement.where(Mention.created_at < inbox._end(wanted.until))
    if wanted.text and wanted.text.strip():
        words = wanted.text.strip().lower()
        if words.startswith("@"):
            statement = statement.where(
                func.lower(func.coalesce(Author.handle, "")).like(inbox._contains(words[1:]), escape="\\"))
        else:
            needle = inbox._contains(words)
            statement = statement.where(or_(
                func.lower(Mention.text).like(needle, escape="\\"),
                func.lower(func.coalesce(Mention.title, "")).like(needle, escape="\\"),
                func.lower(func.coalesce(Author.handle, "")).like(needle, escape="\\"),
            ))
    statement = statement.order_by(
        Mention.priority.desc().nulls_last(), Mention.sla_due_at.asc().nulls_last(),  # type: ignore[union-attr]
        Mention.created_at, Mention.id,
    ).limit(limit + 1).offset(offset)
    items = legacy_items(session.execute(statement))
    return inbox.InboxPage(items[:limit], offset, limit, len(items) > limit, wanted)


def legacy_items(rows: Any) -> list[Any]:
    """The rows as the former queries read them: each mention a whole ORM object."""
    from responders import inbox

    return [
        inbox.QueueItem(mention.id, mention.platform, mention.status, mention.priority, mention.priority_level,
                        mention.sla_due_at, mention.created_at, mention.text, mention.url, mention.sentiment_label,
                        handle, followers, tier, assignee_mail, reply_id, reply_state, mention.sentiment_confidence,
                        version=mention.version)
        for mention, handle, followers, tier, assignee_mail, reply_id, reply_state in rows
    ]


def legacy_cards(db: Session, states: tuple[str, ...], limit: int, recent_first: bool = False) -> list[Any]:
    """responders.web.routes.approvals.cards as it was: wide rows joined and sorted, then cut to ``limit``."""
    from responders.web.routes import approvals as queue_routes

    submitter = select(StaffUser.id, StaffUser.email).subquery()
    statement = (
        select(Reply, Mention, Author, CustomerProfile, submitter.c.email)
        .join(Mention, Mention.id == Reply.mention_id)
        .outerjoin(Author, Author.id == Mention.author_id)
        .outerjoin(CustomerProfile, CustomerProfile.id == Mention.profile_id)
        .outerjoin(submitter, submitter.c.id == Reply.submitted_by_id)
        .where(Reply.state.in_(states))  # type: ignore[attr-defined]
    )
    if recent_first:
        statement = statement.order_by(Reply.updated_at.desc(), Reply.id.desc())  # type: ignore[attr-defined]
    else:
        statement = statement.order_by(Mention.priority.desc().nulls_last(), Reply.id)  # type: ignore[union-attr]
    return queue_routes.as_cards(db, db.execute(statement.limit(limit)).all())


# -- the inbox's query before migration 0012, for the second baseline --------------------------------


def former_search(session: Session, wanted: Any, me: StaffUser | None = None, limit: int = 50,
                  offset: int = 0) -> Any:
    """responders.inbox.search before migration 0012: a LIKE over every text, every status sorted."""
    from responders import inbox
    from responders.triage import OPEN, STATUSES
    wanted.check()
    words = (wanted.text or "").strip().lower()
    handles = inbox._contains(words[1:]) if words.startswith("@") else None
    authors: list[int] | None = None
    if handles is not None:
        # A few authors' mentions are found through the author index and sorted; a handle fragment that
        # many authors share (as while typing) is checked along the walk in the queue's order instead.
        found = list(session.execute(
            select(Author.id).where(inbox._handle_like(handles)).limit(inbox.FEW_AUTHORS + 1)  # type: ignore[arg-type]
        ).scalars())
        if not found:
            return inbox.InboxPage([], offset, limit, False, wanted)
        authors = found if len(found) <= inbox.FEW_AUTHORS else None
    open_only = bool(wanted.statuses) and set(wanted.statuses) <= set(OPEN) and authors is None
    m = inbox.OPEN_MENTIONS if open_only else inbox.AUTHOR_MENTIONS if authors is not None else Mention
    ids = select(m.id)
    if open_only and session.get_bind().dialect.name == "sqlite":
        # The index's own condition, word for word: SQLite sees that a partial index applies only so.
        # (PostgreSQL proves it from the statuses below; the repeated condition would only skew its estimates.)
        ids = ids.where(sql_text(f"{inbox.OPEN_MENTIONS_NAME}.{inbox.OPEN_MENTION_CONDITION}"))
    if wanted.statuses and set(wanted.statuses) != set(STATUSES):
        # Known values (checked above), written into the SQL: PostgreSQL plans with them even once the
        # statement is prepared, and sees that the partial index of open mentions applies.
        ids = ids.where(m.status.in_(bindparam("statuses", list(wanted.statuses), expanding=True,
                                               literal_execute=True)))
    if wanted.platform:
        ids = ids.where(m.platform == wanted.platform)
    if wanted.sentiment == "unscored":
        ids = ids.where(m.sentiment_label.is_(None) | (m.sentiment_label == "unscored"))
    elif wanted.sentiment:
        ids = ids.where(m.sentiment_label == wanted.sentiment)
    if wanted.priority_level:
        ids = ids.where(m.priority_level == wanted.priority_level)
    if wanted.assignee == "unassigned":
        ids = ids.where(m.assignee_id.is_(None))
    elif wanted.assignee == "me":
        ids = ids.where(m.assignee_id == (me.id if me is not None else -1))
    elif wanted.assignee:
        ids = ids.where(m.assignee_id.in_(
            select(StaffUser.id).where(StaffUser.email == wanted.assignee.strip().lower())))
    if wanted.since:
        ids = ids.where(m.created_at >= inbox._start(wanted.since))
    if wanted.until:
        ids = ids.where(m.created_at < inbox._end(wanted.until))
    if wanted.source:
        ids = ids.where(m.source_id.in_(select(Source.id).where(Source.name == wanted.source)))
    if authors is not None:  # an author: search handles only
        ids = ids.where(m.author_id.in_(authors))
    elif handles is not None:
        ids = ids.outerjoin(Author, Author.id == m.author_id).where(inbox._handle_like(handles))
    elif words:
        needle = inbox._contains(words)
        ids = ids.outerjoin(Author, Author.id == m.author_id).where(or_(
            func.lower(m.text).like(needle, escape="\\"),
            func.lower(func.coalesce(m.title, "")).like(needle, escape="\\"),
            inbox._handle_like(needle),
        ))
    page = ids.order_by(*inbox.queue_order(m)).limit(limit + 1).offset(offset).subquery("page")
    items = inbox._items(session.execute(inbox._rows(page).order_by(*inbox.queue_order(inbox.ROW_MENTIONS))))
    return inbox.InboxPage(items[:limit], offset, limit, len(items) > limit, wanted)


def no_saved_views(*_: Any) -> list[Any]:
    """The inbox as it was before migration 0016: no saved views (the older schemas have no table for them)."""
    return []


@contextmanager
def former_queries() -> Iterator[None]:
    from responders.web.routes import inbox as inbox_routes

    saved = inbox_routes.search, inbox_routes.views_of
    inbox_routes.search, inbox_routes.views_of = former_search, no_saved_views  # type: ignore[assignment]
    try:
        yield
    finally:
        inbox_routes.search, inbox_routes.views_of = saved  # type: ignore[assignment]


def uses_inbox_search(case: PageCase) -> bool:
    return case.path.startswith(("/inbox", "/api/v1/mentions"))


@contextmanager
def legacy_queries() -> Iterator[None]:
    from responders.web.routes import approvals as queue_routes
    from responders.web.routes import inbox as inbox_routes

    saved = inbox_routes.search, queue_routes.cards, inbox_routes.views_of
    inbox_routes.search, queue_routes.cards, inbox_routes.views_of = (  # type: ignore[assignment]
        legacy_search, legacy_cards, no_saved_views)
    try:
        yield
    finally:
        inbox_routes.search, queue_routes.cards, inbox_routes.views_of = saved  # type: ignore[assignment]


# -- timing ------------------------------------------------------------------------------------------


class ServerTimer:
    """ASGI wrapper: the time from a request entering the app to the end of its response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        await self.app(scope, receive, send)
        self.last = time.perf_counter() - started


def signed_in(timer: ServerTimer, email: str) -> TestClient:
    client = TestClient(timer, base_url="http://testserver")
    form = client.get("/signin")
    token = re.search(r'name="signin_token" value="([^"]+)"', form.text)
    assert token, "no sign-in form"
    response = client.post("/signin", data={"email": email, "password": PASSWORD, "signin_token": token.group(1),
                                            "next": "/inbox"}, follow_redirects=False)
    assert response.status_code == 303, f"sign-in as {email} failed: {response.status_code}"
    return client


@dataclass
class Timing:
    median_ms: float
    p95_ms: float
    client_ms: float  # the test client's own share (not in the figures)
    status: int


def measure(client: TestClient, timer: ServerTimer, path: str, warmup: int, runs: int,
            before: Callable[[], None] | None = None) -> Timing:
    """The server time of ``path``; ``before`` runs ahead of each request, outside the timing."""
    server, overhead, status = [], [], 0
    for n in range(warmup + runs):
        if before is not None:
            before()
        started = time.perf_counter()
        response = client.get(path)
        wall = time.perf_counter() - started
        status = response.status_code
        if n >= warmup:
            server.append(timer.last)
            overhead.append(wall - timer.last)
    server.sort()
    return Timing(1000 * statistics.median(server), 1000 * server[math.ceil(0.95 * len(server)) - 1],
                  1000 * statistics.median(overhead), status)


def forget_snapshots(engine: Engine) -> None:
    """Delete every stored digest, so the next digest page computes: the page as it is cold."""
    with engine.begin() as connection:
        connection.execute(delete(DigestSnapshot))


def time_compute_digest(engine: Engine, settings: Any, warmup: int, runs: int) -> Timing:
    from responders.digests.dispatch import build_digest
    from responders.digests.periods import Period

    period = Period(data.PERIOD_START, data.PERIOD_START + timedelta(days=data.PERIOD_DAYS), "custom", "UTC")
    times = []
    for n in range(warmup + runs):
        started = time.perf_counter()
        build_digest(engine, settings, period)
        if n >= warmup:
            times.append(time.perf_counter() - started)
    times.sort()
    return Timing(1000 * statistics.median(times), 1000 * times[math.ceil(0.95 * len(times)) - 1], 0.0, 200)


Result = tuple[str, PageCase, Timing, Timing | None, Timing | None]
"""database, page, timing, baseline (before 0008, or cold), the inbox's query before 0012"""


def bench(db: Database, args: argparse.Namespace) -> list[Result]:
    from responders.web.app import create_app
    from responders.web.security import set_password

    migrate(db.url)  # a kept database from an older schema, or one whose baseline run was interrupted
    engine = make_engine(db.url)
    describe(engine, db)
    settings = load_settings(database={"url": db.url}, sentiment={"enabled": False},
                             web={"secure_cookies": "never", "sign_in_max_failures": 1000})
    with Session(engine) as session:
        users = {}
        for role in ("approver", "manager"):
            user = session.execute(
                select(StaffUser).where(StaffUser.role == role).order_by(StaffUser.id)  # type: ignore[arg-type]
            ).scalars().first()
            assert user is not None, f"no {role} in the bench data"
            set_password(session, user, PASSWORD, "system:bench")
            users[role] = user.email
        session.commit()
    timer = ServerTimer(create_app(settings, engine))
    clients = {role: signed_in(timer, email) for role, email in users.items()}
    results: list[Result] = []
    page_cases = [c for c in cases(db.stats.heaviest_profile) if args.only is None or args.only in c.name]
    for case in page_cases:
        timing = measure(clients[case.role], timer, case.path, args.warmup, args.runs)
        results.append((db.label, case, timing, None, None))
        print(f"  {case.name}: {timing.median_ms:.1f} ms (status {timing.status})", flush=True)
    # Baselines: the inbox's query before migration 0012 on its schema (0011); the former queries on the
    # schema without the indexes of 0008 (0007); then compute_digest alone.
    baselines: dict[str, Timing] = {}
    formers: dict[str, Timing] = {}
    if any(case.baseline == "legacy" for case in page_cases):
        with schema_before(engine, db.url, FORMER_REVISION) as added:
            with former_queries():
                for case in page_cases:
                    if case.baseline == "legacy" and uses_inbox_search(case):
                        formers[case.name] = measure(clients[case.role], timer, case.path, 1, args.baseline_runs)
                        print(f"  before 0012 {case.name}: {formers[case.name].median_ms:.1f} ms", flush=True)
            engine.dispose()
            try:
                downgrade(db.url, BASELINE_REVISION)
            except Exception as error:  # a migration whose downgrade fails here: say so, keep the other figures
                print(f"  baseline before 0008 skipped: downgrading to {BASELINE_REVISION} failed: "
                      f"{str(error).splitlines()[0]}", flush=True)
            else:
                added += add_model_columns(engine)
                with legacy_queries():
                    for case in page_cases:
                        if case.baseline == "legacy":
                            baselines[case.name] = measure(clients[case.role], timer, case.path, 1,
                                                           args.baseline_runs)
                            print(f"  baseline {case.name}: {baselines[case.name].median_ms:.1f} ms", flush=True)
    for case in page_cases:
        if case.baseline == "cold":
            baselines[case.name] = measure(clients[case.role], timer, case.path, 1, args.baseline_runs,
                                           before=lambda: forget_snapshots(engine))
            print(f"  cold (no snapshot) {case.name}: {baselines[case.name].median_ms:.1f} ms", flush=True)
            alone = time_compute_digest(engine, settings, 1, args.baseline_runs)
            print(f"  compute_digest alone: {alone.median_ms:.1f} ms", flush=True)
    for client in clients.values():
        client.close()
    engine.dispose()
    return [(label, case, timing, baselines.get(case.name), formers.get(case.name))
            for label, case, timing, _, _ in results]


def report(n: int, previous: int, results: list[Result], args: argparse.Namespace) -> None:
    print(f"\nServer time per page at {n:,} mentions (+{previous:,} in the previous 30 days); "
          f"median and p95 of {args.runs} requests after {args.warmup} warm-ups; baseline median of "
          f"{args.baseline_runs} (the queries and schema before migration 0008; digest: "
          "the same page cold, with no snapshot) and, for the inbox, the median of its query and schema before "
          f"migration 0012; every page's p95 should be <= {P95_TARGET_MS:.0f} ms:")
    print(f"  {'database':<11} {'page':<46} {'median':>9} {'p95':>9} {'baseline':>10} {'ratio':>7} "
          f"{'pre-0012':>10} {'ratio':>7}  target")
    for label, case, timing, baseline, former in results:
        base = f"{baseline.median_ms:8.1f}ms" if baseline else f"{'-':>10}"
        ratio = f"{baseline.median_ms / timing.median_ms:6.1f}x" if baseline else f"{'-':>7}"
        before = f"{former.median_ms:8.1f}ms" if former else f"{'-':>10}"
        before_ratio = f"{former.median_ms / timing.median_ms:6.1f}x" if former else f"{'-':>7}"
        target = ""
        if case.target_ms is not None:
            target = f"<= {case.target_ms:.0f} ms: {'met' if timing.median_ms <= case.target_ms else 'MISSED'}; "
        target += f"p95 {'met' if timing.p95_ms <= P95_TARGET_MS else 'MISSED'}"
        print(f"  {label:<11} {case.name:<46} {timing.median_ms:7.1f}ms {timing.p95_ms:7.1f}ms {base} {ratio} "
              f"{before} {before_ratio}  {target}")
    overhead = statistics.median(t.client_ms for _, _, t, _, _ in results)
    print(f"  (the test client's own time, not included above: about {overhead:.1f} ms a request)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--previous", type=int, default=None, help="default: a quarter of --mentions")
    parser.add_argument("--postgres", default=None, help="server URL, e.g. postgresql+psycopg://postgres@127.0.0.1")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the SQLite file and PostgreSQL database")
    parser.add_argument("--dir", type=Path, default=None, help="where the SQLite file goes")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--baseline-runs", type=int, default=5)
    parser.add_argument("--only", default=None, help="only the pages whose name contains this, e.g. digest")
    args = parser.parse_args()
    if args.previous is None:
        args.previous = args.mentions // 4
    folder = args.dir or Path(tempfile.mkdtemp(prefix="harken-pages-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        makers: list[Callable[[], Database]] = []
        if not args.no_sqlite:
            makers.append(lambda: sqlite_database(args, folder))
        if args.postgres:
            makers.append(lambda: postgres_database(args))
        for make in makers:
            db = make()
            try:
                results += bench(db, args)
            finally:
                db.drop()
    finally:
        if args.dir is None and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    report(args.mentions, args.previous, results, args)


if __name__ == "__main__":
    main()
