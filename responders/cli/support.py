"""What every command module shares: the consoles, the settings, a migrated engine, the acting user.

The command modules import this sibling, never their package (``responders.cli``), so the package can
import them all without a cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.text import Text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session

from listener.db import make_engine, migrate
from listener.errors import HarkenError
from listener.logs import configure_logging
from listener.models import StaffUser
from listener.profiles.errors import ColumnMappingError, CustomerFileError
from listener.safe_text import mask_url_password
from listener.sentiment.errors import (
    CorrectionError,
    LabelledDataError,
    ModelLoadError,
    SoupError,
    TrainingDataError,
)
from listener.settings import Settings, SettingsError, load_settings
from listener.terminal import SafeConsole
from responders import config_audit, staff
from responders.digests.errors import NotConfigured, PeriodError

ActingAs = Annotated[str, typer.Option("--as", help="Email of the staff user doing this.")]

console = SafeConsole()  # strips control characters: printed text comes from strangers
errors = SafeConsole(stderr=True)

# Exit 2: what was given (settings, a file, an argument) is wrong and must be fixed before trying again.
# Exit 1: Harken refused or could not do what was asked; the message says why.
EXIT_CODES: tuple[tuple[type[Exception], int], ...] = (
    (SettingsError, 2),
    (ModelLoadError, 2),
    (LabelledDataError, 2),
    (TrainingDataError, 2),
    (SoupError, 2),
    (CorrectionError, 2),
    (ColumnMappingError, 2),
    (CustomerFileError, 2),
    (PeriodError, 2),
    (NotConfigured, 2),
    (OSError, 2),  # a file named on the command line cannot be read or written
    (HarkenError, 1),
    (ValueError, 1),
)
"""Error class -> exit code of the ``harken`` command, first match wins."""

ANSWERED: tuple[type[Exception], ...] = tuple(error_class for error_class, _ in EXIT_CODES)


def exit_code_for(error: Exception) -> int:
    """The exit code that ends a command on ``error`` (1 for a class the table does not name)."""
    for error_class, code in EXIT_CODES:
        if isinstance(error, error_class):
            return code
    return 1


def get_settings() -> Settings:
    """Load the settings or stop with the one-line reason."""
    with answering():
        settings = load_settings()
    configure_logging(settings.logging.level, settings.secrets)
    return settings


def database_error_line(error: DBAPIError, url: str | None = None) -> str:
    """One line for a database that cannot be opened or reached: the driver's reason, no traceback."""
    reason = (str(error.orig or error).strip().splitlines() or [type(error).__name__])[0]
    where = f" at {mask_url_password(url)}" if url else ""
    return mask_url_password(f"harken: cannot open the database{where}: {reason}")


def ready_engine(settings: Settings) -> Engine:
    """An engine on a migrated database; a database that cannot be reached stops with one line."""
    try:
        migrate(settings.database.url)
    except (OperationalError, InterfaceError) as error:
        errors.print(database_error_line(error, settings.database.url), style="red", markup=False,
                     highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    return make_engine(settings.database.url, settings.database.echo)


def fail(problem: Exception | str, code: int | None = None) -> typer.Exit:
    """Print ``harken: problem`` on standard error; the caller raises what this returns.

    An error's exit code comes from :data:`EXIT_CODES` unless ``code`` is given (for a misused option).
    """
    errors.print(Text(f"harken: {problem}", style="red"), soft_wrap=True)
    if code is None:
        code = exit_code_for(problem) if isinstance(problem, Exception) else 1
    return typer.Exit(code)


@contextmanager
def answering() -> Iterator[None]:
    """Errors named in :data:`EXIT_CODES` end the command with their message and code; bugs propagate."""
    try:
        yield
    except ANSWERED as error:
        raise fail(error) from None


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
        except ANSWERED as error:
            session.rollback()
            raise fail(error) from None
        except BaseException:
            session.rollback()
            raise
