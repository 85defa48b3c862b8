"""Digest snapshots: the dashboard serves a stored digest and says when it was computed.

The digest of 30 days at a million mentions is one to two seconds of aggregates
(negative-driver terms and reply-time medians dominate, and cannot be made much
cheaper), far over what a page may take. Like the dashboards of Sprout or
Hootsuite, the dashboard therefore shows a digest computed a little earlier,
stored in ``digest_snapshots``, and never hides that:

- a snapshot is served only while younger than ``[digest] snapshot_max_age_seconds``;
  the page shows its time ("figures as of 14:52") and offers "Recompute now";
- a snapshot is keyed by its period (kind, UTC bounds, time zone) and by a
  :func:`fingerprint` of every setting that shapes a digest (brand, terms, customers,
  VIP tiers, open statuses, inbox URL...) and of :data:`FORMAT`, so a settings change
  or a new digest shape is a new key, never an old figure;
- the scheduled job (:func:`refresh_default_snapshots`) recomputes the periods the
  dashboard opens on and offers before theirs expire, and prunes the rest.

Two web processes that compute the same snapshot at once both store it: the write
is an upsert (``INSERT ... ON CONFLICT DO UPDATE``, SQLite and PostgreSQL alike)
that keeps the later computation, so neither fails on the unique key.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import DigestSnapshot
from listener.settings import Settings
from responders.digests.compute import Digest
from responders.digests.dispatch import build_digest
from responders.digests.periods import Period, last_complete, last_days

log = logging.getLogger(__name__)

FORMAT = 1
"""The stored JSON's shape: bump it when ``Digest.as_dict`` changes, so no old snapshot is read."""

# Settings of [digest] that do not change what a digest shows (delivery, schedule, snapshots themselves).
_NOT_SHAPING = frozenset({
    "schedule", "scheduled_period", "recipients", "sender", "smtp_host", "smtp_port", "smtp_security", "smtp_user",
    "smtp_password", "smtp_timeout_seconds", "webhook_url", "webhook_timeout_seconds", "retry_attempts",
    "retry_backoff_seconds", "redelivery_interval_seconds", "max_attempts", "snapshot_max_age_seconds",
})


@dataclass(frozen=True)
class Served:
    """The digest a view shows, when it was computed, and whether it came from a snapshot."""

    digest: Digest
    computed_at: datetime
    from_snapshot: bool


MAX_CUSTOM_SNAPSHOTS = 50
"""Snapshots of chosen ranges kept at most (the newest); every distinct range used to be kept until it aged."""

DASHBOARD_KINDS = ("day", "week", "month")
"""The complete periods the dashboard's picker offers, besides the last :data:`DASHBOARD_DAYS` days."""
DASHBOARD_DAYS = 30


def default_periods(settings: Settings, now: datetime | None = None) -> list[Period]:
    """The periods the dashboard shows without a choice of days: the scheduled one first, then the picker's."""
    now = now or datetime.now(UTC)
    zone = settings.digest.timezone
    kinds = dict.fromkeys((settings.digest.scheduled_period, *DASHBOARD_KINDS))
    return [last_complete(kind, zone, now) for kind in kinds] + [last_days(DASHBOARD_DAYS, zone, now)]


