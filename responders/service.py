"""The service's composition: what each role runs, wired from settings, for the CLI and the demo alike.

``harken run`` keeps every role in one process (the embedded default, and the
only way on SQLite). At scale, on PostgreSQL, the same parts run as:

- ``harken scheduler``: the collectors and every scheduled job (the sender, the
  priority refresh, digests and spike alerts). Exactly one is active at a time
  (``listener.scheduler.SchedulerLeader``); start two on different hosts and the
  second stands by until the first dies.
- ``harken worker``: the processing stage (language, sentiment, profile matching,
  priority, suggestions). Run as many as the cores allow; they share the queue
  through leased claims (``listener.processing``).

``docs/deployment.md`` says how many of each, with which settings. The commands
themselves (``responders.cli.service``) only parse options and print.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text
from sqlalchemy.engine import Engine

from listener.collecting import CollectionRunner, RunSummary
from listener.db import make_engine, migrate
from listener.pipeline import processing_steps
from listener.processing import Processor, Worker, WorkerGroup, default_worker_id
from listener.scheduler import SchedulerLeader, build_scheduler, lock_engine
from listener.settings import Settings

if TYPE_CHECKING:
    from responders.web.server import WebServer

# How long a stopping scheduler waits for the jobs in flight. A collection stores each page with its
# cursor in one transaction, so one cut short (like a killed process) resumes where it stopped; waiting
# longer would only let a platform's rate-limit pause (prawcore sleeps until the reset) hold up a restart.
STOP_GRACE_SECONDS = 20.0

# pg_advisory_lock(bigint) held while migrating: workers started together must not migrate at once.
MIGRATION_LOCK_KEY = 0x486B4D67


def migrated_engine(settings: Settings) -> Engine:
    """An engine on a migrated database; on PostgreSQL one process at a time migrates."""
    url = settings.database.url
    engine = make_engine(url, settings.database.echo)
    if engine.dialect.name != "postgresql":
        migrate(url)
        return engine
    locks = lock_engine(engine)
    try:
        with locks.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                migrate(url)
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                connection.commit()
    finally:
        locks.dispose()
    return engine


def make_processor(engine: Engine, settings: Settings, worker_id: str | None = None) -> Processor:
    """The processing stage with every step, leased as the settings say."""
    processing = settings.processing
    return Processor(engine, processing_steps(settings), processing.batch_size,
                     lease_seconds=processing.lease_seconds, max_attempts=processing.max_attempts,
                     worker_id=worker_id)


def make_worker(engine: Engine, settings: Settings, worker_id: str | None = None) -> WorkerGroup:
    """The process's processing worker loops (``[processing] worker_threads`` of them)."""
    processing = settings.processing

    def make(name: str) -> Worker:
        return Worker(make_processor(engine, settings, name), processing.poll_interval_seconds,
                      processing.reconnect_max_seconds)

    return WorkerGroup(make, worker_id or default_worker_id(), processing.worker_threads)


def add_responder_jobs(scheduler: BackgroundScheduler, engine: Engine, settings: Settings) -> None:
    """The sender (every [sender] interval_seconds) and the priority refresh, on their own two threads.

    Their own executor keeps a slow platform call from waiting behind the collectors.
    """
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.triggers.interval import IntervalTrigger

    from responders.sender import Sender
    from responders.triage import refresh_priorities

    scheduler.add_executor(ThreadPoolExecutor(max_workers=2), alias="responders")
    now = datetime.now(UTC)
    if settings.sender.enabled:
        sender = Sender(engine, settings)
        scheduler.add_job(sender.send_pending, IntervalTrigger(seconds=settings.sender.interval_seconds, timezone=UTC),
                          id="send", name="send approved replies", executor="responders", next_run_time=now)
    scheduler.add_job(refresh_priorities, IntervalTrigger(seconds=settings.triage.refresh_interval_seconds,
                                                          timezone=UTC),
                      args=[engine, settings], id="refresh-priorities", name="refresh priorities of open mentions",
                      executor="responders")
    from responders.drafts.job import add_draft_jobs

    add_draft_jobs(scheduler, engine, settings)


def add_digest_jobs(scheduler: BackgroundScheduler, settings: Settings, engine: Engine) -> None:
    """The scheduled digest, the spike check and the redelivery of failed deliveries."""
    from responders.digests.schedule import add_digest_jobs as add_jobs

    add_jobs(scheduler, settings, engine)


def scheduler_factory(
    engine: Engine, settings: Settings, runner: CollectionRunner,
    on_collected: Callable[[RunSummary], None] | None = None,
) -> Callable[..., BackgroundScheduler]:
    """What the active scheduler runs: the collectors, the sender and priority refresh, digests and alerts.

    ``seed_sources=False`` builds it without writing the settings' sources (a standby's warm-up).
    """

    def build(seed_sources: bool = True) -> BackgroundScheduler:
        scheduler = build_scheduler(settings, runner, on_collected=on_collected, seed_sources=seed_sources)
        add_responder_jobs(scheduler, engine, settings)
        add_digest_jobs(scheduler, settings, engine)
        return scheduler

    return build


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C): the process then stops cleanly."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def wait_for_stop(stop: threading.Event) -> None:
    """Block until ``stop`` is set (by SIGTERM or SIGINT, through :func:`stop_on_signals`).

    In short waits: the kernel may hand the signal to any of the process's threads, and Python then runs
    the handler only when the main thread next runs Python code. One untimed wait sleeps through it.
    """
    while not stop.wait(0.5):
        pass


def exit_leaving_jobs(say: Callable[[str], None]) -> None:
    """Exit now although scheduled jobs still run: they resume from their stored cursors next time."""
    say("Jobs still running: exiting anyway; collections resume from their stored cursors.")
    sys.stdout.flush()
    sys.stderr.flush()
    # Not sys.exit: interpreter shutdown would join the job threads still blocked.
    os._exit(0)


def serve(settings: Settings, engine: Engine, runner: CollectionRunner,
          announce: Callable[[SchedulerLeader, WebServer | None], None],
          say: Callable[[str], None] = print) -> None:
    """Every role in one process until SIGINT or SIGTERM: the web app, a processing worker thread woken
    by each collection that stored something, and the scheduler, which stands by while another one is
    active. ``announce`` says what runs once it has started; ``say`` prints progress while stopping."""
    from responders.web.server import WebServer

    worker = make_worker(engine, settings)
    leader = SchedulerLeader(engine, settings, scheduler_factory(engine, settings, runner, lambda _: worker.wake()))
    stop = stop_on_signals()
    web = WebServer(settings, engine).start() if settings.web.enabled else None
    leader.start()
    worker.start()
    announce(leader, web)
    wait_for_stop(stop)
    say("Stopping: waiting for running jobs to finish...")
    if web is not None:
        web.stop()
    worker.stop()
    finished = leader.stop(timeout=STOP_GRACE_SECONDS)
    worker.join()
    if not finished:
        exit_leaving_jobs(say)
