"""Shared fixtures: real databases (a SQLite file and the PostgreSQL server) and settings."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from listener.db import make_engine, migrate
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

POSTGRES_SERVER = os.environ.get("HARKEN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
TABLES_IN_DELETE_ORDER = (
    "presence", "note_mentions", "notes", "saved_views",
    "digest_snapshots", "alerts", "deliveries", "audit_events", "reply_approvals", "replies", "mention_embeddings",
    "draft_requests", "suggestions",
    "sentiment_corrections", "quarantined_payloads", "web_sessions", "api_tokens", "sign_in_failures",
    "mentions", "identities", "authors", "customer_profiles", "staff_users", "sources",
)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own settings."""
    for name in list(os.environ):
        if name.startswith("HARKEN_") and name != "HARKEN_TEST_POSTGRES":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "harken.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    name = f"harken_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{POSTGRES_SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # pragma: no cover - environment problem, say so plainly
        pytest.fail(f"PostgreSQL at {POSTGRES_SERVER} is needed for these tests: {error}")
    url = f"{POSTGRES_SERVER}/{name}"
    migrate(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _clean_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES_IN_DELETE_ORDER)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "harken.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: each test using it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("postgres_url")
    _clean_postgres(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def platforms() -> Iterator[tuple[XSimulator, RedditSimulator]]:
    """The X and Reddit simulators, running on 127.0.0.1 for one test."""
    with XSimulator() as x, RedditSimulator() as reddit:
        yield x, reddit
