"""``harken profiles``: import and export customers, show a profile, review suggested links, merge."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from listener.db import session_scope
from listener.profiles.crm import ColumnMapping, ImportReport, export_customers, import_customers
from listener.profiles.errors import ProfileError
from responders.cli.support import console, errors, fail, get_settings, ready_engine

app = typer.Typer(
    help="Customer profiles: import/export the CRM, show a profile, review suggested links, merge.",
    no_args_is_help=True,
)

By = Annotated[str, typer.Option("--by", help="Who does this (recorded).")]
MapOption = Annotated[
    str | None, typer.Option("--map", help='File column = Harken field, e.g. "Email=emails,Customer ID=crm_id".')
]
# Help text is Rich markup: an unescaped "[columns]" would be read as a style and vanish.
MappingFile = Annotated[Path | None, typer.Option("--mapping", help="TOML file with a \\[columns] table.")]


def _mapping(spec: str | None, path: Path | None) -> ColumnMapping:
    try:
        mapping = ColumnMapping.from_toml(path) if path else ColumnMapping()
        if spec:
            mapping = ColumnMapping.of({**mapping.columns, **ColumnMapping.parse(spec).columns})
    except ProfileError as error:
        raise fail(error) from None
    return mapping


def _engine():  # type: ignore[no-untyped-def]
    return ready_engine(get_settings())


def _print_report(report: ImportReport, dry_run: bool) -> None:
    console.print(
        Text(
            f"{report.rows} row(s): {len(report.created)} created, {len(report.updated)} updated, "
            f"{report.unchanged} unchanged, {len(report.problems)} bad"
            + (f", {report.blank_lines} blank line(s) skipped" if report.blank_lines else "")
            + (f"; {report.suggestions} link suggestion(s)" if report.suggestions else "")
            + (" (dry run: nothing was saved)" if dry_run else "")
        )
    )
    if report.ignored_columns:
        console.print(Text(f"ignored column(s), not mapped to a field: {', '.join(report.ignored_columns)}"))
    for note in report.notes:
        console.print(Text(f"  note: {note}"))
    for problem in report.problems:
        errors.print(Text(f"  {problem}", style="red"))


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV export of the CRM (UTF-8).")],
    map_: MapOption = None,
    mapping_file: MappingFile = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count, change nothing.")] = False,
) -> None:
    """Import customers: good rows are imported, each bad row is reported with its line number.

    Exits 1 when some row was bad (after importing the good ones).
    """
    mapping = _mapping(map_, mapping_file)
    engine = _engine()
    try:
        with session_scope(engine) as session:
            report = import_customers(session, file, mapping)
            if dry_run:
                session.rollback()
    except ProfileError as error:
        raise fail(error) from None
    _print_report(report, dry_run)
    if report.problems:
        raise typer.Exit(1)


@app.command("export")
def export_command(
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: standard output).")] = None,
    map_: MapOption = None,
    mapping_file: MappingFile = None,
) -> None:
    """Write the imported customers in the import format (prospects are not exported)."""
    mapping = _mapping(map_, mapping_file)
    engine = _engine()
    with session_scope(engine) as session:
        if out is None:
            count = export_customers(session, sys.stdout, mapping)
        else:
            with out.open("w", encoding="utf-8", newline="") as handle:
                count = export_customers(session, handle, mapping)
    errors.print(f"exported {count} customer(s)")


@app.command("list")
def list_command(
    search: Annotated[str | None, typer.Option("--search", help="Part of the name, or a CRM id.")] = None,
    customers: Annotated[bool, typer.Option("--customers", help="Only imported customers.")] = False,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
) -> None:
    """Live profiles, newest first (merged-away profiles are hidden)."""
    from listener.profiles.store import list_profiles

    with session_scope(_engine()) as session:
        rows = list_profiles(session, search=search, include_prospects=not customers, limit=limit)
    table = Table(title="Profiles")
    for column in ("id", "name", "tier", "kind", "company", "crm id", "accounts"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row.id), Text(row.display_name), row.tier, "prospect" if row.is_prospect else "customer",
                      Text(row.company or ""), Text(row.crm_id or ""), str(row.identities))
    console.print(table)


@app.command("show")
def show_command(
    profile_id: Annotated[int, typer.Argument(help="Profile id.")],
    limit: Annotated[int, typer.Option(help="Mentions to show, newest first.")] = 20,
    bucket: Annotated[str, typer.Option(help="Trend period: day, week or month.")] = "week",
) -> None:
    """A profile: its fields, accounts, suggested links, merges, mentions and sentiment trend."""
    from listener.profiles.link_suggestions import list_suggestions
    from listener.profiles.merging import merges_of
    from listener.profiles.store import get_profile, identities_of, live_profile
    from listener.profiles.timeline import BUCKETS, profile_timeline, sentiment_trend

    if bucket not in BUCKETS:
        raise fail(f"unknown bucket {bucket!r} (expected {', '.join(BUCKETS)})", 2)
    with session_scope(_engine()) as session:
        try:
            asked = get_profile(session, profile_id)
            profile = live_profile(session, profile_id)
        except ProfileError as error:
            raise fail(error) from None
        if asked.id != profile.id:
            console.print(Text(f"Profile {asked.id} was merged into profile {profile.id}; showing {profile.id}."))
        identities = identities_of(session, profile.id)  # type: ignore[arg-type]
        suggestions = list_suggestions(session, profile_id=profile.id)
        merges = merges_of(session, profile.id)  # type: ignore[arg-type]
        timeline = profile_timeline(session, profile.id, limit=limit)  # type: ignore[arg-type]
        trend = sentiment_trend(session, profile.id, bucket)  # type: ignore[arg-type]

    fields = Table(title=f"Profile {profile.id}", show_header=False)
    fields.add_column("field", style="bold")
    fields.add_column("value")
    for name, value in (
        ("name", profile.display_name), ("kind", "prospect" if profile.is_prospect else "customer"),
        ("tier", profile.tier),
        ("company", profile.company), ("crm id", profile.crm_id), ("emails", ", ".join(profile.emails)),
        ("tags", ", ".join(profile.tags)), ("notes", profile.notes),
        ("created", f"{profile.created_at:%Y-%m-%d %H:%M} UTC"),
        ("updated", f"{profile.updated_at:%Y-%m-%d %H:%M} UTC"),
    ):
        fields.add_row(name, Text(value or ""))
    console.print(fields)

    accounts = Table(title="Accounts")
    for column in ("platform", "handle", "user id", "provenance", "confidence"):
        accounts.add_column(column)
    for identity in identities:
        accounts.add_row(identity.platform, Text(identity.handle), Text(identity.platform_user_id or "(not seen yet)"),
                         identity.provenance, f"{identity.confidence:.2f}")
    console.print(accounts)

    if suggestions:
        console.print(Text(f"{len(suggestions)} open link suggestion(s): harken profiles suggestions"))
    for merge in merges:
        state = f"undone {merge.undone_at:%Y-%m-%d} by {merge.undone_by}" if merge.undone_at else "in effect"
        console.print(Text(f"merge {merge.id}: profile {merge.merged_id} into {merge.survivor_id} by "
                           f"{merge.merged_by} on {merge.merged_at:%Y-%m-%d} ({state})"))

    mentions = Table(title=f"Mentions (newest {limit})")
    for column in ("when", "platform", "sentiment", "text", "url"):
        mentions.add_column(column, overflow="fold")
    for entry in timeline:
        mentions.add_row(f"{entry.created_at:%Y-%m-%d %H:%M}", entry.platform, entry.sentiment_label or "",
                         Text(entry.text[:280]), Text(entry.url))
        for reply in entry.replies:
            mentions.add_row(f"{reply.sent_at:%Y-%m-%d %H:%M}", "", "reply", Text("↳ " + reply.text[:280]), "")
    console.print(mentions)

    if trend:
        table = Table(title=f"Sentiment by {bucket}")
        for column in ("from", "negative", "neutral", "positive", "other", "net"):
            table.add_column(column, justify="right")
        for point in trend:
            other = point.total - sum(point.counts.get(k, 0) for k in ("negative", "neutral", "positive"))
            table.add_row(str(point.period_start), *(str(point.counts.get(k, 0)) for k in
                          ("negative", "neutral", "positive")), str(other),
                          "" if point.net is None else f"{point.net:+.2f}")
        console.print(table)


@app.command("suggestions")
def suggestions_command(
    status: Annotated[str, typer.Option(help="open, confirmed, dismissed or superseded.")] = "open",
    limit: Annotated[int, typer.Option(help="Rows to show, strongest first.")] = 50,
) -> None:
    """Suggested links with their score and reasons: confirm or dismiss each one."""
    from listener.profiles.link_suggestions import list_suggestions

    with session_scope(_engine()) as session:
        views = list_suggestions(session, status=status, limit=limit)
    table = Table(title=f"Link suggestions ({status})")
    for column in ("id", "score", "profile", "may be", "reasons"):
        table.add_column(column, overflow="fold")
    for view in views:
        def describe(brief) -> Text:  # type: ignore[no-untyped-def]
            kind = "prospect" if brief.is_prospect else brief.tier
            return Text(f"{brief.id} {brief.display_name} ({kind})")

        reasons = "\n".join(f"{r['rule']} {r['score']:.2f}: {r['detail']}" for r in view.reasons)
        table.add_row(str(view.id), f"{view.score:.2f}", describe(view.profile_b), describe(view.profile_a),
                      Text(reasons))
    console.print(table)
    if not views:
        console.print(f"No {status} suggestions.")


@app.command("confirm")
def confirm_command(
    suggestion_id: Annotated[int, typer.Argument(help="Suggestion id.")],
    by: By,
    survivor: Annotated[int | None, typer.Option(help="Which of the two profiles survives.")] = None,
) -> None:
    """Confirm a suggested link: the two profiles are merged (undo with `unmerge`)."""
    from listener.profiles.link_suggestions import confirm_suggestion

    try:
        with session_scope(_engine()) as session:
            merge = confirm_suggestion(session, suggestion_id, by=by, survivor_id=survivor)
    except ProfileError as error:
        raise fail(error) from None
    console.print(f"Merged profile {merge.merged_id} into {merge.survivor_id} (merge {merge.id}).")


@app.command("dismiss")
def dismiss_command(suggestion_id: Annotated[int, typer.Argument(help="Suggestion id.")], by: By) -> None:
    """Dismiss a suggested link: recorded, and the pair is not suggested again."""
    from listener.profiles.link_suggestions import dismiss_suggestion

    try:
        with session_scope(_engine()) as session:
            dismiss_suggestion(session, suggestion_id, by=by)
    except ProfileError as error:
        raise fail(error) from None
    console.print(f"Dismissed suggestion {suggestion_id}.")


@app.command("merge")
def merge_command(
    survivor_id: Annotated[int, typer.Argument(help="The profile that stays.")],
    other_id: Annotated[int, typer.Argument(help="The profile merged into it.")],
    by: By,
) -> None:
    """Merge OTHER into SURVIVOR: accounts and mentions move; undo with `unmerge`."""
    from listener.profiles.merging import merge_profiles

    try:
        with session_scope(_engine()) as session:
            merge = merge_profiles(session, survivor_id, other_id, by=by)
    except ProfileError as error:
        raise fail(error) from None
    console.print(f"Merged profile {other_id} into {survivor_id} (merge {merge.id}).")


@app.command("unmerge")
def unmerge_command(
    merge_id: Annotated[int, typer.Argument(help="Merge id (shown by merge and show).")], by: By
) -> None:
    """Undo a merge: both profiles as they were, with their accounts and mentions."""
    from listener.profiles.merging import unmerge

    try:
        with session_scope(_engine()) as session:
            result = unmerge(session, merge_id, by=by)
    except ProfileError as error:
        raise fail(error) from None
    console.print(f"Undid merge {merge_id}: profiles {result.merge.survivor_id} and {result.merge.merged_id} restored.")
    if result.kept_later_edits:
        console.print(Text(f"Kept edits made after the merge to: {', '.join(result.kept_later_edits)}"))


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="profiles")
