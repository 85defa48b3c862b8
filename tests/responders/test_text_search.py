"""Free-text search through the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL, migration 0012).

The index must change how fast a search is, never what it finds: on a few hundred
mentions with awkward text (case beyond ASCII, LIKE's and FTS5's own syntax,
quotes, short words, words across a title, handles) every search gives the
mentions the former query gives (a LIKE over text, title and handle), in the
queue's order, whichever way the search goes (the index's matches sorted, or the
walk in the queue's order for a common word). The triggers keep the index in step
when a mention or an author is added, changed or deleted.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, Table, func, insert, or_, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import downgrade, make_engine, migrate
from listener.models import Author, Mention
from responders import inbox
from responders.triage import NEEDS_ANSWER, STATUSES

T0 = datetime(2026, 10, 1, tzinfo=UTC)
NOT_DUE_YET = datetime.now(UTC) + timedelta(days=30)
PIECES = (
    "Refund", "REFUND please", "réfund", "École", "ÉCOLE", "straße", "STRASSE", "İstanbul", "naïve café",
    "100% sure", "50_50", "back\\slash", 'say "hi"', "it's", "AND", "OR", "NOT", "NEAR(a b)", "col:umn",
    "star*", "^caret", "-minus", "(paren)", "日本語のテキスト", "emoji 🎉 party", "tab\there", "line\nbreak",
    "  spaces  ", "ab", "x", "refunded", "where is my order", "zebra-free text",
)
QUERIES = (
    "refund", "REFUND", "réfund", "école", "École", "strasse", "straße", "istanbul", "i̇stanbul", "café",
    "100%", "%", "_", "50_50", "5_5", "back\\slash", "\\", '"hi"', '"', "it's", "'", "and", "or", "not",
    "near(a b)", "near", "col:umn", ":", "star*", "*", "^caret", "-minus", "(paren)", "日本語", "本語", "🎉",
    "tab\th", "line\nbreak", "  spaces", "ab", "x", "zz", "refunded", "my order", "zebra", "nothing here at all",
    "handle", "fan_7", "FAN", "ta", "eco",
)


def _fill(engine: Engine, n: int = 300) -> None:
    rng = random.Random(17)
    with Session(engine) as session:
        authors = [Author(platform="x", platform_user_id=str(i), handle=handle)
                   for i, handle in enumerate(["fan_7", "Fan7", "handle_école", "REFUND_bot", "", "x"])]
        session.add_all(authors)
        session.flush()
        for i in range(n):
            words = " ".join(rng.sample(PIECES, rng.randint(1, 3)))
            session.add(Mention(
                platform="x", external_id=str(i), kind=rng.choice(("tweet", "post")),
                author_id=rng.choice([*(a.id for a in authors), None]), text=words,
                title=rng.choice((None, "", "Refund thread", "ÉCOLE news", rng.choice(PIECES))),
                url=f"https://x.test/{i}", created_at=T0 + timedelta(hours=rng.randrange(48)), raw="{}",
                status=rng.choice(STATUSES), priority=rng.choice((None, 20.0, 50.0, 80.0)),
                sla_due_at=rng.choice((None, T0 + timedelta(hours=1), NOT_DUE_YET)),
            ))
        session.commit()


def _like_search(engine: Engine, words: str, statuses: tuple[str, ...]) -> list[int]:
    """The former search: LIKE over text, title and handle, in the queue's order (as bench.pages.legacy_search)."""
    needle = inbox._contains(words.strip().lower())
    with Session(engine) as session:
        statement = (
            select(Mention.id).outerjoin(Author, Author.id == Mention.author_id)
            .where(Mention.status.in_(statuses))  # type: ignore[attr-defined]
            .where(or_(func.lower(Mention.text).like(needle, escape="\\"),
                       func.lower(func.coalesce(Mention.title, "")).like(needle, escape="\\"),
                       func.lower(func.coalesce(Author.handle, "")).like(needle, escape="\\")))
            .order_by(*inbox.inbox_order(Mention))
        )
        return list(session.execute(statement).scalars())


def _search(engine: Engine, wanted: inbox.InboxFilter) -> list[int]:
    found: list[int] = []
    with Session(engine) as session:
        while True:
            page = inbox.search(session, wanted, limit=40, offset=len(found))
            found += [item.mention_id for item in page.items]
            if not page.has_more:
                return found


@pytest.mark.parametrize(("many_matches", "few_due"), [(5000, 2000), (3, 2000), (3, 0)],
                         ids=["index-matches-sorted", "walk-for-common-words", "walk-every-level-and-kind"])
def test_search_finds_what_the_like_search_found(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                 many_matches: int, few_due: int) -> None:
    # few_due 0: overdue and not-yet mentions are each walked level by level, the walks stopping once the page is full.
    monkeypatch.setattr(inbox, "MANY_MATCHES", many_matches)
    monkeypatch.setattr(inbox, "FEW_DUE", few_due)
    _fill(engine)
    matched_somewhere = 0
    for words in QUERIES:
        for statuses in (NEEDS_ANSWER, STATUSES):
            expected = _like_search(engine, words, statuses)
            matched_somewhere += bool(expected)
            assert _search(engine, inbox.InboxFilter(text=words, statuses=statuses)) == expected, (words, statuses)
    assert matched_somewhere > len(QUERIES)  # the queries do find things: the comparison is not of empty lists


