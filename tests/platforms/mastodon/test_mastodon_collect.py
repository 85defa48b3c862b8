"""Mastodon collection through the real Mastodon.py client against the Mastodon simulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.collecting import CollectionRunner
from listener.db import make_engine
from listener.demo import demo_settings
from listener.models import Author, Mention, QuarantinedPayload, Source
from listener.platforms.mastodon.simulator import MastodonSimulator
from listener.settings import Settings
from listener.simulators import Fault


@pytest.fixture
def sim() -> Iterator[MastodonSimulator]:
    with MastodonSimulator() as simulator:
        yield simulator


def runner_for(sim: MastodonSimulator, url: str, **mastodon: Any) -> CollectionRunner:
    settings: Settings = demo_settings({"mastodon": sim}, url, sentiment={"enabled": False},
                                       mastodon={"hashtags": ["LumenDown"], **mastodon})
    runner = CollectionRunner(make_engine(url), settings)
    runner.sync_sources()
    return runner


def stored(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.execute(select(Mention.external_id).where(Mention.platform == "mastodon")).scalars())


def source_row(engine: Engine, name: str) -> Source:
    with Session(engine) as session:
        return session.execute(select(Source).where(Source.name == name)).scalar_one()


def add_mentions(sim: MastodonSimulator, count: int, start: int = 0) -> list[str]:
    ids = []
    for index in range(start, start + count):
        author = f"fan{index % 5}@social.example"
        sim.add_account(author, f"Fan {index % 5}", followers=index % 5, bio="Trains & tea")
        ids.append(sim.add_status(f"@lumenmobile@mastodon.example question {index}\nthanks", author)["id"])
    return ids


def test_mentions_page_forward_and_resume_from_the_stored_cursor(sim, engine, db_url):
    ids = add_mentions(sim, 90)  # three pages of 40
    runner = runner_for(sim, db_url)

    first = runner.run("mastodon:mentions")

    assert (first.status, first.pages, first.stored) == ("ok", 3, 90)
    assert stored(engine) == sorted(ids)
    again = runner_for(sim, db_url).run("mastodon:mentions")  # a restart: new client, same database
    assert (again.stored, again.pages) == (0, 1)
    late = add_mentions(sim, 1, start=100)
    cursor = source_row(engine, "mastodon:mentions").cursor["min_id"]
    sim.clear_requests()
    assert runner.run("mastodon:mentions").stored == 1
    asked = [r for r in sim.requests if r.path == "/api/v1/notifications"]
    assert asked[0].query["min_id"] == cursor  # from the stored cursor, not from the start
    with Session(engine) as session:
        mention = session.execute(select(Mention).where(Mention.external_id == late[0])).scalar_one()
        author = session.get(Author, mention.author_id)
    assert mention.text == "@lumenmobile question 100\nthanks"
    assert mention.url == f"https://social.example/@fan0/{late[0]}"
    assert (author.handle, author.display_name, author.bio) == ("fan0@social.example", "Fan 0", "Trains & tea")


def test_hashtag_timeline_is_collected_and_private_statuses_are_not(sim, sqlite_engine, sqlite_url):
    sim.add_account("bob@other.example")
    public = [sim.add_status(f"#LumenDown again {index}", "bob@other.example")["id"] for index in range(45)]
    sim.add_status("#LumenDown followers only", "bob@other.example", visibility="private")
    runner = runner_for(sim, sqlite_url)

    summary = runner.run("mastodon:hashtag:LumenDown")

    assert (summary.stored, summary.pages) == (45, 2)
    assert stored(sqlite_engine) == sorted(public)


def test_a_429_pauses_only_its_source_until_the_announced_reset(sim, sqlite_engine, sqlite_url):
    add_mentions(sim, 2)
    sim.add_account("bob@other.example")
    sim.add_status("#LumenDown", "bob@other.example")
    runner = runner_for(sim, sqlite_url)
    sim.add_fault(Fault("/api/v1/notifications", status=429, reset_after=120))
    before = time.time()

    summaries = {s.source: s for s in runner.run_all()}

    assert summaries["mastodon:mentions"].status == "paused"
    assert summaries["mastodon:hashtag:LumenDown"].stored == 1
    paused_until = source_row(sqlite_engine, "mastodon:mentions").paused_until
    assert paused_until is not None and before + 110 <= paused_until.timestamp() <= time.time() + 125
    later = runner.run("mastodon:mentions", now=paused_until + timedelta(seconds=1))
    assert (later.status, later.stored) == ("ok", 2)


def test_a_status_that_cannot_be_a_mention_is_quarantined_and_a_malformed_body_retried(sim, sqlite_engine,
                                                                                     sqlite_url):
    ids = add_mentions(sim, 3)
    sim.leave_out_fields(ids[1], "content")
    runner = runner_for(sim, sqlite_url)
    sim.add_fault(Fault("/api/v1/notifications", malformed=True))  # the first answer is cut off

    summary = runner.run("mastodon:mentions")

    assert summary.status == "ok" and stored(sqlite_engine) == sorted([ids[0], ids[2]])
    with Session(sqlite_engine) as session:
        rows = session.execute(select(QuarantinedPayload).order_by(QuarantinedPayload.id)).scalars().all()
    errors = [row.error for row in rows]
    assert len(rows) == 2 and "not JSON" in errors[0] and "has no content" in errors[1]
    assert json.loads(rows[1].raw)["status"]["id"] == ids[1]
