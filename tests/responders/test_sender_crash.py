"""kill -9 of the sender after the platform has the reply but before Harken records it, then a restart.

The simulator applies ``POST /2/tweets`` (or ``POST /api/comment``) and then holds its
answer (``Fault(delay_after=...)``); the test waits until the reply is on the platform,
SIGKILLs ``harken queue send``, restarts it, and checks that the platform holds exactly
one reply to the mention and that Harken recorded that one as sent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from listener.models import Reply
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from listener.settings import Settings
from listener.simulators import Fault
from tests.platforms import env_for
from tests.responders.helpers import actions, add_mention, add_staff, get
from tests.responders.sender_helpers import reply_in_state, sender_settings


@pytest.fixture
def sims() -> Iterator[tuple[XSimulator, RedditSimulator]]:
    with XSimulator() as x, RedditSimulator() as reddit:
        yield x, reddit


def send_once(settings: Settings, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "responders.cli", "queue", "send"],
        env={**os.environ, **env_for(settings)},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def kill_after_post_then_restart(settings: Settings, posted: Callable[[], list[dict]], cwd: Path) -> str:  # type: ignore[type-arg]
    process = send_once(settings, cwd)
    try:
        assert wait_until(lambda: len(posted()) == 1, timeout=60), "the sender never posted"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    restart = send_once(settings, cwd)
    output = restart.communicate(timeout=120)[0].decode()
    assert restart.returncode == 0, output
    return output


def test_x_reply_posted_once_when_the_sender_is_killed_between_posting_and_recording(
    sims, engine: Engine, db_url: str, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url)
    tweet = x.add_tweet("@lumenmobile no signal in Boise since noon", "boise_bob", followers=80)
    mention = add_mention(engine, tweet["text"], external_id=tweet["id"], handle="boise_bob")
    agent, approver = add_staff(engine, "ana@lumen.com", "agent"), add_staff(engine, "pat@lumen.com", "approver")
    reply = reply_in_state(engine, settings, mention, "Sorry Bob, a crew is on the way.", "approved", agent,
                           [approver])
    x.add_fault(Fault("/2/tweets", method="POST", delay_after=60))

    output = kill_after_post_then_restart(settings, x.posted_replies, tmp_path)

    [posted] = x.posted_replies()
    assert posted["referenced_tweets"] == [{"type": "replied_to", "id": tweet["id"]}]
    assert posted["text"] == "Sorry Bob, a crew is on the way."
    stored = get(engine, Reply, reply.id)
    assert (stored.state, stored.platform_reply_id, stored.attempts) == ("sent", posted["id"], 1)
    assert "1 found already posted" in output
    assert [a for _, a in actions(engine, "reply", reply.id)][-2:] == ["reply.sending", "reply.sent"]
    # The restart looked at the brand's own tweets and posted nothing.
    assert [r.method for r in x.requests if r.path == "/2/tweets"] == ["POST"]


def test_reddit_reply_posted_once_when_the_sender_is_killed_between_posting_and_recording(
    sims, sqlite_engine: Engine, sqlite_url: str, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    x, reddit = sims
    settings = sender_settings(x, reddit, sqlite_url)
    comment = reddit.add_comment("lumen mobile charged me twice", "sam_r", "LumenMobile")
    mention = add_mention(sqlite_engine, comment["body"], platform="reddit", external_id=comment["name"])
    agent, approver = (add_staff(sqlite_engine, "ana@lumen.com", "agent"),
                       add_staff(sqlite_engine, "pat@lumen.com", "approver"))
    reply = reply_in_state(sqlite_engine, settings, mention, "Sorry! We've refunded the second charge.", "approved",
                           agent, [approver])
    reddit.add_fault(Fault("/api/comment", method="POST", delay_after=60))

    kill_after_post_then_restart(settings, reddit.posted_replies, tmp_path)

    [posted] = reddit.posted_replies()
    assert posted["parent_id"] == comment["name"]
    stored = get(sqlite_engine, Reply, reply.id)
    assert (stored.state, stored.platform_reply_id) == ("sent", posted["name"])
