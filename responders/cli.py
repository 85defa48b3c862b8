"""The ``harken`` command: the listening commands plus the ones that run the service."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.cli import app, console, errors, ready_engine, summary_table
from listener.collecting import CollectionRunner
from listener.models import Author, Mention, QuarantinedPayload, Suggestion
from listener.pipeline import processing_steps
from listener.processing import Processor
from listener.scheduler import SchedulerLeader
from listener.settings import Settings
from responders.queue_cli import register as register_queue_commands
from responders.service_cli import STOP_GRACE_SECONDS, make_worker, scheduler_factory
from responders.service_cli import register as register_service_commands
from responders.web.cli import register as register_web_commands

if TYPE_CHECKING:
    from responders.web.server import WebServer

register_queue_commands(app)
register_web_commands(app)
register_service_commands(app)


@app.command()
def run() -> None:
    """The long-running service: scheduled collectors, processing, the sender and priority refresh."""
    from responders.queue_cli import ready

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

    serve(settings, engine, CollectionRunner(engine, settings), announce)


def serve(settings: Settings, engine: Engine, runner: CollectionRunner,
          announce: Callable[[SchedulerLeader, WebServer | None], None]) -> None:
    """Every role in one process until SIGINT or SIGTERM: the web app, a processing worker thread woken
    by each collection that stored something, and the scheduler, which stands by while another one is
    active (responders.service_cli). ``announce`` says what runs once it has started."""
    from responders.web.server import WebServer

    worker = make_worker(engine, settings)
    leader = SchedulerLeader(engine, settings, scheduler_factory(engine, settings, runner, lambda _: worker.wake()))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    web = WebServer(settings, engine).start() if settings.web.enabled else None
    leader.start()
    worker.start()
    announce(leader, web)
    stop.wait()
    console.print("Stopping: waiting for running jobs to finish...")
    if web is not None:
        web.stop()
    worker.stop()
    finished = leader.stop(timeout=STOP_GRACE_SECONDS)
    worker.join()
    if not finished:
        console.print("Jobs still running: exiting anyway; collections resume from their stored cursors.")
        sys.stdout.flush()
        os._exit(0)  # interpreter shutdown would join the job threads still blocked


DEMO_PASSWORD = "harken-demo-password"
DEMO_ACCOUNTS = (("agent", "agent@demo.harken", "Alex Agent"), ("approver", "approver@demo.harken", "Avery Approver"),
                 ("manager", "manager@demo.harken", "Morgan Manager"), ("admin", "admin@demo.harken", "Ada Admin"))


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo database goes.")] = Path("harken-demo"),
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Afterwards, serve the web app (with the "
                                        "simulators, the sender and the scheduler) until Ctrl-C.")] = True,
    port: Annotated[int, typer.Option(help="Port of the demo web app.")] = 8000,
) -> None:
    """Run the whole pipeline offline against platform simulators seeded with a demo corpus, then serve the app."""
    from listener.demo import demo_settings, running_simulators
    from listener.logs import configure_logging
    from listener.platforms import get_platform

    directory.mkdir(parents=True, exist_ok=True)
    database = (directory / "harken.db").resolve()
    for leftover in directory.glob("harken.db*"):
        leftover.unlink()
    url = f"sqlite:///{database}"
    with running_simulators() as platforms:
        settings = demo_settings(platforms, url)
        configure_logging("WARNING", settings.secrets)
        simulators = ", ".join(
            f"{get_platform(name).title} simulator at {simulator.base_url}" for name, simulator in platforms.items()
        )
        console.print(f"[bold]Harken demo[/bold]: {simulators}")
        engine = ready_engine(settings)
        runner = CollectionRunner(engine, settings)
        runner.sync_sources()
        titles = " and ".join(get_platform(name).title for name in platforms)
        with console.status(f"Collecting from {titles} through their own clients..."):
            summaries = runner.run_all()
        console.print(summary_table(summaries))
        processor = Processor(engine, processing_steps(settings), settings.processing.batch_size)
        with console.status("Detecting languages and classifying sentiment..."):
            processed = processor.run_until_empty()
        console.print(f"Processed {processed} mention(s).")
        _print_overview(engine)
        _print_queue(engine)
        _add_demo_accounts(engine)
        console.print(
            f"\nStored in [bold]{database}[/bold]. Look at it with:\n"
            f"  HARKEN_DATABASE__URL=sqlite:///{database} harken export mentions --format csv"
        )
        if serve:
            _serve_demo(settings, engine, runner, port)


def _add_demo_accounts(engine: Engine) -> None:
    from responders.staff import add_user
    from responders.web.security import set_password

    with Session(engine, expire_on_commit=False) as session:
        admin = None
        # The admin first: it adds the others, as on a real installation.
        for role, email, name in sorted(DEMO_ACCOUNTS, key=lambda account: account[0] != "admin"):
            user = add_user(session, email, name, role, admin)
            set_password(session, user, DEMO_PASSWORD, admin or "system:demo")
            admin = admin or user
        session.commit()


def _serve_demo(settings: Settings, engine: Engine, runner: CollectionRunner, port: int) -> None:
    """The demo as a running service, as `harken run` runs: web app, collection from the simulators, the sender."""
    demo_run = settings.model_copy(update={"web": settings.web.model_copy(update={"port": port,
                                                                                   "secure_cookies": "never"})})

    def announce(leader: SchedulerLeader, web: WebServer | None) -> None:
        assert web is not None  # the demo's settings keep the web app on
        console.print(f"\n[bold]Sign in at {web.url}/[/bold]", soft_wrap=True)
        console.print(f"Password of every demo account: {DEMO_PASSWORD}", soft_wrap=True)
        table = Table(title="Demo accounts")
        for column in ("role", "email", "may"):
            table.add_column(column)
        for role, email, _ in DEMO_ACCOUNTS:
            table.add_row(role, email, {"agent": "triage, draft replies", "approver": "triage, approve and send",
                                        "manager": "read everything, digests", "admin": "accounts, sources, tokens"
                                        }[role])
        console.print(table)
        console.print("The simulators, the collectors and the sender keep running. Ctrl-C stops the demo.")

    serve(demo_run, engine, runner, announce)


def _print_overview(engine) -> None:
    with Session(engine) as session:
        by_label = session.execute(
            select(Mention.platform, Mention.sentiment_label, func.count())
            .group_by(Mention.platform, Mention.sentiment_label)
            .order_by(Mention.platform, Mention.sentiment_label)
        ).all()
        top_authors = session.execute(
            select(Author.platform, Author.handle, func.count(Mention.id).label("n"))
            .join(Mention, Mention.author_id == Author.id)
            .group_by(Author.id)
            .order_by(func.count(Mention.id).desc())
            .limit(5)
        ).all()
        quarantined = session.scalar(select(func.count()).select_from(QuarantinedPayload))
    table = Table(title="Sentiment by platform")
    for column in ("platform", "label", "mentions"):
        table.add_column(column)
    for platform, label, count in by_label:
        table.add_row(platform, label or "(no sentiment)", str(count))
    console.print(table)
    authors = Table(title="Most active authors")
    for column in ("platform", "handle", "mentions"):
        authors.add_column(column)
    for platform, handle, count in top_authors:
        authors.add_row(platform, handle, str(count))
    console.print(authors)
    if quarantined:
        console.print(f"{quarantined} payload(s) quarantined (kept raw with the reason).")


def add_responder_jobs(scheduler, engine, settings) -> None:
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


def _print_queue(engine) -> None:
    """The top of the responder queue, each with its best suggestion."""
    from responders.queue import list_queue

    with Session(engine) as session:
        items = list_queue(session, limit=5)
        best = {
            mention_id: text
            for mention_id, text in session.execute(
                select(Suggestion.mention_id, Suggestion.text).where(
                    Suggestion.mention_id.in_([i.mention_id for i in items]), Suggestion.rank == 1
                )
            )
        }
    table = Table(title="Most urgent in the queue")
    for column in ("prio", "level", "author", "tier", "mention", "best suggestion"):
        table.add_column(column)
    for item in items:
        table.add_row(f"{item.priority:.0f}" if item.priority is not None else "", item.priority_level or "",
                      item.author or "", item.tier or "", Text(" ".join(item.text.split())[:80]),
                      Text(best.get(item.mention_id, "")))
    console.print(table)
    console.print("Work it with `harken queue list`, `harken queue show ID`, `harken queue draft ID --suggestion 1`.")


# --- Digests and spike alerts (responders/digests): `harken digest`, `harken alerts`, their jobs ----------


def add_digest_jobs(scheduler, settings, engine) -> None:  # type: ignore[no-untyped-def]
    """The scheduled digest, the spike check and the redelivery of failed deliveries, for `harken run`."""
    from responders.digests.schedule import add_digest_jobs as add_jobs

    add_jobs(scheduler, settings, engine)


def _add_digest_commands() -> None:
    from responders.digests.cli import register

    register(app)


_add_digest_commands()

# --- end of digests and spike alerts -----------------------------------------------------------------


def main() -> None:
    from sqlalchemy.exc import InterfaceError, OperationalError

    from listener.cli import database_error_line

    try:
        app()
    except (OperationalError, InterfaceError) as error:
        # The long-running commands open the database themselves: one line for them too, not a traceback.
        errors.print(database_error_line(error), style="red", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
