"""Storage: the same tests on a SQLite file and on the PostgreSQL server."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import Session

from listener.collecting import store_page
from listener.db import alembic_config, current_revision, downgrade, make_engine, migrate
from listener.export import export_mentions
from listener.models import Author, Mention, QuarantinedPayload, Source
from listener.platforms.collector import CollectedAuthor, CollectedMention, Page, QuarantinedItem

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def tweet(
    n: int, text: str = "hello", user: str = "42", handle: str = "alice", followers: int = 10
) -> CollectedMention:
    return CollectedMention(
        platform="x",
        external_id=str(1000 + n),
        kind="tweet",
        text=text,
        url=f"https://x.com/{handle}/status/{1000 + n}",
        created_at=T0 + timedelta(minutes=n),
        raw={"id": str(1000 + n), "text": text},
        author=CollectedAuthor("x", user, handle, display_name=handle.title(), followers=followers),
    )


def make_source(engine: Engine, name: str = "x:mentions") -> Source:
    with Session(engine, expire_on_commit=False) as session:
        source = Source(name=name, kind="x_mentions", platform="x")
        session.add(source)
        session.commit()
        return source


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def head_revision(url: str) -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head() or ""


def test_migrations_create_every_table_and_downgrade_cleanly(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) == head_revision(db_url)
    tables = set(inspect(engine).get_table_names())
    assert {
        "sources",
        "mentions",
        "authors",
        "customer_profiles",
        "identities",
        "suggestions",
        "replies",
        "audit_events",
        "staff_users",
        "quarantined_payloads",
        "sentiment_corrections",
    } <= tables
    downgrade(db_url, "base")
    assert not ({"mentions", "sources"} & set(inspect(engine).get_table_names()))
    migrate(db_url)
    assert current_revision(engine) == head_revision(db_url)
    engine.dispose()


def test_models_and_migrations_agree(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from listener.search import include_in_autogenerate

    engine = make_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_name": include_in_autogenerate})
        assert compare_metadata(context, SQLModel.metadata) == []
    engine.dispose()


def test_every_index_of_the_models_is_migrated(db_url: str) -> None:
    """By name, on both back-ends: the comparison above skips expression indexes on SQLite (it cannot reflect them)."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    engine = make_engine(db_url)
    query = ("SELECT name FROM sqlite_master WHERE type = 'index'" if db_url.startswith("sqlite")
             else "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    with engine.connect() as connection:
        present = set(connection.execute(text(query)).scalars())
    engine.dispose()
    wanted = {index.name for table in SQLModel.metadata.tables.values() for index in table.indexes}
    assert wanted - present == set()


def test_page_is_stored_with_its_cursor_and_a_repeat_stores_nothing(engine: Engine) -> None:
    source = make_source(engine)
    page = Page(mentions=[tweet(1), tweet(2), tweet(3, user="7", handle="bob")], cursor={"since_id": "1003"})
    with Session(engine) as session:
        assert store_page(session, source, page) == (3, 0)
        session.commit()
    with Session(engine) as session:
        assert store_page(session, source, page) == (0, 3)
        session.commit()
    assert count(engine, Mention) == 3
    assert count(engine, Author) == 2
    with Session(engine) as session:
        stored = session.execute(select(Source).where(Source.name == "x:mentions")).scalar_one()
        assert stored.cursor == {"since_id": "1003"}
        assert stored.mentions_collected == 3


def test_a_failed_page_moves_neither_mentions_nor_cursor(engine: Engine) -> None:
    source = make_source(engine)
    bad = CollectedMention(
        platform="x",
        external_id="9",
        kind="tweet",
        text="x",
        url="u",
        created_at=datetime(2026, 1, 1),  # naive: refused, so the transaction must roll back
        raw={},
    )
    with Session(engine) as session, pytest.raises(StatementError, match="naive datetime"):
        store_page(session, source, Page(mentions=[tweet(1), bad], cursor={"since_id": "9"}))
        session.commit()
    assert count(engine, Mention) == 0
    with Session(engine) as session:
        assert session.execute(select(Source.cursor)).scalar_one() == {}


def test_renamed_author_keeps_identity_and_gets_new_handle(engine: Engine) -> None:
    source = make_source(engine)
    with Session(engine) as session:
        store_page(session, source, Page(mentions=[tweet(1, handle="old_name")]))
        store_page(session, source, Page(mentions=[tweet(2, handle="new_name", followers=99)]))
        session.commit()
    with Session(engine) as session:
        authors = session.execute(select(Author)).scalars().all()
        assert [(a.platform_user_id, a.handle, a.followers) for a in authors] == [("42", "new_name", 99)]
        mentions = session.execute(select(Mention).order_by(Mention.id)).scalars().all()
        assert {m.author_id for m in mentions} == {authors[0].id}


HOSTILE = [
    "<script>alert('x')</script>",
    "'; DROP TABLE mentions; --",
    "nul\x00byte",
    "\u202egnp.exe",
    "Z̷̡̛a̸̢l̴g̵o̶",
    "😡😡😡",
    "x" * 100_000,
]


def test_hostile_texts_are_stored_as_data(engine: Engine) -> None:
    source = make_source(engine)
    with Session(engine) as session:
        store_page(session, source, Page(mentions=[tweet(i, text=t) for i, t in enumerate(HOSTILE)]))
        session.commit()
    with Session(engine) as session:
        texts = session.execute(select(Mention.text).order_by(Mention.id)).scalars().all()
        raws = session.execute(select(Mention.raw).order_by(Mention.id)).scalars().all()
    expected = [t.replace("\x00", "") for t in HOSTILE]
    assert texts == expected
    assert json.loads(raws[2])["text"] == "nul\x00byte"  # the raw payload is kept exactly
    assert count(engine, Mention) == len(HOSTILE)


def test_times_come_back_in_utc(engine: Engine) -> None:
    source = make_source(engine)
    local = datetime(2026, 11, 1, 14, 0, tzinfo=UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    mention = CollectedMention("x", "1", "tweet", "t", "u", local, {})
    with Session(engine) as session:
        store_page(session, source, Page(mentions=[mention]))
        session.commit()
    with Session(engine) as session:
        created = session.execute(select(Mention.created_at)).scalar_one()
    assert created == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
    assert created.tzinfo is UTC


def test_quarantined_items_are_kept_raw_with_the_reason(engine: Engine) -> None:
    source = make_source(engine)
    with Session(engine) as session:
        store_page(session, source, Page(quarantined=[QuarantinedItem("tweet: no text", '{"id": "5"}')]))
        session.commit()
    with Session(engine) as session:
        row = session.execute(select(QuarantinedPayload)).scalar_one()
    assert (row.source_name, row.error, row.raw) == ("x:mentions", "tweet: no text", '{"id": "5"}')


def test_export_writes_one_record_per_mention(engine: Engine) -> None:
    source = make_source(engine)
    with Session(engine) as session:
        store_page(session, source, Page(mentions=[tweet(1, text='a, "quoted"\nline'), tweet(2)]))
        session.commit()
    out = io.StringIO()
    assert export_mentions(engine, out, "jsonl") == 2
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records[0]["text"] == 'a, "quoted"\nline'
    assert records[0]["author_handle"] == "alice"
    assert records[0]["created_at"] == "2026-11-01T12:01:00Z"
    assert set(records[0]) == {
        "platform",
        "external_id",
        "url",
        "author_handle",
        "text",
        "created_at",
        "language",
        "sentiment_label",
        "sentiment_confidence",
        "profile_id",
    }
    out = io.StringIO()
    export_mentions(engine, out, "csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["external_id"] for r in rows] == ["1001", "1002"]
    assert rows[0]["text"] == 'a, "quoted"\nline'


@pytest.mark.postgres
def test_on_postgresql_the_created_index_carries_what_the_inbox_orders_a_period_by(postgres_url: str) -> None:
    """Migration 0021: a short period's mentions are walked from the index alone; its downgrade gives the plain one."""
    from sqlalchemy import text

    def created_index() -> str:
        engine = make_engine(postgres_url)
        with engine.connect() as connection:
            definition = connection.execute(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_mentions_created'")).scalar_one()
        engine.dispose()
        return definition

    assert created_index().endswith("(created_at) INCLUDE (priority, sla_due_at, status, id)")
    downgrade(postgres_url, "0020")
    assert created_index().endswith("(created_at)")
    migrate(postgres_url)
    assert "INCLUDE (priority, sla_due_at, status, id)" in created_index()
