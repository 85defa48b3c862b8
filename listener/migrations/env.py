"""Alembic environment: the schema is SQLModel's metadata from listener.models."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import listener.models  # noqa: F401  (registers the tables)
from listener.db import UTCDateTime, make_engine
from listener.search import include_in_autogenerate

config = context.config
target_metadata = SQLModel.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations stay plain SQLAlchemy: the UTC handling lives in the model layer.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_item=_render_item,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _migration_engine(url: str) -> Engine:
    """An engine whose SQLite connections really run DDL inside transactions.

    SQLite has transactional DDL, but pysqlite's legacy transaction handling opens a
    transaction only before INSERT, UPDATE and DELETE: each CREATE or ALTER committed at
    once, so a process killed mid-migration left tables behind without their revision in
    ``alembic_version``, and every later start failed with "table already exists". With the
    driver's handling off and BEGIN emitted by ourselves (SQLAlchemy's documented recipe for
    pysqlite), a migration and its version stamp commit together or not at all.
    """
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _driver_leaves_transactions_to_us(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

    return engine


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = _migration_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection: Any) -> None:
    # render_as_batch: SQLite can only change a table by copying it. One transaction per migration, on
    # SQLite too (see _migration_engine): a kill leaves the database at the last whole migration.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=True,
        compare_type=True,
        include_name=include_in_autogenerate,
        transaction_per_migration=True,
        transactional_ddl=True if connection.dialect.name == "sqlite" else None,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
