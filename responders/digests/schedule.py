"""The digest, alert-check, redelivery and dashboard-snapshot jobs of ``harken run``.

They run on an executor of their own (two threads), so a digest that takes a
second or an SMTP server that takes thirty never delays a collector, and a
collector never delays an alert.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from listener.settings import Settings
from responders.digests.dispatch import check_and_alert, redeliver, scheduled_digest
from responders.digests.snapshots import refresh_default_snapshots

log = logging.getLogger(__name__)

EXECUTOR = "digests"
# A digest missed because the process was down is still sent if it restarts within this time.
DIGEST_GRACE_SECONDS = 6 * 3600


def _guarded(name: str, action: Any, *args: Any) -> None:
    try:
        action(*args)
    except Exception:
        log.exception("the %s job failed; it runs again at its next time", name)


def run_scheduled_digest(engine: Engine, settings: Settings) -> None:
    _guarded("digest", scheduled_digest, engine, settings)


def run_alert_check(engine: Engine, settings: Settings) -> None:
    _guarded("alert check", check_and_alert, engine, settings)


def run_redelivery(engine: Engine, settings: Settings) -> None:
    _guarded("redelivery", redeliver, engine, settings)


def run_snapshot_refresh(engine: Engine, settings: Settings) -> None:
    _guarded("digest snapshot", refresh_default_snapshots, engine, settings)


def snapshot_interval(settings: Settings) -> int:
    """Half the snapshots' maximum age: each is recomputed before it expires, with a compute to spare."""
    return max(30, settings.digest.snapshot_max_age_seconds // 2)


def add_digest_jobs(scheduler: Any, settings: Settings, engine: Engine) -> list[Job]:
    """Add the scheduled digest (a crontab in the digest's time zone), the alert check, the redelivery,
    and the refresh of the dashboard's snapshots (at once, then every half of their maximum age).

    ``scheduler`` is an APScheduler 3 scheduler that has not started yet.
    """
    scheduler.add_executor(ThreadPoolExecutor(max_workers=2), alias=EXECUTOR)
    jobs: list[Job] = []
    if settings.digest.schedule:
        trigger = CronTrigger.from_crontab(settings.digest.schedule, timezone=ZoneInfo(settings.digest.timezone))
        jobs.append(scheduler.add_job(
            run_scheduled_digest, trigger, args=[engine, settings], id="digest",
            name=f"send the {'daily' if settings.digest.scheduled_period == 'day' else 'weekly'} digest "
                 f"({settings.digest.schedule}, {settings.digest.timezone})",
            executor=EXECUTOR, misfire_grace_time=DIGEST_GRACE_SECONDS,
        ))
    if settings.alerts.enabled:
        jobs.append(scheduler.add_job(
            run_alert_check, IntervalTrigger(seconds=settings.alerts.check_interval_seconds, timezone=UTC),
            args=[engine, settings], id="alerts", name="check for spikes of negative mentions",
            executor=EXECUTOR, next_run_time=datetime.now(UTC),
        ))
    jobs.append(scheduler.add_job(
        run_redelivery, IntervalTrigger(seconds=settings.digest.redelivery_interval_seconds, timezone=UTC),
        args=[engine, settings], id="redeliver", name="retry failed digest and alert deliveries",
        executor=EXECUTOR,
    ))
    if settings.digest.snapshot_max_age_seconds > 0:
        jobs.append(scheduler.add_job(
            run_snapshot_refresh, IntervalTrigger(seconds=snapshot_interval(settings), timezone=UTC),
            args=[engine, settings], id="digest_snapshots", name="recompute the digest dashboard's default periods",
            executor=EXECUTOR, next_run_time=datetime.now(UTC), coalesce=True, max_instances=1,
        ))
    return jobs
