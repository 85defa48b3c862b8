"""Reddit collection through the real praw client against the Reddit simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
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


def reddit_runner(platforms: tuple[XSimulator, RedditSimulator], url: str, **reddit: object) -> CollectionRunner:
    x, sim = platforms
    settings = settings_for(
        x, sim, url, x={"enabled": False},
        reddit={"subreddits": ["LumenMobile"], "keywords": ["lumen mobile"], "page_size": 5, **reddit},
    )
    runner = CollectionRunner(make_engine(url), settings)
    runner.sync_sources()
    return runner


def stored(engine: Engine) -> dict[str, Mention]:
    with Session(engine) as session:
        return {m.external_id: m for m in session.execute(select(Mention)).scalars()}


def test_inbox_mentions_search_posts_and_keyword_comments(
    platforms: tuple[XSimulator, RedditSimulator], engine: Engine, db_url: str
) -> None:
    _, sim = platforms
    mention = sim.add_comment("hey u/lumenmobile_support my eSIM won't activate", "ana", "cellphones",
                              created_at=NOW - timedelta(minutes=30))
    post = sim.add_post("Lumen Mobile outage in Denver?", "No signal since 9am.", "dan", "LumenMobile",
                        created_at=NOW - timedelta(minutes=20))
    hit = sim.add_comment("Lumen Mobile roaming worked fine in Spain", "eve", "LumenMobile",
                          created_at=NOW - timedelta(minutes=10))
    miss = sim.add_comment("what phone should I buy?", "fay", "LumenMobile", created_at=NOW - timedelta(minutes=5))
    runner = reddit_runner(platforms, db_url)
    summaries = {s.source: s for s in runner.run_all()}
    assert {name: s.status for name, s in summaries.items()} == {
        "reddit:inbox": "ok", "reddit:posts:LumenMobile": "ok", "reddit:comments:LumenMobile": "ok"}
    rows = stored(engine)
    assert mention["name"] in rows and rows[mention["name"]].kind == "comment"
    assert rows[post["name"]].kind == "post" and rows[post["name"]].title == "Lumen Mobile outage in Denver?"
    assert rows[post["name"]].text == "Lumen Mobile outage in Denver?\n\nNo signal since 9am."
    assert hit["name"] in rows and miss["name"] not in rows
    assert rows[hit["name"]].url == "https://www.reddit.com" + hit["permalink"]
    assert rows[hit["name"]].conversation_external_id == hit["link_id"]
    with Session(engine) as session:
        author = session.execute(select(Author).where(Author.handle == "eve")).scalar_one()
    assert author.platform_user_id == hit["author_fullname"]


def test_pages_resume_and_the_overlap_window_stores_nothing_twice(
    platforms: tuple[XSimulator, RedditSimulator], sqlite_engine: Engine, sqlite_url: str
) -> None:
    _, sim = platforms
    for i in range(12):
        sim.add_comment(f"lumen mobile thought {i}", f"user{i % 3}", "LumenMobile",
                        created_at=NOW - timedelta(minutes=60 - i))
    runner = reddit_runner(platforms, sqlite_url, inbox_mentions=False, max_pages_per_run=2)
    first = runner.run("reddit:comments:LumenMobile")
    assert first.stored == 10  # two pages of five; the walk is not finished
    with Session(sqlite_engine) as session:
        cursor = session.execute(select(Source.cursor).where(Source.name == "reddit:comments:LumenMobile")).scalar_one()
    assert cursor["pending"]["after"]
    second = runner.run("reddit:comments:LumenMobile")
    assert second.stored == 2
    sim.add_comment("lumen mobile again", "late", "LumenMobile")
    third = runner.run("reddit:comments:LumenMobile")
    # The overlap re-reads recent items; only the new one is stored.
    assert third.stored == 1 and third.duplicates >= 1
    assert len([m for m in stored(sqlite_engine).values() if m.kind == "comment"]) == 13


def test_rate_limit_pauses_reddit_until_its_reset(
    platforms: tuple[XSimulator, RedditSimulator], sqlite_engine: Engine, sqlite_url: str
) -> None:
    _, sim = platforms
    sim.add_comment("lumen mobile is fine", "gus", "LumenMobile")
    runner = reddit_runner(platforms, sqlite_url, inbox_mentions=False)
    sim.add_fault(Fault("/r/LumenMobile/comments", status=429, reset_after=3))
    summary = runner.run("reddit:comments:LumenMobile")
    assert summary.status == "paused"
    with Session(sqlite_engine) as session:
        row = session.execute(select(Source).where(Source.name == "reddit:comments:LumenMobile")).scalar_one()
    assert row.paused_until is not None
    # prawcore itself also waits for the reset before its next request: keep it short here.
    assert 1 <= (row.paused_until - datetime.now(UTC)).total_seconds() <= 5
    assert runner.run("reddit:comments:LumenMobile", now=row.paused_until + timedelta(seconds=1)).stored == 1


def test_a_malformed_item_is_quarantined_and_a_server_error_is_retried(
    platforms: tuple[XSimulator, RedditSimulator], engine: Engine, db_url: str
) -> None:
    _, sim = platforms
    good = sim.add_comment("lumen mobile works", "hal", "LumenMobile")
    broken = {k: v for k, v in good.items() if k != "created_utc"}
    listing = {"kind": "Listing", "data": {"after": None, "before": None, "dist": 2, "children": [
        {"kind": "t1", "data": broken}, {"kind": "t1", "data": good}]}}
    sim.add_fault(Fault("/r/LumenMobile/comments", status=502))  # prawcore retries this itself
    sim.add_fault(Fault("/r/LumenMobile/comments", body=listing))
    runner = reddit_runner(platforms, db_url, inbox_mentions=False)
    summary = runner.run("reddit:comments:LumenMobile")
    assert (summary.status, summary.stored, summary.quarantined) == ("ok", 1, 1)
    with Session(engine) as session:
        row = session.execute(select(QuarantinedPayload)).scalar_one()
    assert "created_utc" in row.error and good["name"] in row.raw


def test_a_body_that_is_not_json_is_quarantined_and_the_source_tries_again_later(
    platforms: tuple[XSimulator, RedditSimulator], sqlite_engine: Engine, sqlite_url: str
) -> None:
    _, sim = platforms
    sim.add_comment("lumen mobile works", "ida", "LumenMobile")
    runner = reddit_runner(platforms, sqlite_url, inbox_mentions=False)
    sim.add_fault(Fault("/r/LumenMobile/comments", malformed=True))
    summary = runner.run("reddit:comments:LumenMobile")
    assert summary.status == "failed" and summary.quarantined == 1
    with Session(sqlite_engine) as session:
        row = session.execute(select(Source).where(Source.name == "reddit:comments:LumenMobile")).scalar_one()
    assert "malformed" in (row.last_error or "")
    retry = runner.run("reddit:comments:LumenMobile", now=row.paused_until + timedelta(seconds=1))
    assert (retry.status, retry.stored) == ("ok", 1)
