"""``harken digest`` and ``harken alerts``: the digest on demand, spike checks, alerts and deliveries."""

from __future__ import annotations

import json
from datetime import UTC
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from listener.safe_text import redact_urls, terminal_text
from responders.cli.support import console, fail, get_settings, ready_engine
from responders.digests.errors import DigestError, NotConfigured

alerts_app = typer.Typer(help="Spike alerts on negative mentions: check now, list the alerts raised.",
                         no_args_is_help=True)


class PeriodKind(StrEnum):
    day = "day"
    week = "week"


def digest(
    period: Annotated[PeriodKind, typer.Option("--period", help="day: yesterday; week: last Monday-Sunday.")] = (
        PeriodKind.day
    ),
    since: Annotated[str | None, typer.Option("--since", help="Start, ISO date or date-time (local time).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="End (exclusive), ISO date or date-time.")] = None,
    send: Annotated[bool, typer.Option("--send", help="Deliver it by email and webhook as configured.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write the HTML (charts inlined) to this file.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the digest's data as JSON.")] = None,
    status: Annotated[bool, typer.Option("--status", help="Show recent deliveries and failures instead.")] = False,
) -> None:
    """The sentiment digest of a period: printed as text; written as HTML; sent by email and webhook.

    Periods are calendar days and weeks in the \\[digest] time zone. Exits 1 when a delivery failed.
    """
    from responders.digests.dispatch import build_digest, send_digest
    from responders.digests.periods import resolve_period
    from responders.digests.render import render_digest

    settings = get_settings()
    engine = ready_engine(settings)
    if status:
        _print_deliveries(engine)
        return
    try:
        chosen = resolve_period(period.value, settings.digest.timezone, since, until)
    except DigestError as error:
        raise fail(error) from None
    reports = []
    if send:
        try:
            result, message, reports = send_digest(engine, settings, chosen)
        except NotConfigured as error:
            raise fail(error) from None
    else:
        result = build_digest(engine, settings, chosen)
        message = render_digest(result)
    if result.empty:
        console.print(Text(f"No mentions in {chosen.label}."), style="yellow")
    typer.echo(terminal_text(message.text))  # terms and names in it come from mentions
    if out is not None:
        out.write_text(render_digest(result, inline_images=True).html, encoding="utf-8")
        console.print(Text(f"HTML written to {out}"))
    if json_out is not None:
        json_out.write_text(json.dumps(result.as_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        console.print(Text(f"JSON written to {json_out}"))
    for report in reports:
        line = f"{report.channel} to {report.target}: {report.status} after {report.attempts} attempt(s)"
        console.print(Text(line + (f": {report.error}" if report.error else ""),
                           style="green" if report.ok else "red"))
    if any(not report.ok for report in reports):
        raise typer.Exit(1)


def _reference(kind: str, reference: str) -> str:
    from responders.digests.periods import Period

    if kind == "digest":
        try:
            return Period.from_reference(reference).label
        except DigestError:
            return reference
    return f"alert {reference}"


def _print_deliveries(engine) -> None:  # type: ignore[no-untyped-def]
    from responders.digests.delivery import recent_deliveries

    rows = recent_deliveries(engine, 30)
    if not rows:
        console.print("No deliveries yet.")
        return
    table = Table(title="Recent deliveries (digests and alerts)")
    for column in ("id", "created (UTC)", "what", "channel", "target", "status", "attempts"):
        table.add_column(column)
    for row in rows:
        colour = {"sent": "green", "failed": "red"}.get(row.status, "yellow")
        table.add_row(str(row.id), f"{row.created_at:%Y-%m-%d %H:%M}", Text(_reference(row.kind, row.reference)),
                      row.channel, Text(redact_urls(row.target)), Text(row.status, style=colour), str(row.attempts))
    console.print(table)
    for row in rows:
        if row.last_error:
            # Rows stored before URLs were redacted on the way in are redacted on the way out.
            console.print(Text(f"  {row.id}: {redact_urls(row.last_error)}",
                               style="red" if row.status == "failed" else ""),
                          soft_wrap=True)
    failed = [row for row in rows if row.status == "failed"]
    if failed:
        console.print(Text(f"{len(failed)} failed delivery(ies): `harken run` retries them every "
                           "[digest] redelivery_interval_seconds, up to max_attempts.", style="red"))


@alerts_app.command("check")
def alerts_check(
    deliver: Annotated[bool, typer.Option(help="Deliver the alerts raised by email and webhook.")] = True,
) -> None:
    """Apply the spike rule now, to the brand and each source, and show the verdicts."""
    from responders.digests.dispatch import check_and_alert

    settings = get_settings()
    engine = ready_engine(settings)
    run = check_and_alert(engine, settings, deliver_alerts=deliver)
    table = Table(title=f"Spike check at {run.check.now:%Y-%m-%d %H:%M} UTC "
                        f"(last {settings.alerts.window_minutes} min vs the same window on earlier days)")
    for column in ("scope", "negative", "expected", "ratio", "p-value", "test", "verdict"):
        table.add_column(column, justify="right" if column in {"negative", "expected", "ratio", "p-value"} else "left")
    for v in run.check.verdicts:
        table.add_row(Text(v.scope), str(v.observed), f"{v.expected:.1f}", f"{v.ratio:.1f}" if v.expected else "–",
                      f"{v.p_value:.2g}", v.test, Text(v.reason or "", style="red" if v.fired else ""))
    console.print(table)
    for alert in run.check.alerts:
        console.print(Text(f"ALERT {alert.id} ({alert.scope}): {alert.observed} negative mentions, "
                           f"{alert.expected:.1f} expected. {alert.explanation.get('link', '')}", style="bold red"))
    for report in run.deliveries:
        console.print(Text(f"  {report.channel} to {report.target}: {report.status}"
                           + (f" ({report.error})" if report.error else ""), style="green" if report.ok else "red"))
    if any(not r.ok for r in run.deliveries):
        raise typer.Exit(1)


@alerts_app.command("list")
def alerts_list(
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 20,
    scope: Annotated[str | None, typer.Option("--scope", help='"brand" or "source:<name>".')] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (with the full explanation).")] = False,
) -> None:
    """The alerts raised, newest first: scope, counts, the terms behind each, and its inbox link."""
    from responders.digests.alerts import list_alerts
    from responders.digests.render import alert_data

    settings = get_settings()
    engine = ready_engine(settings)
    alerts = list_alerts(engine, limit, scope)
    if as_json:
        typer.echo(json.dumps([alert_data(a) for a in alerts], indent=2, ensure_ascii=False))
        return
    if not alerts:
        console.print("No alerts.")
        return
    table = Table(title="Spike alerts")
    for column in ("id", "raised (UTC)", "scope", "negative", "expected", "p-value", "terms", "inbox"):
        table.add_column(column)
    for a in alerts:
        terms = ", ".join(t["term"] for t in a.explanation.get("terms", [])[:3])
        table.add_row(str(a.id), f"{a.created_at.astimezone(UTC):%Y-%m-%d %H:%M}", Text(a.scope), str(a.observed),
                      f"{a.expected:.1f}", f"{a.p_value:.2g}", Text(terms), Text(a.explanation.get("link", "")))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``harken digest`` and ``harken alerts`` to the command line."""
    app.command("digest")(digest)
    app.add_typer(alerts_app, name="alerts")

