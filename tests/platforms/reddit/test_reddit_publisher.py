"""Replies on Reddit are written once: prawcore never retries a reply behind the sender's back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from listener.models import Reply
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from listener.simulators import Fault
from responders.sender import Sender
from tests.responders.helpers import add_mention, add_staff, get
from tests.responders.sender_helpers import reply_in_state, sender_settings


@pytest.fixture
def sims() -> Iterator[tuple[XSimulator, RedditSimulator]]:
    with XSimulator() as x, RedditSimulator() as reddit:
        yield x, reddit


@pytest.mark.parametrize("status", [502, 503])
def test_a_reply_reddit_stored_before_a_gateway_error_is_posted_exactly_once(
    sims: tuple[XSimulator, RedditSimulator], engine: Engine, db_url: str, status: int
) -> None:
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url)
    team = {
        "agent": add_staff(engine, "ana@lumen.com", "agent"),
        "approvers": [add_staff(engine, "pat@lumen.com", "approver"), add_staff(engine, "quinn@lumen.com", "approver")],
    }
    comment = reddit.add_comment("lumen mobile dropped my calls all week", "sam_r", "LumenMobile")
    mention = add_mention(engine, comment["body"], platform="reddit", external_id=comment["name"], handle="sam_r")
    reply = reply_in_state(engine, settings, mention, "Sorry, u/sam_r! Sent you a message.", "approved",
                           team["agent"], team["approvers"])
    # Reddit stores the comment, then the gateway answers 5xx: prawcore would retry this POST.
    reddit.add_fault(Fault("/api/comment", method="POST", status_after=status))

    first = Sender(engine, settings).send_pending()
    assert first.uncertain == [reply.id]
    comment_posts = [r for r in reddit.requests if r.method == "POST" and r.path.startswith("/api/comment")]
    assert len(comment_posts) == 1
    second = Sender(engine, settings).send_pending()  # looks on Reddit first, finds its reply
    assert second.found == [reply.id] and second.sent == []

    posted = [c for c in reddit.posted_replies() if c["parent_id"] == comment["name"]]
    assert len(posted) == 1
    assert get(engine, Reply, reply.id).platform_reply_id == posted[0]["name"]
