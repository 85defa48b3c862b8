"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL by URL.

Schema changes go through the Alembic migrations in ``listener/migrations``;
:func:`migrate` brings any database to the newest revision.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import Alias
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: every timestamp Harken stores is UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, the same on SQLite and PostgreSQL.

    SQLite keeps no time zone; storing naive UTC everywhere keeps comparisons and
    indexes consistent across both back-ends.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Harken stores only timezone-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while a collector writes; busy_timeout makes a
    # writer wait for the lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine for ``url`` with the settings each back-end needs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # pre_ping replaces connections the server dropped (restart, failover).
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema of the database at ``url``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def downgrade(url: str, revision: str) -> None:
    """Undo migrations down to ``revision`` ("base" removes every table)."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)


class _IndexedAlias(Alias):
    """An alias of a table that SQLite reads through one named index (``INDEXED BY``); elsewhere a plain alias."""

    inherit_cache = True
    index_name = ""


@compiles(_IndexedAlias, "sqlite")
def _sqlite_indexed_alias(element: _IndexedAlias, compiler: Any, **kw: Any) -> str:
    text: str = compiler.visit_alias(element, **kw)
    if not kw.get("asfrom"):
        return text
    # No index name: NOT INDEXED, read by rowid only (see not_indexed).
    return f"{text} INDEXED BY {element.index_name}" if element.index_name else f"{text} NOT INDEXED"


def indexed_by(model: type[Any], index: str, name: str) -> Any:
    """``model`` under the alias ``name``, read through ``index`` on SQLite.

    SQLite plans without statistics unless ANALYZE was run, and then it takes an
    equality on any indexed column (``status IN (...)``) for a handful of rows: it
    would read every open mention through the status index and sort them rather
    than walk the first rows of an index already in the wanted order. PostgreSQL has
    its statistics and chooses by itself. Call this once per index, at import: the
    alias class is part of the statement cache key. A query through it must be one
    that the index can serve (for a partial index, repeat its condition literally),
    or SQLite refuses it.
    """
    alias_class = type(f"IndexedBy_{index}", (_IndexedAlias,), {"index_name": index, "inherit_cache": True})
    return aliased(model, alias_class._construct(model.__table__, name=name))


def not_indexed(model: type[Any], name: str) -> Any:
    """``model`` under the alias ``name``, read on SQLite by rowid only (``NOT INDEXED``); elsewhere a plain alias.

    For a query whose rows come from a short list of ids (a full-text index's
    matches): without statistics SQLite would rather walk another index (that of
    ``status IN (...)``) and test each row against the list.
    """
    alias_class = type(f"NotIndexed_{name}", (_IndexedAlias,), {"index_name": "", "inherit_cache": True})
    return aliased(model, alias_class._construct(model.__table__, name=name))
