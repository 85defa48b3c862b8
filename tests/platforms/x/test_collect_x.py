"""X collection through the real tweepy.Client against the X simulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.collecting import CollectionRunner
from listener.db import make_engine
from listener.models import Author, Mention, QuarantinedPayload, Source
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from listener.simulators import Fault
from tests.platforms import settings_for

NOW = datetime.now(UTC)


@pytest.fixture
def x_sim() -> Iterator[XSimulator]:
    with XSimulator() as sim:
        yield sim


@pytest.fixture
def reddit_sim() -> Iterator[RedditSimulator]:
    with RedditSimulator() as sim:
        yield sim


def stored_ids(engine: Engine, platform: str = "x") -> list[str]:
    with Session(engine) as session:
        return sorted(session.execute(select(Mention.external_id).where(Mention.platform == platform)).scalars())


def source_row(engine: Engine, name: str) -> Source:
    with Session(engine) as session:
        return session.execute(select(Source).where(Source.name == name)).scalar_one()


def mention_ids(sim: XSimulator) -> list[str]:
    return sorted(t["id"] for t in sim.tweets if "@lumenmobile" in t["text"].lower())


def x_only(x_sim: XSimulator, reddit_sim: RedditSimulator, url: str, **x: object) -> CollectionRunner:
    settings = settings_for(
        x_sim,
        reddit_sim,
        url,
        x={"search_queries": [], "page_size": 10, "retry_backoff_seconds": 0.05, **x},
        reddit={"enabled": False},
    )
    runner = CollectionRunner(make_engine(url), settings)
    runner.sync_sources()
    return runner


def add_mentions(sim: XSimulator, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        sim.add_tweet(
            f"@lumenmobile question number {i}",
            f"user{i % 7}",
            f"User {i % 7}",
            followers=100 * i,
            created_at=NOW - timedelta(minutes=500 - i),
        )


def test_pages_through_mentions_and_resumes_from_the_cursor_after_a_restart(
    x_sim: XSimulator, reddit_sim: RedditSimulator, engine: Engine, db_url: str
) -> None:
    add_mentions(x_sim, 25)
    runner = x_only(x_sim, reddit_sim, db_url)
    first = runner.run("x:mentions")
    assert (first.status, first.pages, first.stored) == ("ok", 3, 25)
    assert stored_ids(engine) == mention_ids(x_sim)
    newest = max(mention_ids(x_sim), key=int)
    assert source_row(engine, "x:mentions").cursor["since_id"] == newest

    restarted = x_only(x_sim, reddit_sim, db_url)  # new clients, same database
    again = restarted.run("x:mentions")
    assert (again.status, again.stored) == ("ok", 0)
    x_sim.add_tweet("@lumenmobile one more thing", "latecomer")
    third = restarted.run("x:mentions")
    assert third.stored == 1
    last_request = [r for r in x_sim.requests if r.path.endswith("/mentions")][-1]
    assert last_request.query["since_id"] == newest
    assert stored_ids(engine) == mention_ids(x_sim)
    with Session(engine) as session:
        author = session.execute(select(Author).where(Author.handle == "user3")).scalar_one()
    profile = x_sim.user("user3")
    assert (author.display_name, author.followers) == ("User 3", profile["public_metrics"]["followers_count"])


def test_a_walk_cut_short_by_the_page_budget_resumes_and_only_then_commits(
    x_sim: XSimulator, reddit_sim: RedditSimulator, sqlite_engine: Engine, sqlite_url: str
) -> None:
    add_mentions(x_sim, 25)
    runner = x_only(x_sim, reddit_sim, sqlite_url, max_pages_per_run=2)
    assert runner.run("x:mentions").stored == 20
    cursor = source_row(sqlite_engine, "x:mentions").cursor
    assert cursor["since_id"] is None and cursor["pending"]["next_token"]
    assert runner.run("x:mentions").stored == 5
    cursor = source_row(sqlite_engine, "x:mentions").cursor
    assert "pending" not in cursor and cursor["since_id"] == max(mention_ids(x_sim), key=int)


def test_a_tweet_found_by_two_sources_is_stored_once(
    x_sim: XSimulator, reddit_sim: RedditSimulator, engine: Engine, db_url: str
) -> None:
    x_sim.add_tweet("@lumenmobile your lumen mobile app is down", "alice")
    x_sim.add_tweet("switching to lumen mobile next week", "bob")
    runner = x_only(x_sim, reddit_sim, db_url, search_queries=['"lumen mobile"'])
    summaries = {s.source: s for s in runner.run_all()}
    assert summaries["x:mentions"].stored == 1
    assert (summaries['x:search:"lumen mobile"'].stored, summaries['x:search:"lumen mobile"'].duplicates) == (1, 1)
    assert len(stored_ids(engine)) == 2


def test_rate_limit_pauses_that_source_until_the_reset_and_others_go_on(
    x_sim: XSimulator, reddit_sim: RedditSimulator, sqlite_engine: Engine, sqlite_url: str
) -> None:
    add_mentions(x_sim, 3)
    reddit_sim.add_comment("lumen mobile support fixed my eSIM in minutes", "happy_user", "LumenMobile")
    settings = settings_for(
        x_sim,
        reddit_sim,
        sqlite_url,
        x={"search_queries": []},
        reddit={"subreddits": ["LumenMobile"], "inbox_mentions": False},
    )
    runner = CollectionRunner(sqlite_engine, settings)
    runner.sync_sources()
    x_sim.add_fault(Fault(f"/2/users/{x_sim.brand_user['id']}/mentions", status=429, reset_after=120))
    before = time.time()
    summaries = {s.source: s for s in runner.run_all()}
    assert summaries["x:mentions"].status == "paused"
    assert summaries["reddit:comments:LumenMobile"].stored == 1
    paused_until = source_row(sqlite_engine, "x:mentions").paused_until
    assert paused_until is not None
    assert before + 115 <= paused_until.timestamp() <= time.time() + 125
    # Until the reset the source is skipped without asking X again.
    requests_before = len(x_sim.requests)
    again = {s.source: s for s in runner.run_all()}
    assert again["x:mentions"].status == "skipped"
    assert len(x_sim.requests) == requests_before + 0 or all(
        "/mentions" not in r.path for r in x_sim.requests[requests_before:]
    )
    # After the reset it collects what it missed.
    later = runner.run("x:mentions", now=paused_until + timedelta(seconds=1))
    assert (later.status, later.stored) == ("ok", 3)


def test_server_errors_and_timeouts_are_retried(
    x_sim: XSimulator, reddit_sim: RedditSimulator, sqlite_engine: Engine, sqlite_url: str
) -> None:
    add_mentions(x_sim, 12)
    runner = x_only(x_sim, reddit_sim, sqlite_url, request_timeout_seconds=0.5)
    path = f"/2/users/{x_sim.brand_user['id']}/mentions"
    x_sim.add_fault(Fault(path, status=503, times=2))
    x_sim.add_fault(Fault(path, delay=1.5, when_param="pagination_token"))
    summary = runner.run("x:mentions")
    assert (summary.status, summary.stored) == ("ok", 12)
    calls = [r for r in x_sim.requests if r.path == path]
    assert len(calls) == 2 + 1 + 1 + 1  # two 503s, page 1, a timed-out page 2, page 2 again


def test_a_source_that_keeps_failing_backs_off_and_loses_nothing(
    x_sim: XSimulator, reddit_sim: RedditSimulator, sqlite_engine: Engine, sqlite_url: str
) -> None:
    add_mentions(x_sim, 12)
    runner = x_only(x_sim, reddit_sim, sqlite_url, max_retries=1)
    path = f"/2/users/{x_sim.brand_user['id']}/mentions"
    x_sim.add_fault(Fault(path, status=500, times=2, when_param="pagination_token"))
    failed = runner.run("x:mentions")
    assert failed.status == "failed" and "500" in (failed.error or "")
    assert failed.stored == 10  # page 1 was stored with its cursor before page 2 failed
    row = source_row(sqlite_engine, "x:mentions")
    assert row.consecutive_failures == 1 and row.last_error and row.paused_until
    recovered = runner.run("x:mentions", now=row.paused_until + timedelta(seconds=1))
    assert (recovered.status, recovered.stored) == ("ok", 2)
    assert stored_ids(sqlite_engine) == mention_ids(x_sim)


def test_malformed_tweets_and_bodies_are_quarantined_and_the_run_goes_on(
    x_sim: XSimulator, reddit_sim: RedditSimulator, engine: Engine, db_url: str
) -> None:
    good = x_sim.add_tweet("@lumenmobile all good", "alice")
    path = f"/2/users/{x_sim.brand_user['id']}/mentions"
    page = {
        "data": [
            # No created_at (X leaves out fields not granted): still a mention, dated by its id.
            {"id": "999", "text": "@lumenmobile no created_at here", "edit_history_tweet_ids": ["999"]},
            # No text: this cannot be a mention.
            {"id": "998", "edit_history_tweet_ids": ["998"]},
            {**good, "author_id": x_sim.user("alice")["id"]},
        ],
        "includes": {"users": [x_sim.user("alice")]},
        "meta": {"result_count": 3, "newest_id": good["id"], "oldest_id": "998"},
    }
    x_sim.add_fault(Fault(path, malformed=True))
    x_sim.add_fault(Fault(path, body=page))
    runner = x_only(x_sim, reddit_sim, db_url)
    summary = runner.run("x:mentions")
    assert (summary.status, summary.stored, summary.quarantined) == ("ok", 2, 2)
    with Session(engine) as session:
        rows = session.execute(select(QuarantinedPayload).order_by(QuarantinedPayload.id)).scalars().all()
        assert session.scalar(select(func.count()).select_from(Mention)) == 2
    assert "not JSON" in rows[0].error and rows[0].raw.startswith('{"data": [{"id": "1", "tex')
    assert "no text" in rows[1].error and '"id": "998"' in rows[1].raw


def snowflake(moment: datetime, sequence: int) -> str:
    """A tweet id as X makes them: milliseconds since X's epoch above bit 22."""
    return str(((int(moment.timestamp() * 1000) - 1_288_834_974_657) << 22) + sequence)