def fingerprint(settings: Settings) -> str:
    """A hash of everything that shapes a digest besides its period: a change gives a new snapshot key.

    Every ``[digest]`` setting counts unless it is known not to (:data:`_NOT_SHAPING`),
    so a setting added later is on the safe side: it invalidates snapshots.
    """
    shaping = {name: value for name, value in settings.digest.model_dump(mode="json").items()
               if name not in _NOT_SHAPING}
    text = json.dumps({"format": FORMAT, "brand": settings.brand.name, "digest": shaping}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _key(period: Period, settings: Settings) -> dict[str, Any]:
    return {"period_kind": period.kind, "period_start": period.start, "period_end": period.end,
            "timezone": period.timezone, "fingerprint": fingerprint(settings)}


def max_age(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.digest.snapshot_max_age_seconds)


def load_snapshot(engine: Engine, settings: Settings, period: Period, *, now: datetime | None = None) -> Served | None:
    """The stored digest of ``period`` under the current settings, if younger than the maximum age."""
    if settings.digest.snapshot_max_age_seconds <= 0:
        return None
    now = now or datetime.now(UTC)
    key = _key(period, settings)
    with Session(engine) as session:
        row = session.execute(
            select(DigestSnapshot.data, DigestSnapshot.computed_at)
            .where(*(getattr(DigestSnapshot, name) == value for name, value in key.items()))
            .where(DigestSnapshot.computed_at > now - max_age(settings))
        ).first()
    if row is None:
        return None
    try:
        digest = Digest.from_dict(row.data)
    except (KeyError, TypeError, ValueError):  # a row the current code cannot read: compute instead
        log.warning("unreadable digest snapshot of %s; computing it again", period.label)
        return None
    return Served(digest, row.computed_at, True)


def store_snapshot(engine: Engine, settings: Settings, digest: Digest) -> None:
    """Insert or replace the snapshot of ``digest.period``, keeping the later computation on a race.

    Chosen ranges ("custom") are as many as people can type: only the newest
    :data:`MAX_CUSTOM_SNAPSHOTS` of them stay, so the table cannot grow without bound.
    """
    values = _key(digest.period, settings) | {"data": digest.as_dict(), "computed_at": digest.generated_at}
    table = DigestSnapshot.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=list(_key(digest.period, settings)),
        set_={"data": statement.excluded.data, "computed_at": statement.excluded.computed_at},
        where=statement.excluded.computed_at >= table.c.computed_at,
    )
    with engine.begin() as connection:
        connection.execute(statement)
        if digest.period.kind == "custom":
            custom = DigestSnapshot.period_kind == "custom"
            newest = (select(DigestSnapshot.id).where(custom)
                      .order_by(DigestSnapshot.computed_at.desc(), DigestSnapshot.id.desc())  # type: ignore[attr-defined,union-attr]
                      .limit(MAX_CUSTOM_SNAPSHOTS))
            connection.execute(delete(DigestSnapshot).where(custom, DigestSnapshot.id.not_in(newest)))  # type: ignore[union-attr]


def current_digest(engine: Engine, settings: Settings, period: Period, *, refresh: bool = False,
                   now: datetime | None = None) -> Served:
    """What the dashboard shows: a fresh-enough snapshot, or a new computation (stored for the next view).

    ``refresh`` skips the snapshot ("Recompute now"). With snapshots off
    (``snapshot_max_age_seconds = 0``) every call computes and nothing is stored.
    """
    if not refresh:
        served = load_snapshot(engine, settings, period, now=now)
        if served is not None:
            return served
    digest = build_digest(engine, settings, period, now=now)
    if settings.digest.snapshot_max_age_seconds > 0:
        store_snapshot(engine, settings, digest)
    return Served(digest, digest.generated_at, False)


def prune_snapshots(engine: Engine, settings: Settings, *, now: datetime | None = None) -> int:
    """Delete the snapshots too old to be served (past periods, old settings, one-off ranges)."""
    now = now or datetime.now(UTC)
    with engine.begin() as connection:
        result = connection.execute(
            delete(DigestSnapshot).where(DigestSnapshot.computed_at <= now - max_age(settings))  # type: ignore[arg-type]
        )
    return int(result.rowcount or 0)


def refresh_default_snapshots(engine: Engine, settings: Settings, *, now: datetime | None = None) -> list[Period]:
    """The scheduled job: recompute the periods the dashboard opens on and offers, then prune.

    They are :func:`default_periods` (the scheduled period, yesterday, last week,
    last month, the last 30 days), so a manager who
    opens the dashboard or picks a period finds a snapshot and never waits.
    """
    if settings.digest.snapshot_max_age_seconds <= 0:
        return []
    now = now or datetime.now(UTC)
    periods = default_periods(settings, now)
    for period in periods:
        store_snapshot(engine, settings, build_digest(engine, settings, period, now=now))
    pruned = prune_snapshots(engine, settings, now=now)
    log.info("refreshed %d digest snapshots, pruned %d", len(periods), pruned)
    return periods
