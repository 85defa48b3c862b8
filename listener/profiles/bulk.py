"""Bulk-import helpers: writing many rows without per-row ORM work, and keeping the garbage collector cheap.

A million-row import spends most of its time outside SQL unless care is taken:

- SQLAlchemy's executemany runs each row through compiled-parameter handling
  (about 40 microseconds a row); on SQLite :func:`insert_rows` converts only the
  columns whose type needs it, with SQLAlchemy's own converters (so the stored
  values are exactly those an ORM insert would store), and hands plain tuples to
  the driver.
- Python's cyclic garbage collector scans every tracked object in its oldest
  generation from time to time; an import keeps millions of small objects alive
  (the repeat check remembers every row), so each scan gets longer as the import
  goes on. :class:`BatchGarbage` collects after each batch and then freezes what
  survived, so each object is scanned about once.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlmodel import Session


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (values in the order of ``columns``) into ``table`` in this session's transaction.

    On SQLite one executemany of a plain INSERT on the driver; elsewhere SQLAlchemy's Core
    executemany (psycopg needs its own adaptation of JSON values, which SQLAlchemy gives).
    Python-side column defaults are not applied on SQLite: name every column that needs a value.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    converters: list[tuple[int, Callable[[Any], Any]]] = []
    for index, name in enumerate(columns):
        converter = table.c[name].type._cached_bind_processor(dialect)
        if converter is not None:
            converters.append((index, converter))
    if converters:
        plain = []
        last: dict[int, tuple[Any, Any]] = {}  # column -> (value, converted) of the row before
        for row in rows:
            values = list(row)
            for index, converter in converters:
                value = values[index]
                before = last.get(index)
                if before is not None and before[0] is value:
                    values[index] = before[1]  # the same object (one timestamp for every row): converted once
                    continue
                values[index] = converter(value)  # None too: a JSON column stores it as 'null'
                last[index] = (value, values[index])
            plain.append(values)
        rows = plain
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    placeholders = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({quoted}) VALUES ({placeholders})",
        [tuple(row) for row in rows],
    )


class BatchGarbage:
    """Collect the garbage of each batch, then freeze the survivors out of later collections.

    Used as a context manager around a batched import: :meth:`after_batch` after each
    batch; leaving unfreezes everything it froze, so later collections see it again.
    Does nothing when something else in the process already uses ``gc.freeze`` (a
    server that forks, say): unfreezing would undo that caller's freeze too.
    """

    def __init__(self) -> None:
        self.active = False

    def __enter__(self) -> BatchGarbage:
        self.active = gc.isenabled() and gc.get_freeze_count() == 0
        return self

    def after_batch(self) -> None:
        if self.active:
            gc.collect()  # only objects since the last freeze are scanned
            gc.freeze()

    def __exit__(self, *_exc: object) -> None:
        if self.active:
            gc.unfreeze()
            self.active = False
