"""``harken audit``: the append-only audit log."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from responders import audit
from responders.cli.support import acting, errors, ready
from responders.roles import Action, require

audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)


class AuditFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


@audit_app.command("export")
def audit_export(
    fmt: Annotated[AuditFormat, typer.Option("--format", help="jsonl or csv")] = AuditFormat.jsonl,
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: standard output).")] = None,
    since: Annotated[datetime | None, typer.Option(help="Only events at or after this UTC time.")] = None,
    actor: Annotated[str | None, typer.Option("--as", help="Check that this staff user may read the audit log "
                                              "(managers and admins).")] = None,
) -> None:
    """Every audit event, oldest first: who, when, what, on which object, before and after."""
    from datetime import UTC

    _, engine = ready()
    if actor:
        with acting(engine, actor) as (_session, user):
            require(user, Action.READ_AUDIT)  # type: ignore[arg-type]
    moment = since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since
    if out is None:
        count = audit.export(engine, sys.stdout, fmt.value, moment)
    else:
        with out.open("w", encoding="utf-8", newline="") as handle:
            count = audit.export(engine, handle, fmt.value, moment)
    errors.print(f"exported {count} audit event(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
