"""``harken run``, ``harken scheduler`` and ``harken worker``: the service, in one process or as its roles.

What each role runs is composed in ``responders.service``; these commands start it and say what runs.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated

import typer
from sqlmodel import Session

from listener.collecting import CollectionRunner
from listener.scheduler import SchedulerLeader
from responders.cli.support import console, get_settings, ready
from responders.service import (
    STOP_GRACE_SECONDS,
    exit_leaving_jobs,
    make_worker,
    migrated_engine,
    scheduler_factory,
    serve,
    stop_on_signals,
    wait_for_stop,
)

if TYPE_CHECKING:
    from responders.web.server import WebServer


def run() -> None:
    """The long-running service: scheduled collectors, processing, the sender and priority refresh."""
    settings, engine = ready()

    def announce(leader: SchedulerLeader, web: WebServer | None) -> None:
        jobs = leader.scheduler.get_jobs() if leader.scheduler else []
        console.print(f"Harken is running: {len(jobs)} job(s) and a processing worker. Ctrl-C stops it.")
        for job in jobs:
            console.print(f"  {job.name}")
        if not leader.active:
            console.print("  scheduler standing by: another scheduler is active on this database")
        if web is not None:
            console.print(f"  web app at {web.url}/")

    serve(settings, engine, CollectionRunner(engine, settings), announce, console.print)


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
    wait_for_stop(stop)
    console.print(f"Stopping: waiting up to {STOP_GRACE_SECONDS:g} s for running jobs to finish...")
    if not leader.stop(timeout=STOP_GRACE_SECONDS):
        exit_leaving_jobs(console.print)
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
    """Add ``harken run``, ``harken scheduler`` and ``harken worker`` to the command."""
    app.command("run")(run)
    app.command("scheduler")(scheduler_command)
    app.command("worker")(worker_command)
