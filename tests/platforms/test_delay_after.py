"""``Fault(delay_after=...)``: the request takes effect first, then its answer is held back."""

from __future__ import annotations

import threading
import time

import pytest
import tweepy

from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from listener.simulators import Fault
from tests.platforms.conftest import make_reddit


def test_delay_after_posts_the_tweet_before_holding_the_answer(x_sim: XSimulator, x_user_client: tweepy.Client):
    mention = x_sim.add_tweet("@lumenmobile my bill doubled", "billy")
    x_sim.add_fault(Fault("/2/tweets", method="POST", delay_after=0.6))
    answered = threading.Event()

    def post() -> None:
        x_user_client.create_tweet(text="Sorry, looking into it.", in_reply_to_tweet_id=mention["id"])
        answered.set()

    worker = threading.Thread(target=post, daemon=True)
    started = time.monotonic()
    worker.start()
    deadline = started + 3
    while not x_sim.posted_replies() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(x_sim.posted_replies()) == 1  # visible on the platform...
    assert not answered.is_set()  # ...while the client still waits for the answer
    worker.join(timeout=3)
    assert answered.is_set() and time.monotonic() - started >= 0.5
    assert x_sim.faults == []


def test_delay_after_holds_a_reddit_comment_answer(reddit_sim: RedditSimulator):
    post = reddit_sim.add_post("Lumen Mobile support", "anyone else without signal?", "sam", "LumenMobile")
    reddit = make_reddit(reddit_sim)
    reddit_sim.add_fault(Fault("/api/comment", method="POST", delay_after=0.4))
    started = time.monotonic()
    reddit.submission(post["id"]).reply("We're on it.")
    assert time.monotonic() - started >= 0.35
    assert [c["parent_id"] for c in reddit_sim.posted_replies()] == [post["name"]]


def test_delay_after_cannot_be_combined_with_a_replaced_answer():
    with pytest.raises(ValueError, match="delay_after"):
        Fault("/2/tweets", status=503, delay_after=1)
    with pytest.raises(ValueError, match="negative"):
        Fault("/2/tweets", delay_after=-1)
