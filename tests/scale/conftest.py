"""Fixtures for the scale-out tests: an empty PostgreSQL database and ``harken`` subprocesses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import _clean_postgres
from tests.scale.helpers import Harken


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    """The session's PostgreSQL database, emptied."""
    _clean_postgres(postgres_url)
    return postgres_url


@pytest.fixture
def processes() -> Iterator[list[Harken]]:
    """``harken`` subprocesses started by a test; any still running at the end are killed."""
    started: list[Harken] = []
    yield started
    for process in started:
        process.kill()
