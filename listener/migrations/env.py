"""Alembic environment: the schema is SQLModel's metadata from listener.models."""

from __future__ import annotations

from typing import Any

from alembic import context
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


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection: Any) -> None:
    # render_as_batch: SQLite can only change a table by copying it.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=True,
        compare_type=True,
        include_name=include_in_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
