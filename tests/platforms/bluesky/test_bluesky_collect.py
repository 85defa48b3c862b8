"""Bluesky collection through the real atproto clients against the Bluesky simulator."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.collecting import CollectionRunner
from listener.db import make_engine, migrate
from listener.demo import demo_settings
from listener.models import Author, Mention, QuarantinedPayload, Source
from listener.platforms.bluesky.simulator import BlueskySimulator
from listener.platforms.mastodon.simulator import MastodonSimulator
from listener.settings import Settings
from listener.simulators import Fault
from tests.platforms.fediverse_helpers import env_for, harken

BRAND = "lumenmobile.bsky.social"


@pytest.fixture
def sim() -> Iterator[BlueskySimulator]:
    with BlueskySimulator() as simulator:
        yield simulator


def settings_for(sim: BlueskySimulator, url: str, mastodon: MastodonSimulator | None = None,
                 **bluesky: Any) -> Settings:
    platforms: dict[str, Any] = {"bluesky": sim}
    if mastodon is not None:
        platforms["mastodon"] = mastodon
    return demo_settings(platforms, url, sentiment={"enabled": False},
                         bluesky={"keywords": ["lumen mobile"], "hashtags": ["LumenDown"], **bluesky})


def runner_for(settings: Settings, url: str) -> CollectionRunner:
    runner = CollectionRunner(make_engine(url), settings)
    runner.sync_sources()
    return runner


def stored(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.execute(select(Mention.external_id).where(Mention.platform == "bluesky")).scalars())


def source_row(engine: Engine, name: str) -> Source:
    with Session(engine) as session:
        return session.execute(select(Source).where(Source.name == name)).scalar_one()


def add_mentions(sim: BlueskySimulator, count: int, start: int = 0) -> list[str]:
    uris = []
    for index in range(start, start + count):
        author = f"customer{index % 9}.bsky.social"
        sim.add_account(author, f"Customer {index % 9}", followers=10 * (index % 9), bio="I pay my bills")
        uris.append(sim.add_post(f"@{BRAND} question {index}", author)["uri"])
    return uris


def test_notifications_page_and_resume_from_the_stored_cursor(sim, engine, db_url):
    uris = add_mentions(sim, 120)  # three pages of 50
    runner = runner_for(settings_for(sim, db_url), db_url)

    first = runner.run("bluesky:notifications")

    assert (first.status, first.pages, first.stored) == ("ok", 3, 120)
    assert stored(engine) == sorted(uris)
    again = runner_for(settings_for(sim, db_url), db_url).run("bluesky:notifications")  # a restart
    assert again.stored == 0 and again.pages == 1
    late = add_mentions(sim, 2, start=500)
    assert runner.run("bluesky:notifications").stored == 2
    assert stored(engine) == sorted(uris + late)
    with Session(engine) as session:
        author = session.execute(select(Author).where(Author.handle == "customer3.bsky.social")).scalar_one()
        mention = session.execute(select(Mention).where(Mention.external_id == late[0])).scalar_one()
    assert (author.display_name, author.followers, author.bio) == ("Customer 3", 30, "I pay my bills")
    assert mention.url.startswith("https://bsky.app/profile/customer5.bsky.social/post/")


def test_a_walk_cut_short_resumes_from_its_page_cursor(sim, sqlite_engine, sqlite_url):
    uris = add_mentions(sim, 120)
    runner = runner_for(settings_for(sim, sqlite_url), sqlite_url)
    sim.add_fault(Fault("/xrpc/app.bsky.notification.listNotifications", status=503, times=4, when_param="cursor"))

    broken = runner.run("bluesky:notifications")

    assert broken.stored == 50  # page 1 stored; page 2 failed after the retries
    cursor = source_row(sqlite_engine, "bluesky:notifications").cursor
    assert cursor["since"] is None and cursor["pending"]["cursor"]
    backed_off_until = source_row(sqlite_engine, "bluesky:notifications").paused_until
    assert runner.run("bluesky:notifications", now=backed_off_until + timedelta(seconds=1)).stored == 70
    assert stored(sqlite_engine) == sorted(uris)
    assert "pending" not in source_row(sqlite_engine, "bluesky:notifications").cursor


def test_a_429_pauses_only_the_bluesky_source(sim, sqlite_engine, sqlite_url):
    add_mentions(sim, 3)
    with MastodonSimulator() as mastodon:
        mastodon.add_account("fan@social.example")
        mastodon.add_status("@lumenmobile@mastodon.example hello", "fan@social.example")
        runner = runner_for(settings_for(sim, sqlite_url, mastodon), sqlite_url)
        sim.add_fault(Fault("/xrpc/app.bsky.notification.listNotifications", status=429, reset_after=120))
        before = time.time()

        summaries = {s.source: s for s in runner.run_all()}

    assert summaries["bluesky:notifications"].status == "paused"
    assert summaries["mastodon:mentions"].stored == 1
    paused_until = source_row(sqlite_engine, "bluesky:notifications").paused_until
    assert paused_until is not None and before + 115 <= paused_until.timestamp() <= time.time() + 125


def test_a_notification_that_cannot_be_a_mention_is_quarantined_and_the_rest_stored(sim, sqlite_engine, sqlite_url):
    uris = add_mentions(sim, 3)
    sim._notifications[1].record = {"$type": "app.bsky.feed.post", "createdAt": "2024-05-01T00:00:00Z"}
    runner = runner_for(settings_for(sim, sqlite_url), sqlite_url)

    summary = runner.run("bluesky:notifications")

    assert summary.stored == 2 and stored(sqlite_engine) == sorted([uris[0], uris[2]])
    with Session(sqlite_engine) as session:
        rows = session.execute(select(QuarantinedPayload)).scalars().all()
    assert len(rows) == 1 and "no text" in rows[0].error and json.loads(rows[0].raw)["uri"] == uris[1]


def matching_and_noise(sim: BlueskySimulator, count: int) -> set[str]:
    expected = set()
    sim.add_account("chatter.bsky.social")
    for index in range(count):
        if index % 3 == 0:
            expected.add(sim.add_post(f"is Lumen Mobile down again? #{index}", "chatter.bsky.social")["uri"])
        elif index % 3 == 1:
            expected.add(sim.add_post(f"#LumenDown day {index}", "chatter.bsky.social")["uri"])
        else:
            sim.add_post(f"illumination mobile photography {index}", "chatter.bsky.social")
    return expected


def test_jetstream_matches_keywords_and_hashtags_and_resumes_after_a_dropped_socket(sim, sqlite_engine, sqlite_url):
    expected = matching_and_noise(sim, 30)
    sim.drop_stream_after(10)  # the socket dies mid-stream; the SDK reconnects from its cursor
    runner = runner_for(settings_for(sim, sqlite_url), sqlite_url)

    summary = runner.run("bluesky:jetstream")

    assert summary.status == "ok" and set(stored(sqlite_engine)) == expected
    assert source_row(sqlite_engine, "bluesky:jetstream").cursor["seq"] == sim.last_seq
    assert len(sim.stream_cursors) == 2 and sim.stream_cursors[1] is not None
    stored_before = sim.last_seq
    more = matching_and_noise(sim, 3)
    again = runner.run("bluesky:jetstream")
    assert again.stored == len(more) and set(stored(sqlite_engine)) == expected | more
    assert sim.stream_cursors[-1] == str(stored_before + 1)  # the next run resumes after the stored seq


def test_jetstream_kill_minus_9_mid_stream_then_restart_loses_nothing_and_stores_each_post_once(
    sim, db_url, tmp_path
):
    expected = matching_and_noise(sim, 1500)
    settings = settings_for(sim, db_url, interval_seconds=3600)
    migrate(db_url)
    env = env_for(settings, "bluesky")
    engine = make_engine(db_url)
    sim.event_interval_seconds = 0.002  # about 3 s for the whole stream: time to kill it in the middle

    def stored_seq() -> int:
        with Session(engine) as session:
            row = session.execute(select(Source).where(Source.name == "bluesky:jetstream")).scalar_one_or_none()
        return int((row.cursor or {}).get("seq") or 0) if row is not None else 0

    process = harken(env, tmp_path, "collect", "--once", "--no-process")
    try:
        deadline = time.monotonic() + 60
        while stored_seq() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    killed_at = stored_seq()
    assert 0 < killed_at < sim.last_seq, "the collector was not killed mid-stream"
    sim.event_interval_seconds = 0.0

    restart = harken(env, tmp_path, "collect", "--once", "--no-process")
    output = restart.communicate(timeout=120)[0].decode()
    assert restart.returncode == 0, output

    assert sim.stream_cursors[-1] == str(killed_at + 1)  # resumed from the stored cursor, not from the start
    with Session(engine) as session:
        uris = list(session.execute(select(Mention.external_id).where(Mention.platform == "bluesky")).scalars())
        total = session.scalar(select(func.count()).select_from(Mention))
    assert set(uris) == expected and total == len(expected)
    assert stored_seq() == sim.last_seq


def test_a_jetstream_post_without_text_is_quarantined_and_the_stream_goes_on(sim, sqlite_engine, sqlite_url):
    expected = matching_and_noise(sim, 3)
    sim.add_raw_event({"did": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "rev": "3kaaaaaaaaaaa", "operation": "create",
                       "collection": "app.bsky.feed.post", "rkey": "3kaaaaaaaaaaa",
                       "record": {"$type": "app.bsky.feed.post", "createdAt": "2024-05-01T00:00:00Z"}})
    expected |= matching_and_noise(sim, 3)
    runner = runner_for(settings_for(sim, sqlite_url), sqlite_url)

    summary = runner.run("bluesky:jetstream")

    assert (summary.status, summary.quarantined) == ("ok", 1) and set(stored(sqlite_engine)) == expected
    with Session(sqlite_engine) as session:
        [row] = session.execute(select(QuarantinedPayload)).scalars().all()
    assert "no text" in row.error and json.loads(row.raw)["rkey"] == "3kaaaaaaaaaaa"
