"""A migration and its version stamp commit together: a kill at any step leaves a database that upgrades
(issue 18, item 16)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.runtime.migration import HeadMaintainer
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from listener.db import alembic_config, current_revision, make_engine, migrate
from tests.conftest import POSTGRES_SERVER

REPO = Path(__file__).resolve().parents[1]


def _chain() -> list[str]:
    """Every revision, oldest first."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def _state(url: str) -> tuple[str | None, set[str]]:
    engine = make_engine(url)
    try:
        return current_revision(engine), set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# Runs in a child process: the migration of REVISION has run its DDL; the process dies before anything else.
_KILLED_AFTER_DDL = textwrap.dedent("""
    import os, signal, sys
    from alembic.runtime.migration import HeadMaintainer
    from listener.db import migrate

    url, doomed = sys.argv[1], sys.argv[2]
    stamp = HeadMaintainer.update_to_step

    def die_before_the_stamp(self, step):
        if step.revision.revision == doomed:
            os.kill(os.getpid(), signal.SIGKILL)
        stamp(self, step)

    HeadMaintainer.update_to_step = die_before_the_stamp
    migrate(url)
""")


def test_sqlite_killed_at_every_migration_upgrades_afterwards(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'harken.db'}"
    chain = _chain()
    seen_tables: set[str] = set()
    for index, revision in enumerate(chain):
        killed = subprocess.run([sys.executable, "-c", _KILLED_AFTER_DDL, url, revision], cwd=REPO,
                                capture_output=True, text=True, timeout=300)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        stamped, tables = _state(url)
        # The killed migration left nothing: the database is exactly at the one before it.
        assert stamped == (chain[index - 1] if index else None), revision
        assert tables == seen_tables, f"{revision} left {sorted(tables ^ seen_tables)} behind"
        migrate(url, revision)  # the next start goes on from there
        seen_tables = _state(url)[1]
    migrate(url)
    assert _state(url)[0] == chain[-1]


class _Crash(Exception):
    pass


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    name = f"harken_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{POSTGRES_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_failure_after_any_migrations_ddl_rolls_that_migration_back(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'harken.db'}" if backend == "sqlite" else request.getfixturevalue("fresh_postgres")
    chain = _chain()
    stamp = HeadMaintainer.update_to_step
    doomed: list[str] = []

    def fail_before_the_stamp(self: Any, step: Any) -> None:
        if step.revision.revision == doomed[-1]:
            raise _Crash(step.revision.revision)
        stamp(self, step)

    monkeypatch.setattr(HeadMaintainer, "update_to_step", fail_before_the_stamp)
    tables_before = _state(url)[1]
    for index, revision in enumerate(chain):
        doomed.append(revision)
        with pytest.raises(_Crash):
            migrate(url)  # every migration before the doomed one commits; the doomed one rolls back
        stamped, tables = _state(url)
        assert stamped == (chain[index - 1] if index else None), revision
        assert tables == tables_before, f"{revision} left {sorted(tables ^ tables_before)} behind"
        doomed[-1] = "none"
        migrate(url, revision)
        tables_before = _state(url)[1]
    migrate(url)
    assert _state(url)[0] == chain[-1]
