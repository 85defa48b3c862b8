"""Status lists defined once (listener.statuses): the tables' partial indexes are built from them."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from listener.statuses import OPEN_MENTION_STATUSES, OPEN_REPLY_STATES, sql_in


def _index_sql(url: str, name: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            statement = text("SELECT sql FROM sqlite_master WHERE name = :name")
            return connection.execute(statement, {"name": name}).scalar_one()
    finally:
        engine.dispose()


def test_the_migrated_open_mention_index_covers_exactly_the_open_statuses(sqlite_url: str) -> None:
    # The queue reads ix_mentions_open only when its query repeats the index's condition word for word.
    assert _index_sql(sqlite_url, "ix_mentions_open").endswith(
        "WHERE status IN ('new', 'needs_reply', 'assigned', 'waiting')")
    assert sql_in("status", OPEN_MENTION_STATUSES) == "status IN ('new', 'needs_reply', 'assigned', 'waiting')"


def test_the_migrated_one_open_reply_index_covers_exactly_the_open_reply_states(sqlite_url: str) -> None:
    condition = sql_in("state", OPEN_REPLY_STATES)
    assert condition == "state IN ('draft', 'pending_approval', 'approved', 'sending', 'failed')"
    assert _index_sql(sqlite_url, "ux_replies_one_open_per_mention").endswith(f"WHERE {condition}")


def test_a_status_with_a_quote_is_refused_rather_than_spelled_into_sql() -> None:
    with pytest.raises(ValueError, match="may not contain a quote"):
        sql_in("status", ("new", "it's"))
