"""``harken scheduler`` and ``harken worker``: the service's roles as separate processes.

``harken run`` keeps every role in one process (the embedded default, and the
only way on SQLite). At scale, on PostgreSQL, the same code runs as:

- ``harken scheduler``: the collectors and every scheduled job (the sender, the
  priority refresh, digests and spike alerts). Exactly one is active at a time
  (``listener.scheduler.SchedulerLeader``); start two on different hosts and the
  second stands by until the first dies.
- ``harken worker``: the processing stage (language, sentiment, profile matching,
  priority, suggestions). Run as many as the cores allow; they share the queue
  through leased claims (``listener.processing``).

``docs/deployment.md`` says how many of each, with which settings.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Annotated

import typer
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.cli import console, get_settings
from listener.collecting import CollectionRunner, RunSummary
from listener.db import make_engine, migrate
from listener.pipeline import processing_steps
from listener.processing import Processor, Worker, WorkerGroup, default_worker_id
from listener.scheduler import SchedulerLeader, build_scheduler, lock_engine
from listener.settings import Settings

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


def scheduler_factory(
    engine: Engine, settings: Settings, runner: CollectionRunner,
    on_collected: Callable[[RunSummary], None] | None = None,
) -> Callable[[], BackgroundScheduler]:
    """What the active scheduler runs: the collectors, the sender and priority refresh, digests and alerts."""

    def build() -> BackgroundScheduler:
        from responders.cli import add_digest_jobs, add_responder_jobs

        scheduler = build_scheduler(settings, runner, on_collected=on_collected)
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


def scheduler_command() -> None:
    """Collectors and every scheduled job (sender, digests, alerts, priority refresh).

    On PostgreSQL exactly one scheduler is active; others stand by and take over
    when it dies. Processing is left to `harken worker` processes.
    """
    from responders.config_audit import record_if_changed

    settings = get_settings()
    engine = migrated_engine(settings)
    with Session(engine) as session:
        record_if_changed(session, settings)
        session.commit()
    leader = SchedulerLeader(engine, settings, scheduler_factory(engine, settings, CollectionRunner(engine, settings)))
    stop = stop_on_signals()
    leader.start()
    state = "active" if leader.active else "standing by (another scheduler is active)"
    console.print(f"harken scheduler {state}. Ctrl-C stops it.")
    stop.wait()
    console.print(f"Stopping: waiting up to {STOP_GRACE_SECONDS:g} s for running jobs to finish...")
    if not leader.stop(timeout=STOP_GRACE_SECONDS):
        console.print("Jobs still running: exiting anyway; collections resume from their stored cursors.")
        sys.stdout.flush()
        sys.stderr.flush()
        # Not sys.exit: interpreter shutdown would join the job threads still blocked.
        os._exit(0)
    engine.dispose()


def worker_command(
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="Put the mentions whose processing failed back in the queue, then exit.")] = False,
    worker_id: Annotated[str | None, typer.Option(
        "--id", help="This worker's name in claims and logs (default: host:pid:random).")] = None,
) -> None:
    """The processing stage: claim batches of new mentions and process them, until SIGTERM.

    Run any number of them on PostgreSQL. SIGTERM (or Ctrl-C) finishes the batch in hand first.
    """
    settings = get_settings()
    engine = migrated_engine(settings)
    worker = make_worker(engine, settings, worker_id)
    if retry_failed:
        console.print(f"{worker.processor.retry_failed()} failed mention(s) back in the queue.")
        return
    stop = stop_on_signals()
    threading.Thread(target=lambda: (stop.wait(), worker.stop()), name="stop-on-signal", daemon=True).start()
    processed = worker.run()
    names = ", ".join(w.processor.worker_id for w in worker.workers)
    console.print(f"harken worker {names} stopped: {processed} mention(s) processed.")
    engine.dispose()


def register(app: typer.Typer) -> None:
    """Add ``harken scheduler`` and ``harken worker`` to the command."""
    app.command("scheduler")(scheduler_command)
    app.command("worker")(worker_command)
