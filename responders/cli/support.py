"""What every command module shares: the consoles, the settings, a migrated engine, the acting user.

The command modules import this sibling, never their package (``responders.cli``), so the package can
import them all without a cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.clients import configure_logging
from listener.db import make_engine, migrate
from listener.models import StaffUser
from listener.settings import Settings, SettingsError, load_settings
from responders import config_audit, staff, triage, workflow
from responders.lengths import ReplyTooLong
from responders.queue import MentionNotFound
from responders.roles import PermissionDenied, UnknownRole
from responders.rules import RulesFileError

ActingAs = Annotated[str, typer.Option("--as", help="Email of the staff user doing this.")]

console = Console()
errors = Console(stderr=True)

EXPECTED = (workflow.WorkflowError, triage.TriageError, staff.StaffError, PermissionDenied, ReplyTooLong,
            UnknownRole, MentionNotFound, RulesFileError, ValueError)


def get_settings() -> Settings:
    """Load the settings or stop with the one-line reason."""
    try:
        settings = load_settings()
    except SettingsError as error:
        errors.print(f"[red]harken: {error}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    configure_logging(settings.logging.level, settings.secrets)
    return settings


def ready_engine(settings: Settings) -> Engine:
    """An engine on a migrated database."""
    migrate(settings.database.url)
    return make_engine(settings.database.url, settings.database.echo)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``harken: message`` on standard error; the caller raises what this returns."""
    errors.print(f"[red]harken: {message}[/red]", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def ready() -> tuple[Settings, Engine]:
    """Settings and a migrated engine; a changed configuration is recorded in the audit log."""
    settings = get_settings()
    engine = ready_engine(settings)
    with Session(engine) as session:
        config_audit.record_if_changed(session, settings)
        session.commit()
    return settings, engine


@contextmanager
def acting(engine: Engine, email: str | None = None) -> Iterator[tuple[Session, StaffUser | None]]:
    """A session that commits on success, with the acting user; expected errors end the command cleanly."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            user = staff.find_user(session, email) if email else None
            yield session, user
            session.commit()
        except EXPECTED as error:
            session.rollback()
            raise fail(str(error)) from None
        except BaseException:
            session.rollback()
            raise