def test_real_x_answers_without_optional_fields_are_stored_and_bad_payloads_quarantined_once(
    x_sim: XSimulator, reddit_sim: RedditSimulator, engine: Engine, db_url: str
) -> None:
    """X omits ``created_at`` and the author expansion when they are not granted: each tweet with an id
    and a text is stored (dated by its id, its author known by id), and a payload that cannot be a
    mention is quarantined once however often the same page is read again."""
    base = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    tweets = [
        {"id": snowflake(base + timedelta(minutes=i), i), "text": f"@lumenmobile recorded answer {i}",
         "edit_history_tweet_ids": [snowflake(base + timedelta(minutes=i), i)], "author_id": str(4000 + i)}
        for i in range(10)
    ]
    bad = [{"id": "not-a-number", "text": "x"}, {"id": snowflake(base, 99)}]
    page = {"data": [*tweets, *bad], "meta": {"result_count": 12, "newest_id": tweets[-1]["id"],
                                             "oldest_id": tweets[0]["id"]}}
    path = f"/2/users/{x_sim.brand_user['id']}/mentions"
    x_sim.add_fault(Fault(path, body=page, times=20))
    runner = x_only(x_sim, reddit_sim, db_url)
    for _ in range(20):
        runner.run("x:mentions")
    with Session(engine) as session:
        stored = session.execute(select(Mention).order_by(Mention.external_id)).scalars().all()
        quarantined = session.scalar(select(func.count()).select_from(QuarantinedPayload))
        authors = session.execute(select(Author.handle)).scalars().all()
    assert len(stored) == 10 and quarantined == 2
    by_id = {m.external_id: m for m in stored}
    for i, tweet in enumerate(tweets):
        mention = by_id[tweet["id"]]
        assert mention.created_at == base + timedelta(minutes=i)
        assert '"harken_missing": ["created_at", "author_profile"]' in mention.raw
    assert sorted(authors) == sorted(f"id:{4000 + i}" for i in range(10))