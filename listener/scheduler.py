"""The scheduler: APScheduler fires each source on its own interval, plus processing.

Jobs run in a thread pool, so a slow or paused source never delays the others.
``max_instances=1`` keeps a source from overlapping itself, ``coalesce`` folds runs
missed while the process was busy into one, and the misfire grace lets a late run
still happen.
"""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from listener.collecting import CollectionRunner
from listener.processing import Processor
from listener.settings import Settings


def build_scheduler(
    settings: Settings, runner: CollectionRunner, processor: Processor | None = None
) -> BackgroundScheduler:
    """A scheduler with one job per configured source and one processing job (not started)."""
    specs = runner.sync_sources()
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=len(specs) + 2)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.scheduler.misfire_grace_seconds,
        },
        timezone=UTC,
    )
    now = datetime.now(UTC)
    for spec in specs:
        scheduler.add_job(
            runner.run,
            IntervalTrigger(seconds=spec.interval_seconds, timezone=UTC),
            args=[spec.name],
            id=f"collect:{spec.name}",
            name=f"collect {spec.name}",
            next_run_time=now,
        )
    if processor is not None:
        scheduler.add_job(
            processor.run_until_empty,
            IntervalTrigger(seconds=settings.scheduler.processing_interval_seconds, timezone=UTC),
            id="process",
            name="process new mentions",
            next_run_time=now,
        )
    return scheduler