@pytest.mark.parametrize(("wide_range", "few_due"), [(5000, 2000), (1, 2000), (1, 0)],
                         ids=["range-by-date", "range-walks-the-order", "range-walks-every-level-and-kind"])
def test_every_status_over_a_range_is_in_the_queue_order(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                         wide_range: int, few_due: int) -> None:
    monkeypatch.setattr(inbox, "WIDE_RANGE", wide_range)
    monkeypatch.setattr(inbox, "FEW_DUE", few_due)
    _fill(engine)
    since, until = T0 + timedelta(hours=5), T0 + timedelta(hours=30)
    with Session(engine) as session:
        expected = list(session.execute(
            select(Mention.id).where(Mention.created_at >= since, Mention.created_at < until)
            .order_by(*inbox.inbox_order(Mention))).scalars())
    assert expected
    assert _search(engine, inbox.InboxFilter(statuses=STATUSES, since=since, until=until)) == expected
    assert _search(engine, inbox.InboxFilter(statuses=("resolved", "ignored"))) == _like_search(
        engine, "", ("resolved", "ignored"))


def _found(engine: Engine, words: str) -> list[int]:
    return _search(engine, inbox.InboxFilter(text=words, statuses=STATUSES))


def _fts_in_step(engine: Engine) -> None:
    """On SQLite, FTS5's own check that the external-content index holds exactly the table's rows."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO mentions_fts(mentions_fts, rank) VALUES ('integrity-check', 1)"))
            connection.execute(text("INSERT INTO authors_fts(authors_fts, rank) VALUES ('integrity-check', 1)"))


def test_the_index_follows_insert_update_and_delete(engine: Engine) -> None:
    _fill(engine, 30)
    with Session(engine) as session:
        author = Author(platform="x", platform_user_id="kq", handle="kumquat_fan")
        session.add(author)
        session.flush()
        mention = Mention(platform="x", external_id="kq1", kind="post", author_id=author.id,
                          text="Where is my kumquat?", title="Fruit order", url="https://x.test/kq1",
                          created_at=T0, raw="{}", status="new")
        session.add(mention)
        session.commit()
        mention_id, author_id = mention.id, author.id
    _fts_in_step(engine)
    assert _found(engine, "kumquat?") == [mention_id]
    assert _found(engine, "fruit ord") == [mention_id]
    assert _found(engine, "persimmon") == []

    with Session(engine) as session:
        stored = session.get(Mention, mention_id)
        assert stored is not None
        stored.text, stored.title = "Where is my persimmon?", None
        stored.status = "needs_reply"
        session.commit()
    _fts_in_step(engine)
    assert _found(engine, "persimmon") == [mention_id]
    assert _found(engine, "fruit") == []
    assert _found(engine, "kumquat?") == []
    assert _found(engine, "kumquat_fan") == [mention_id]  # the author's handle still matches

    with Session(engine) as session:
        stored_author = session.get(Author, author_id)
        assert stored_author is not None
        stored_author.handle = "pear_fan"
        session.commit()
    _fts_in_step(engine)
    assert _found(engine, "kumquat_fan") == []
    assert _found(engine, "pear_fan") == [mention_id]

    with Session(engine) as session:
        session.delete(session.get(Mention, mention_id))
        session.commit()
    _fts_in_step(engine)
    assert _found(engine, "persimmon") == []


def test_the_migration_indexes_the_mentions_already_stored(sqlite_url: str) -> None:
    downgrade(sqlite_url, "0011")
    engine = make_engine(sqlite_url)
    # The table as it is at 0011 (reflected: today's model has columns added by later migrations).
    mentions = Table("mentions", MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(insert(mentions).values(
            platform="x", external_id="old", kind="post", text="An older complaint about tofu",
            url="https://x.test/old", created_at=T0, collected_at=T0, raw="{}", processing_state="new",
            status="new",
        ))
    engine.dispose()
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    _fts_in_step(engine)
    assert len(_found(engine, "about tofu")) == 1
    engine.dispose()


@pytest.mark.postgres
def test_without_the_right_to_install_pg_trgm_the_migration_warns_and_search_still_works() -> None:
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_SERVER

    name, role = f"harken_plain_{uuid.uuid4().hex[:8]}", f"harken_plain_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{POSTGRES_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))  # owned by the server's admin, not by the role
    owner = create_engine(f"{POSTGRES_SERVER}/{name}", isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.execute(text(f'GRANT CREATE, USAGE ON SCHEMA public TO "{role}"'))
    owner.dispose()
    url = make_url(f"{POSTGRES_SERVER}/{name}").set(username=role).render_as_string(hide_password=False)
    try:
        with pytest.warns(UserWarning, match="pg_trgm could not be installed"):
            migrate(url)
        engine = make_engine(url)
        with Session(engine) as session:
            session.add(Mention(platform="x", external_id="p1", kind="post", text="Still findable by a scan",
                                url="https://x.test/p1", created_at=T0, raw="{}", status="new"))
            session.commit()
        assert len(_found(engine, "findable")) == 1
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
