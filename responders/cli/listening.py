"""``harken init``, ``harken collect`` and ``harken export``: set up the database, collect, export."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from listener.collecting import CollectionRunner, RunSummary
from listener.platforms import platform_names
from listener.safe_text import mask_url_password
from responders.cli.support import console, errors, get_settings, ready_engine

export_app = typer.Typer(help="Export collected data.", no_args_is_help=True)


def summary_table(summaries: list[RunSummary]) -> Table:
    """What each source's run did, one row per source."""
    table = Table(title="Collection")
    for column in ("source", "status", "pages", "new", "seen before", "quarantined", "note"):
        numeric = column in {"pages", "new", "seen before", "quarantined"}
        table.add_column(column, justify="right" if numeric else "left")
    for s in summaries:
        colour = {"ok": "green", "skipped": "yellow", "paused": "yellow"}.get(s.status, "red")
        table.add_row(s.source, f"[{colour}]{s.status}[/{colour}]", str(s.pages), str(s.stored), str(s.duplicates),
                      str(s.quarantined), s.error or "")
    return table


def init() -> None:
    """Create or upgrade the database and register the configured sources."""
    settings = get_settings()
    engine = ready_engine(settings)
    specs = CollectionRunner(engine, settings).sync_sources()
    console.print(f"Database ready at {mask_url_password(settings.database.url)}; {len(specs)} source(s) configured.",
                  markup=False)
    for spec in specs:
        console.print(f"  {spec.name}  every {spec.interval_seconds}s")


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
    # Sources an admin added in the web app count too, paused ones not.
    if not runner.sync_sources() and not runner.scheduled():
        sections = " or ".join(f"[{name}]" for name in platform_names())
        errors.print(f"No sources configured: enable {sections} in your settings, or add one on the web app's "
                     "Admin page (see README).", markup=False)
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


def register(app: typer.Typer) -> None:
    """Add ``harken init``, ``harken collect`` and ``harken export`` to the command."""
    app.command()(init)
    app.command()(collect)
    app.add_typer(export_app, name="export")
