"""Mastodon streaming through the real Mastodon.py client: low latency on polling's cursors, polling as fallback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.collecting import CollectionRunner, RunSummary
from listener.db import make_engine
from listener.demo import demo_settings
from listener.models import Mention, Source
from listener.platforms.mastodon.collectors import MastodonCollector, MastodonMentionsCollector
from listener.platforms.mastodon.simulator import MastodonSimulator
from listener.simulators import Fault

BRAND = "@lumenmobile@mastodon.example"
STREAM_WINDOW_SECONDS = 8.0
WAIT_SECONDS = 5.0
"""How long a test waits for something that should take a second or two (not a speed check)."""


@pytest.fixture
def sim() -> Iterator[MastodonSimulator]:
    with MastodonSimulator() as simulator:
        simulator.add_account("fan@social.example", "Fan")
        yield simulator


@pytest.fixture(autouse=True)
def short_stream_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # A scheduled run streams until shortly before the next is due; with a 60 s interval, 8 s here.
    monkeypatch.setattr(MastodonCollector, "stream_gap_seconds", 60 - STREAM_WINDOW_SECONDS)


def runner_for(sim: MastodonSimulator, url: str, live: bool = True) -> CollectionRunner:
    settings = demo_settings({"mastodon": sim}, url, sentiment={"enabled": False},
                             mastodon={"hashtags": ["LumenDown"], "streaming": True, "interval_seconds": 60})
    runner = CollectionRunner(make_engine(url), settings)
    runner.sync_sources()
    runner.live = (lambda: True) if live else (lambda: False)  # as the scheduler sets it, and the default
    return runner


def in_background(runner: CollectionRunner, name: str) -> tuple[threading.Thread, list[RunSummary]]:
    results: list[RunSummary] = []
    thread = threading.Thread(target=lambda: results.append(runner.run(name)), daemon=True)
    thread.start()
    return thread, results


def wait_for(condition: Callable[[], Any], what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds}s for {what}")
        time.sleep(0.02)


def stored(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.execute(select(Mention.external_id).where(Mention.platform == "mastodon")).scalars())


def cursor_of(engine: Engine, name: str) -> dict[str, Any]:
    with Session(engine) as session:
        return dict(session.execute(select(Source.cursor).where(Source.name == name)).scalar_one())


def polls(sim: MastodonSimulator, path: str) -> int:
    return sum(request.path.rstrip("/") == path for request in sim.requests)


def user_streams_asked(sim: MastodonSimulator) -> int:
    return polls(sim, "/api/v1/streaming/user")


def test_a_mention_posted_while_streaming_is_stored_at_once_and_polling_later_keeps_it_once(
        sim: MastodonSimulator, sqlite_engine: Engine, sqlite_url: str) -> None:
    earlier = sim.add_status(f"{BRAND} posted before the run", "fan@social.example")["id"]
    runner = runner_for(sim, sqlite_url)
    thread, results = in_background(runner, "mastodon:mentions")
    wait_for(lambda: sim.open_streams() == 1 and stored(sqlite_engine) == [earlier], "the stream and the catch-up")
    cursor = cursor_of(sqlite_engine, "mastodon:mentions")
    notification_polls = polls(sim, "/api/v1/notifications")

    posted = sim.add_status(f"{BRAND} my bill is wrong", "fan@social.example")["id"]
    wait_for(lambda: posted in stored(sqlite_engine), "the streamed mention")

    assert thread.is_alive()  # still streaming: no run ended and no poll fetched it
    assert polls(sim, "/api/v1/notifications") == notification_polls
    assert cursor_of(sqlite_engine, "mastodon:mentions") == cursor  # only polling moves the cursor
    thread.join(STREAM_WINDOW_SECONDS + WAIT_SECONDS)
    assert not thread.is_alive() and results[0].status == "ok" and results[0].stored == 2
    wait_for(lambda: sim.open_streams() == 0, "the stream closed at the end of the run")

    runner.live = lambda: False  # e.g. `harken collect --once`: polls only, and finds the streamed status stored
    again = runner.run("mastodon:mentions")
    assert (again.stored, again.duplicates) == (0, 1)
    assert stored(sqlite_engine) == sorted([earlier, posted])
    assert int(cursor_of(sqlite_engine, "mastodon:mentions")["min_id"]) > int(cursor["min_id"])
    assert not [r for r in sim.requests if r.path.startswith("/api/v1/streaming")][1:]  # one stream, ever


def test_a_dropped_hashtag_stream_falls_back_to_polling_and_loses_nothing(
        sim: MastodonSimulator, sqlite_engine: Engine, sqlite_url: str) -> None:
    runner = runner_for(sim, sqlite_url)
    thread, results = in_background(runner, "mastodon:hashtag:LumenDown")
    wait_for(lambda: sim.open_streams() == 1 and polls(sim, "/api/v1/timelines/tag/LumenDown") == 1,
             "the stream and the catch-up")
    streamed = sim.add_status("Outage again #LumenDown", "fan@social.example")["id"]
    wait_for(lambda: streamed in stored(sqlite_engine), "the streamed status")

    # The streaming server goes away and refuses new streams; a status published meanwhile reaches no stream.
    sim.add_fault(Fault("/api/v1/streaming", status=503, times=50))
    sim.drop_streams()
    missed = sim.add_status("Still down #LumenDown", "fan@social.example")["id"]
    sim.add_status("Unrelated #Weather", "fan@social.example")

    thread.join(STREAM_WINDOW_SECONDS + WAIT_SECONDS)
    assert not thread.is_alive() and results[0].status == "ok"
    assert stored(sqlite_engine) == sorted([streamed, missed])  # each once
    assert polls(sim, "/api/v1/timelines/tag/LumenDown") == 2  # the fallback poll found what was missed
    assert cursor_of(sqlite_engine, "mastodon:hashtag:LumenDown")["min_id"] == missed


def test_a_stream_that_drops_reconnects_and_polls_what_it_missed(
        sim: MastodonSimulator, sqlite_engine: Engine, sqlite_url: str) -> None:
    runner = runner_for(sim, sqlite_url)
    thread, results = in_background(runner, "mastodon:mentions")
    wait_for(lambda: sim.open_streams() == 1, "the stream")
    first = sim.add_status(f"{BRAND} one", "fan@social.example")["id"]
    sim.drop_streams(after_events=1)  # cut right after delivering the next event
    second = sim.add_status(f"{BRAND} two", "fan@social.example")["id"]
    gap = sim.add_status(f"{BRAND} three, while the stream is down", "fan@social.example")["id"]
    wait_for(lambda: gap in stored(sqlite_engine), "the catch-up poll after reconnecting")
    # The second stream, not the first one still closing: the first is gone before its client can ask again.
    wait_for(lambda: user_streams_asked(sim) == 2 and sim.open_streams() == 1, "the reconnected stream")
    after = sim.add_status(f"{BRAND} four, streamed again", "fan@social.example")["id"]
    wait_for(lambda: after in stored(sqlite_engine), "the status on the reconnected stream")

    thread.join(STREAM_WINDOW_SECONDS + WAIT_SECONDS)
    assert not thread.is_alive() and results[0].status == "ok" and results[0].stored == 4
    assert stored(sqlite_engine) == sorted([first, second, gap, after])
    assert user_streams_asked(sim) == 2


def test_a_stream_that_drops_before_the_collector_looks_still_counts_as_opened_and_is_reopened(
        sim: MastodonSimulator, sqlite_engine: Engine, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # On a loaded machine the collector's thread may run again only once the stream has answered, delivered
    # and dropped; here it waits for that to have happened, so the run sees it the way it did under load.
    start_stream = MastodonMentionsCollector._start_stream
    started: list[Any] = []

    def start_and_wait_for_the_first_to_end(collector: MastodonMentionsCollector, client: Any,
                                            listener: Any) -> Any:
        handle = start_stream(collector, client, listener)
        started.append(handle)
        if len(started) == 1:
            handle.join(WAIT_SECONDS)
        return handle

    monkeypatch.setattr(MastodonMentionsCollector, "_start_stream", start_and_wait_for_the_first_to_end)
    runner = runner_for(sim, sqlite_url)
    thread, results = in_background(runner, "mastodon:mentions")
    wait_for(lambda: sim.open_streams() == 1, "the stream")
    first = sim.add_status(f"{BRAND} one", "fan@social.example")["id"]
    sim.drop_streams(after_events=1)
    # Reopened and polled again (once when the first stream opened, once after the reopen), as after any drop.
    wait_for(lambda: user_streams_asked(sim) == 2 and sim.open_streams() == 1
             and polls(sim, "/api/v1/notifications") == 2, "the reopened stream and its catch-up poll")
    assert not started[0].is_alive()  # the first stream had ended before the run looked at it
    after = sim.add_status(f"{BRAND} two, streamed on the reopened stream", "fan@social.example")["id"]
    wait_for(lambda: after in stored(sqlite_engine), "the status on the reopened stream")
    assert thread.is_alive() and polls(sim, "/api/v1/notifications") == 2  # streamed, not polled

    thread.join(STREAM_WINDOW_SECONDS + WAIT_SECONDS)
    assert not thread.is_alive() and results[0].status == "ok" and results[0].stored == 2
    assert stored(sqlite_engine) == sorted([first, after])


def test_a_one_off_run_polls_without_opening_a_stream(sim: MastodonSimulator, sqlite_engine: Engine,
                                                       sqlite_url: str) -> None:
    posted = sim.add_status(f"{BRAND} hello", "fan@social.example")["id"]
    summary = runner_for(sim, sqlite_url, live=False).run("mastodon:mentions")
    assert (summary.status, summary.stored) == ("ok", 1) and stored(sqlite_engine) == [posted]
    assert not [r for r in sim.requests if r.path.startswith("/api/v1/streaming")]


def test_a_streaming_run_ends_promptly_when_the_scheduler_shuts_down(
        sim: MastodonSimulator, sqlite_engine: Engine, sqlite_url: str) -> None:
    runner = runner_for(sim, sqlite_url)
    scheduler_running = threading.Event()
    scheduler_running.set()
    runner.live = scheduler_running.is_set
    thread, results = in_background(runner, "mastodon:mentions")
    wait_for(lambda: sim.open_streams() == 1, "the stream")

    scheduler_running.clear()  # what shutdown() does first: the scheduler's state becomes stopped

    thread.join(WAIT_SECONDS)
    assert not thread.is_alive() and results[0].status == "ok"  # well before its 8 s window ended
    wait_for(lambda: sim.open_streams() == 0, "the stream closed")
