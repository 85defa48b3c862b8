"""Digest snapshots: a stored digest reads back equal to a fresh one; the store survives races; the job's periods."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import DigestSnapshot
from responders.digests import snapshots
from responders.digests.compute import Digest
from responders.digests.dispatch import build_digest
from responders.digests.periods import Period, last_complete, last_days
from responders.digests.render import render_digest
from tests.digests import dataset
from tests.digests.conftest import settings_for

WEEK = Period(dataset.PERIOD_START, dataset.PERIOD_END, "custom", dataset.ZONE)


def _settings(url: str) -> object:
    return settings_for(url, digest={"timezone": dataset.ZONE, "open_statuses": list(dataset.OPEN)})


def test_from_dict_rebuilds_the_digest_exactly(sqlite_engine: Engine, sqlite_url: str) -> None:
    dataset.generate(sqlite_engine)
    settings = _settings(sqlite_url)
    digest = build_digest(sqlite_engine, settings, WEEK, now=dataset.NOW)  # type: ignore[arg-type]
    assert digest.drivers.drivers and digest.top_customers and digest.response.first_replies  # a full tree
    back = Digest.from_dict(json.loads(json.dumps(digest.as_dict())))
    assert back == digest
    assert back.as_dict() == digest.as_dict()
    # The email and the webhook alike (the images' content ids are random on every render).
    mine, theirs = render_digest(back), render_digest(digest)
    assert (mine.subject, mine.text, mine.payload) == (theirs.subject, theirs.text, theirs.payload)
    assert [i.png for i in mine.images] == [i.png for i in theirs.images]


def test_a_stored_snapshot_reads_back_equal_to_a_fresh_compute(engine: Engine, db_url: str) -> None:
    """On SQLite and PostgreSQL: through the JSON column and back, every figure is the same."""
    dataset.generate(engine)
    settings = _settings(db_url)
    digest = build_digest(engine, settings, WEEK, now=datetime.now(UTC))  # type: ignore[arg-type]
    snapshots.store_snapshot(engine, settings, digest)  # type: ignore[arg-type]
    served = snapshots.load_snapshot(engine, settings, WEEK)  # type: ignore[arg-type]
    assert served is not None and served.from_snapshot
    assert served.digest == digest and served.computed_at == digest.generated_at
    later = datetime.now(UTC) + timedelta(seconds=settings.digest.snapshot_max_age_seconds + 1)  # type: ignore[attr-defined]
    assert snapshots.load_snapshot(engine, settings, WEEK, now=later) is None  # type: ignore[arg-type]


def test_two_processes_storing_at_once_both_succeed_and_the_later_stays(engine: Engine, db_url: str) -> None:
    """On SQLite and PostgreSQL: the unique key never fails a view; an older computation never replaces a newer."""
    settings = _settings(db_url)
    now = datetime.now(UTC)
    digest = build_digest(engine, settings, WEEK, now=now)  # type: ignore[arg-type]
    copies = [Digest.from_dict(digest.as_dict() | {"generated_at": (now + timedelta(seconds=i)).isoformat()})
              for i in range(8)]
    barrier = threading.Barrier(len(copies))
    errors: list[BaseException] = []

    def store(copy: Digest) -> None:
        try:
            barrier.wait()
            snapshots.store_snapshot(engine, settings, copy)  # type: ignore[arg-type]
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=store, args=(copy,)) for copy in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    snapshots.store_snapshot(engine, settings, copies[0])  # type: ignore[arg-type]  # an older one, late
    with Session(engine) as session:
        stored = session.scalars(select(DigestSnapshot.computed_at)).all()
    assert stored == [now + timedelta(seconds=7)]


def test_the_refresh_job_writes_the_default_periods_and_prunes(engine: Engine, db_url: str) -> None:
    """On SQLite and PostgreSQL: the scheduled period, yesterday, last week, last month, the last 30 days."""
    dataset.generate(engine)
    settings = _settings(db_url)
    old = Period(dataset.PREVIOUS_START, dataset.PERIOD_START, "custom", dataset.ZONE)
    snapshots.store_snapshot(engine, settings,  # type: ignore[arg-type]
                             build_digest(engine, settings, old, now=dataset.NOW - timedelta(hours=1)))  # type: ignore[arg-type]
    periods = snapshots.refresh_default_snapshots(engine, settings, now=dataset.NOW)  # type: ignore[arg-type]
    zone = dataset.ZONE
    assert periods == [last_complete("week", zone, dataset.NOW), last_complete("day", zone, dataset.NOW),
                       last_complete("month", zone, dataset.NOW), last_days(30, zone, dataset.NOW)]
    with Session(engine) as session:
        keys = {(r.period_kind, r.period_start, r.period_end) for r in session.scalars(select(DigestSnapshot))}
    assert keys == {(p.kind, p.start, p.end) for p in periods}  # the hour-old one is pruned
    for period in periods:
        served = snapshots.load_snapshot(engine, settings, period, now=dataset.NOW)  # type: ignore[arg-type]
        assert served is not None and served.digest == build_digest(engine, settings, period, now=dataset.NOW)  # type: ignore[arg-type]
    assert last_complete("week", zone, dataset.NOW).start == dataset.PERIOD_START
