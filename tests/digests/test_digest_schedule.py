"""The jobs of ``harken run``: the weekly digest in its time zone, once; the spike check on a real scheduler."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select
from sqlmodel import Session

from listener.db import make_engine
from listener.models import Alert
from responders.digests.dispatch import scheduled_digest
from responders.digests.schedule import add_digest_jobs
from tests.digests import dataset, seed, storms
from tests.digests.conftest import SMTPServer, Webhook, settings_for


def test_the_jobs_and_their_triggers(sqlite_url: str) -> None:
    settings = settings_for(sqlite_url, digest={"timezone": "Europe/Paris", "schedule": "0 8 * * mon"},
                            alerts={"check_interval_seconds": 120})
    scheduler = BackgroundScheduler(timezone=UTC)
    engine = make_engine(sqlite_url)
    jobs = {job.id: job for job in add_digest_jobs(scheduler, settings, engine)}
    assert set(jobs) == {"digest", "alerts", "redeliver", "digest_snapshots"}
    assert all(job.executor == "digests" for job in jobs.values())
    digest = jobs["digest"].trigger
    assert isinstance(digest, CronTrigger) and str(digest.timezone) == "Europe/Paris"
    # Monday 08:00 in Paris: 07:00 UTC in winter, 06:00 UTC in summer.
    assert digest.get_next_fire_time(None, datetime(2026, 11, 24, 12, tzinfo=UTC)) == datetime(
        2026, 11, 30, 7, tzinfo=UTC)
    assert digest.get_next_fire_time(None, datetime(2026, 6, 2, tzinfo=UTC)) == datetime(2026, 6, 8, 6, tzinfo=UTC)
    alerts = jobs["alerts"].trigger
    assert isinstance(alerts, IntervalTrigger) and alerts.interval == timedelta(seconds=120)
    assert jobs["digest"].misfire_grace_time >= 3600

    off = settings_for(sqlite_url, digest={"schedule": ""}, alerts={"enabled": False})
    assert [job.id for job in add_digest_jobs(BackgroundScheduler(timezone=UTC), off, engine)] == [
        "redeliver", "digest_snapshots"]
    engine.dispose()


def test_the_scheduled_digest_is_last_week_and_sent_once(sqlite_url: str, smtp_server: SMTPServer) -> None:
    settings = settings_for(sqlite_url, digest={
        "timezone": dataset.ZONE, "smtp_host": smtp_server.host, "smtp_port": smtp_server.port,
        "smtp_security": "none", "recipients": ["boss@example.com"],
    })
    engine = make_engine(sqlite_url)
    dataset.generate(engine)
    first = scheduled_digest(engine, settings, now=dataset.NOW)
    again = scheduled_digest(engine, settings, now=dataset.NOW + timedelta(minutes=1))
    engine.dispose()
    assert [r.status for r in first] == ["sent"] and again == []
    (mail,) = smtp_server.received
    assert "week 43 of 2026 (19 Oct – 25 Oct)" in mail.message["Subject"]


def test_a_storm_alerts_once_within_one_interval_of_a_running_scheduler(sqlite_url: str, webhook: Webhook) -> None:
    engine = make_engine(sqlite_url)
    source = seed.source(engine, "x:mentions", "x")
    now = datetime.now(UTC)
    storms.poisson_traffic(engine, now - timedelta(days=15), now - timedelta(minutes=15), lambda _: 3.0,
                           sources={source: 1.0})
    storms.burst(engine, now - timedelta(minutes=8), 30, source)
    settings = settings_for(sqlite_url, digest={"schedule": "", "webhook_url": webhook.url},
                            alerts={"check_interval_seconds": 1})
    scheduler = BackgroundScheduler(timezone=UTC)
    add_digest_jobs(scheduler, settings, engine)

    def alerts() -> int:
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(Alert)) or 0

    started = time.monotonic()
    scheduler.start()
    try:
        while alerts() == 0 and time.monotonic() - started < 10:
            time.sleep(0.05)
        raised_after = time.monotonic() - started
        time.sleep(3.5)  # three more checks: the cool-down holds
        checks = alerts()
    finally:
        scheduler.shutdown(wait=True)
        engine.dispose()
    assert raised_after <= 2.0, "within one interval (1 s) of the first check"
    assert checks == 1
    assert len(webhook.posts) == 1 and "negative mentions in 60 min" in webhook.posts[0]["json"]["text"]
