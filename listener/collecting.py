"""Running collectors: each page's mentions and cursor are stored in one transaction.

:class:`CollectionRunner` owns the ``sources`` rows. A run of one source never
raises: a 429 pauses that source until the platform's reset time, a failure backs
it off (doubling, capped), and the outcome is recorded on the row, so one bad
source never stops the others or the process.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import utcnow
from listener.models import Author, Mention, QuarantinedPayload, Source
from listener.platforms import collectors, configured_sources, get_platform
from listener.platforms.collector import (
    MISSING_KEY,
    CollectedAuthor,
    CollectedMention,
    Collector,
    Page,
    QuarantinedItem,
    RateLimited,
    SourceMisconfigured,
    SourceSpec,
    SourceUnavailable,
    never,
)
from listener.processing import is_connection_error
from listener.settings import Settings

log = logging.getLogger(__name__)

SETTINGS_ORIGIN = "settings"
"""``Source.origin`` of the sources made from the settings file (the others: ``APP_ORIGIN``)."""
APP_ORIGIN = "app"


@dataclass
class RunSummary:
    source: str
    status: str  # ok, skipped, paused, failed
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    pages: int = 0
    error: str | None = None


def clean_text(value: str | None) -> str | None:
    """Drop NUL characters: PostgreSQL text cannot hold them, and they carry no meaning."""
    return value.replace("\x00", "") if value is not None else None


def _insert(engine: Engine, table: Any) -> Any:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def store_page(session: Session, source: Source, page: Page) -> tuple[int, int]:
    """Insert the page's authors, mentions and quarantined items and move the cursor.

    The caller commits: everything here is one transaction. Returns
    (mentions stored, mentions already present).
    """
    engine = session.get_bind()
    now = utcnow()
    author_ids = _upsert_authors(session, engine, [m.author for m in page.mentions if m.author], now)
    stored = 0
    if page.mentions:
        rows = [_mention_row(m, source.id, author_ids, now) for m in page.mentions]
        table = Mention.__table__
        statement = (
            _insert(engine, table)
            .on_conflict_do_nothing(index_elements=["platform", "external_id"])
            .returning(table.c.id)
        )
        # The rows as parameters, not as a VALUES clause: SQLAlchemy then sends them in multi-row
        # batches from one cached compiled statement instead of compiling a 1,600-parameter one per page.
        stored = len(session.connection().execute(statement, rows).all())
    _quarantine(session, source, page.quarantined)
    session.execute(
        update(Source)
        .where(Source.id == source.id)
        .values(cursor=page.cursor, mentions_collected=Source.mentions_collected + stored)
    )
    return stored, len(page.mentions) - stored


def _quarantine(session: Session, source: Source, items: Iterable[QuarantinedItem]) -> None:
    """Keep each payload that could not be understood once per source: a page read again (a retry, a
    resumed walk) brings the same bad payloads, and a person needs to see each once, not hundreds of times."""
    fresh: dict[str, QuarantinedItem] = {}
    for item in items:
        fresh.setdefault(clean_text(item.raw) or "", item)
    if not fresh:
        return
    known = set(
        session.execute(
            select(QuarantinedPayload.raw).where(
                QuarantinedPayload.source_name == source.name,
                QuarantinedPayload.raw.in_(list(fresh)),  # type: ignore[attr-defined]
            )
        ).scalars()
    )
    for raw, item in fresh.items():
        if raw not in known:
            session.add(
                QuarantinedPayload(source_name=source.name, platform=source.platform, error=item.error, raw=raw)
            )


def _upsert_authors(
    session: Session, engine: Engine, authors: Iterable[CollectedAuthor], now: datetime
) -> dict[tuple[str, str], int]:
    unique = {(a.platform, a.platform_user_id): a for a in authors}
    if not unique:
        return {}
    table = Author.__table__
    statement = _insert(engine, table)
    excluded = statement.excluded
    # Handles and names change; the platform user id is the identity.
    statement = statement.on_conflict_do_update(
        index_elements=["platform", "platform_user_id"],
        set_={
            "handle": excluded.handle,
            "display_name": func.coalesce(excluded.display_name, table.c.display_name),
            "followers": func.coalesce(excluded.followers, table.c.followers),
            "bio": func.coalesce(excluded.bio, table.c.bio),
            "updated_at": excluded.updated_at,
        },
    )
    # One statement, executed for every author of the page (executemany), rather than a
    # statement built and compiled per author: that cost more than the rest of the page.
    session.connection().execute(statement, [
        {"platform": author.platform, "platform_user_id": author.platform_user_id,
         "handle": clean_text(author.handle), "display_name": clean_text(author.display_name),
         "followers": author.followers, "bio": clean_text(author.bio), "first_seen_at": now, "updated_at": now}
        for author in unique.values()
    ])
    ids: dict[tuple[str, str], int] = {}
    for platform in {platform for platform, _ in unique}:
        found = session.execute(
            select(Author.id, Author.platform, Author.platform_user_id).where(
                Author.platform == platform,
                Author.platform_user_id.in_([user_id for p, user_id in unique if p == platform]),
            )
        )
        ids.update({(row.platform, row.platform_user_id): row.id for row in found})
    return ids


def _mention_row(
    mention: CollectedMention, source_id: int | None, author_ids: dict[tuple[str, str], int], now: datetime
) -> dict[str, Any]:
    author_id = (
        author_ids.get((mention.author.platform, mention.author.platform_user_id)) if mention.author else None
    )
    return {
        "platform": mention.platform,
        "external_id": mention.external_id,
        "kind": mention.kind,
        "source_id": source_id,
        "author_id": author_id,
        "text": clean_text(mention.text),
        "title": clean_text(mention.title),
        "url": mention.url,
        "in_reply_to_external_id": mention.in_reply_to_external_id,
        "conversation_external_id": mention.conversation_external_id,
        "created_at": mention.created_at,
        "collected_at": now,
        "raw": json.dumps(
            {**mention.raw, MISSING_KEY: list(mention.missing)} if mention.missing else mention.raw, ensure_ascii=False
        ).replace("\x00", "\\u0000"),
        "processing_state": "new",
        "status": "new",
    }


@dataclass(frozen=True)
class ScheduledSource:
    """What the scheduler needs of a source row to keep its job."""

    name: str
    interval_seconds: int
    run_requested_at: datetime | None


def settings_own(source: Source) -> bool:
    """Whether the settings file still decides this source: it came from there and nobody changed it in the app."""
    return source.origin == SETTINGS_ORIGIN and source.changed_in_app_at is None


class CollectionRunner:
    """Keeps ``sources`` in step with the settings and runs collectors against them."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.live: Callable[[], bool] = never
        """Set by the scheduler: True while it is running (see ``Collector.live``)."""

    def sync_sources(self) -> list[SourceSpec]:
        """Seed ``sources`` from the settings: create the configured sources the first time, refresh the options
        of those nobody changed in the web app, disable those the settings no longer ask for.

        What an admin added or changed in the web app is theirs: a start-up neither overwrites nor disables it.
        """
        specs = configured_sources(self.settings)
        wanted = {spec.name: spec for spec in specs}
        with Session(self.engine) as session:
            existing = {s.name: s for s in session.exec(select(Source)).scalars()}  # type: ignore[call-overload]
            for name, spec in wanted.items():
                row = existing.get(name)
                if row is None:
                    session.add(
                        Source(name=name, kind=spec.kind, platform=spec.platform, options=spec.options,
                               interval_seconds=spec.interval_seconds)
                    )
                elif settings_own(row):
                    row.kind, row.options, row.enabled = spec.kind, spec.options, True
                    row.interval_seconds = spec.interval_seconds
            for name, row in existing.items():
                if name not in wanted and row.enabled and settings_own(row):
                    row.enabled = False
            session.commit()
        return specs

    def scheduled(self) -> list[ScheduledSource]:
        """The sources the scheduler keeps jobs for (enabled, not paused by an admin), oldest first."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(Source.name, Source.interval_seconds, Source.run_requested_at)
                .where(Source.enabled, Source.paused_at.is_(None))  # type: ignore[union-attr]
                .order_by(Source.id)
            ).all()
        return [ScheduledSource(name, interval, requested) for name, interval, requested in rows]

    def _collector(self, source: Source) -> Collector:
        cls = collectors()[source.kind]
        section = get_platform(source.platform).settings_of(self.settings)
        spec = SourceSpec(source.name, source.kind, source.platform, source.interval_seconds, dict(source.options))
        with self._lock:
            client = self._clients.get(source.name)
            if client is None:
                client = self._clients[source.name] = cls.make_client(section)
        collector = cls(spec, section, client)
        collector.live = self.live
        return collector

    def run(self, name: str, now: datetime | None = None) -> RunSummary:
        """Run one source once, from its stored cursor. Never raises for platform trouble."""
        now = now or utcnow()
        with Session(self.engine, expire_on_commit=False) as session:
            source = session.execute(select(Source).where(Source.name == name)).scalar_one()
            requested = source.run_requested_at is not None
            if requested:
                # The request is answered by this run, whatever it finds: clear it first, so a run that takes
                # long is not asked for again. Only a request made before now: a newer one still stands.
                session.execute(update(Source).where(Source.id == source.id, Source.run_requested_at <= now)
                                .values(run_requested_at=None))
                session.commit()
            if not source.enabled:
                return RunSummary(name, "skipped", error="disabled")
            if source.paused_at is not None:
                return RunSummary(name, "skipped", error="paused by an admin")
            # "Run now" goes ahead despite a failure back-off (the admin may have fixed the cause), never
            # despite a rate limit, which the platform would only answer with another 429.
            backing_off = not (requested and source.pause_reason == "failing")
            if backing_off and source.paused_until and source.paused_until > now:
                return RunSummary(name, "skipped", error=f"paused until {source.paused_until.isoformat()}")
            summary = RunSummary(name, "ok")
            try:
                collector = self._collector(source)
                for page in collector.check(dict(source.cursor)):
                    stored, duplicates = store_page(session, source, page)
                    session.commit()
                    summary.pages += 1
                    summary.stored += stored
                    summary.duplicates += duplicates
                    summary.quarantined += len(page.quarantined)
            except RateLimited as error:
                session.rollback()
                summary.status, summary.error = "paused", str(error)
                self._record(session, source, now, error=str(error), paused_until=error.reset_at, failed=False)
                log.warning("%s: %s", name, error)
                return summary
            except (SourceUnavailable, SourceMisconfigured) as error:
                session.rollback()
                summary.status, summary.error = "failed", str(error)
                self._record(session, source, now, error=str(error), failed=True)
                log.warning("%s: %s", name, error)
                return summary
            except Exception as error:  # a bug or an unforeseen answer: record it, keep the process alive
                session.rollback()
                if is_connection_error(error):
                    # The database went away (a restart, a failover): not the source's fault, so no
                    # back-off. Every page stored so far kept its cursor; the next run resumes there.
                    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
                    summary.status = "failed"
                    summary.error = f"database unavailable: {reason[0] if reason else type(error).__name__}"
                    log.warning("%s: %s; the next run resumes from the stored cursor", name, summary.error)
                    return summary
                summary.status, summary.error = "failed", f"{type(error).__name__}: {error}"
                self._record(session, source, now, error=summary.error, failed=True)
                log.exception("%s: collector crashed", name)
                return summary
            self._record(session, source, now, error=None, failed=False)
            return summary

    def _record(
        self, session: Session, source: Source, now: datetime, *, error: str | None, failed: bool,
        paused_until: datetime | None = None,
    ) -> None:
        values: dict[str, Any] = {"last_run_at": now, "last_error": error}
        if failed:
            failures = source.consecutive_failures + 1
            scheduler = self.settings.scheduler
            backoff = min(
                scheduler.failure_backoff_seconds * 2 ** (failures - 1), scheduler.max_failure_backoff_seconds
            )
            values |= {"consecutive_failures": failures, "paused_until": now + timedelta(seconds=backoff),
                       "pause_reason": "failing"}
        elif paused_until is not None:
            values |= {"paused_until": paused_until, "pause_reason": "rate limited"}
        else:
            values |= {"last_success_at": now, "consecutive_failures": 0, "paused_until": None, "pause_reason": None}
        session.execute(update(Source).where(Source.id == source.id).values(**values))
        session.commit()

    def run_all(self, now: datetime | None = None) -> list[RunSummary]:
        """Every enabled source once, one after another (``harken collect --once``)."""
        with Session(self.engine) as session:
            names = list(session.execute(select(Source.name).where(Source.enabled).order_by(Source.id)).scalars())
        return [self.run(name, now) for name in names]
