"""The listening half of the ``harken`` command line (the responders add the rest)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from listener.collecting import CollectionRunner, RunSummary
from listener.db import make_engine, migrate
from listener.logs import configure_logging
from listener.platforms import platform_names
from listener.safe_text import mask_url_password
from listener.settings import Settings, SettingsError, load_settings
from listener.terminal import SafeConsole

app = typer.Typer(help="Harken: listen to what people say about your brand, and answer well.", no_args_is_help=True)
export_app = typer.Typer(help="Export collected data.", no_args_is_help=True)
app.add_typer(export_app, name="export")
console = SafeConsole()  # strips control characters: printed text comes from strangers
errors = SafeConsole(stderr=True)


def get_settings() -> Settings:
    """Load the settings or stop with the one-line reason."""
    try:
        settings = load_settings()
    except SettingsError as error:
        errors.print(f"harken: {error}", style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    configure_logging(settings.logging.level, settings.secrets)
    return settings


def database_error_line(error: DBAPIError, url: str | None = None) -> str:
    """One line for a database that cannot be opened or reached: the driver's reason, no traceback."""
    reason = (str(error.orig or error).strip().splitlines() or [type(error).__name__])[0]
    where = f" at {mask_url_password(url)}" if url else ""
    return mask_url_password(f"harken: cannot open the database{where}: {reason}")


def ready_engine(settings: Settings):
    """An engine on a migrated database; a database that cannot be reached stops with one line."""
    try:
        migrate(settings.database.url)
    except (OperationalError, InterfaceError) as error:
        errors.print(database_error_line(error, settings.database.url), style="red", markup=False,
                     highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    return make_engine(settings.database.url, settings.database.echo)


def summary_table(summaries: list[RunSummary]) -> Table:
    table = Table(title="Collection")
    for column in ("source", "status", "pages", "new", "seen before", "quarantined", "note"):
        numeric = column in {"pages", "new", "seen before", "quarantined"}
        table.add_column(column, justify="right" if numeric else "left")
    for s in summaries:
        colour = {"ok": "green", "skipped": "yellow", "paused": "yellow"}.get(s.status, "red")
        table.add_row(s.source, f"[{colour}]{s.status}[/{colour}]", str(s.pages), str(s.stored), str(s.duplicates),
                      str(s.quarantined), s.error or "")
    return table


@app.command()
def init() -> None:
    """Create or upgrade the database and register the configured sources."""
    settings = get_settings()
    engine = ready_engine(settings)
    specs = CollectionRunner(engine, settings).sync_sources()
    console.print(f"Database ready at {mask_url_password(settings.database.url)}; {len(specs)} source(s) configured.",
                  markup=False)
    for spec in specs:
        console.print(f"  {spec.name}  every {spec.interval_seconds}s")


@app.command()
def collect(
    once: Annotated[bool, typer.Option("--once", help="Run every configured source once, then exit.")] = False,
    process: Annotated[bool, typer.Option(help="Also classify and process what was collected.")] = True,
) -> None:
    """Collect mentions from every configured source once and print a summary."""
    if not once:
        errors.print("harken collect needs --once (use `harken run` for the long-running service)")
        raise typer.Exit(2)
    settings = get_settings()
    engine = ready_engine(settings)
    runner = CollectionRunner(engine, settings)
    if not runner.sync_sources():
        sections = " or ".join(f"[{name}]" for name in platform_names())
        errors.print(f"No sources configured: enable {sections} in your settings (see README).", markup=False)
        raise typer.Exit(1)
    with console.status("Collecting..."):
        summaries = runner.run_all()
    console.print(summary_table(summaries))
    if process:
        from listener.pipeline import processing_steps
        from listener.processing import Processor

        processor = Processor(engine, processing_steps(settings), settings.processing.batch_size)
        with console.status("Processing new mentions..."):
            done = processor.run_until_empty()
        console.print(f"Processed {done} new mention(s).")
    if any(s.status == "failed" for s in summaries):
        raise typer.Exit(1)


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


@export_app.command("mentions")
def export_mentions_command(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl or csv")] = ExportFormat.jsonl,
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: standard output).")] = None,
) -> None:
    """One record per mention: platform, id, url, author, text, time, language, sentiment, profile."""
    from listener.export import export_mentions

    settings = get_settings()
    engine = ready_engine(settings)
    if out is None:
        count = export_mentions(engine, sys.stdout, fmt.value)
    else:
        with out.open("w", encoding="utf-8", newline="") as handle:
            count = export_mentions(engine, handle, fmt.value)
    errors.print(f"exported {count} mention(s)")


def _add_sentiment_commands() -> None:
    from listener.sentiment.cli import app as sentiment_app

    app.add_typer(sentiment_app, name="sentiment")


_add_sentiment_commands()


def _add_profiles_commands() -> None:
    from listener.profiles.cli import app as profiles_app

    app.add_typer(profiles_app, name="profiles")


_add_profiles_commands()
