"""``harken demo``: the whole pipeline offline against the platform simulators, then the running service."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.collecting import CollectionRunner
from listener.models import Author, Mention, QuarantinedPayload, Suggestion
from listener.pipeline import processing_steps
from listener.processing import Processor
from listener.scheduler import SchedulerLeader
from listener.settings import Settings
from responders.cli.listening import summary_table
from responders.cli.support import console, ready_engine
from responders.service import serve

if TYPE_CHECKING:
    from responders.web.server import WebServer

DEMO_PASSWORD = "harken-demo-password"
DEMO_ACCOUNTS = (("agent", "agent@demo.harken", "Alex Agent"), ("approver", "approver@demo.harken", "Avery Approver"),
                 ("manager", "manager@demo.harken", "Morgan Manager"), ("admin", "admin@demo.harken", "Ada Admin"))


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

    serve(demo_run, engine, runner, announce, console.print)


def _print_overview(engine: Engine) -> None:
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


def _print_queue(engine: Engine) -> None:
    """The top of the responder queue, each with its best suggestion."""
    from responders.mention_queue import list_queue

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


def register(app: typer.Typer) -> None:
    """Add ``harken demo`` to the command."""
    app.command()(demo)
