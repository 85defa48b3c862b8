"""One sender at a time, across processes, released by the operating system on a crash.

Two senders reconciling the same interrupted reply at once could both find it
missing and both post it. So the sender holds an exclusive lock while it works:
a PostgreSQL session advisory lock, or on SQLite an ``flock`` on a file beside the
database. Both vanish with the process that held them, so a sender killed with
SIGKILL never leaves a stale lock that its restart has to wait out.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import zlib
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Engine


class LockBusy(Exception):
    """Another process holds the lock; try again on the next run."""


def _advisory_key(name: str) -> int:
    return zlib.crc32(f"harken:{name}".encode())


@contextlib.contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """Hold the lock ``name`` for the block, or raise :class:`LockBusy` at once."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            key = _advisory_key(name)
            acquired = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
            connection.commit()  # a session lock outlives the transaction; do not sit idle in one
            if not acquired:
                raise LockBusy(f"another process holds the {name} lock")
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # an in-memory database lives in one process: nothing to share
        return
    descriptor = os.open(f"{database}.{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockBusy(f"another process holds the {name} lock") from None
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
