"""The sender against the platform simulators: approved replies posted once; nothing else ever posted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Mention, Reply
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.publisher import XPublisher
from listener.platforms.x.simulator import XSimulator
from listener.simulators import Fault
from responders import workflow
from responders.roles import PermissionDenied
from responders.sender import Sender
from tests.responders.helpers import actions, add_mention, add_staff, get
from tests.responders.sender_helpers import reply_in_state, sender_settings


@pytest.fixture
def sims() -> Iterator[tuple[XSimulator, RedditSimulator]]:
    with XSimulator() as x, RedditSimulator() as reddit:
        yield x, reddit


@pytest.fixture
def team(engine: Engine) -> dict:  # type: ignore[type-arg]
    return {
        "agent": add_staff(engine, "ana@lumen.com", "agent"),
        "approvers": [add_staff(engine, "pat@lumen.com", "approver"), add_staff(engine, "quinn@lumen.com", "approver")],
    }


def tweet_mention(engine: Engine, x: XSimulator, text: str = "@lumenmobile my bill doubled", **options) -> Mention:  # type: ignore[no-untyped-def]
    followers = options.pop("followers", 40)
    tweet = x.add_tweet(text, "billy", "Billy Bob", followers=followers)
    return add_mention(engine, text, external_id=tweet["id"], handle="billy", followers=followers, **options)


def replies_to(x: XSimulator, mention: Mention) -> list[dict]:  # type: ignore[type-arg]
    return [t for t in x.posted_replies() if t.get("referenced_tweets") == [{"type": "replied_to",
                                                                              "id": mention.external_id}]]


def test_an_approved_reply_is_posted_on_x_exactly_once(sims, engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url)
    mention = tweet_mention(engine, x, sentiment="negative", confidence=0.9)
    reply = reply_in_state(engine, settings, mention, "Sorry Billy! DM us and we'll fix it.", "approved",
                           team["agent"], team["approvers"])

    report = Sender(engine, settings).send_pending()
    assert report.sent == [reply.id] and not report.failed
    [posted] = replies_to(x, mention)
    assert posted["text"] == "Sorry Billy! DM us and we'll fix it."
    stored = get(engine, Reply, reply.id)
    assert (stored.state, stored.platform_reply_id, stored.attempts) == ("sent", posted["id"], 1)
    assert stored.sent_at is not None
    assert get(engine, Mention, mention.id).status == "waiting"

    assert Sender(engine, settings).send_pending().sent == []  # a second run posts nothing
    assert len(x.posted_replies()) == 1
    trail = actions(engine, "reply", reply.id)
    assert trail[-2:] == [("system:sender", "reply.sending"), ("system:sender", "reply.sent")]
    assert ("system:sender", "mention.status") in actions(engine, "mention", mention.id)


def test_an_approved_reply_is_posted_on_reddit_exactly_once(sims, engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url)
    comment = reddit.add_comment("lumen mobile dropped my calls all week", "sam_r", "LumenMobile")
    post = reddit.add_post("Lumen Mobile roaming?", "does it work in Canada", "traveler", "LumenMobile")
    on_comment = add_mention(engine, comment["body"], platform="reddit", external_id=comment["name"], handle="sam_r")
    on_post = add_mention(engine, post["title"], platform="reddit", external_id=post["name"], handle="traveler")
    first = reply_in_state(engine, settings, on_comment, "Sorry, u/sam_r! Sent you a message.", "approved",
                           team["agent"], team["approvers"])
    second = reply_in_state(engine, settings, on_post, "Yes, it works in Canada at no extra cost.", "approved",
                            team["agent"], team["approvers"])

    report = Sender(engine, settings).send_pending()
    assert sorted(report.sent) == sorted([first.id, second.id])
    posted = reddit.posted_replies()
    assert sorted(c["parent_id"] for c in posted) == sorted([comment["name"], post["name"]])
    by_parent = {c["parent_id"]: c["name"] for c in posted}
    assert get(engine, Reply, first.id).platform_reply_id == by_parent[comment["name"]]
    assert get(engine, Reply, second.id).platform_reply_id == by_parent[post["name"]]
    Sender(engine, settings).send_pending()
    assert len(reddit.posted_replies()) == 2


def test_rejected_and_unapproved_replies_never_reach_the_platform(sims, engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url)
    replies = []
    for state in ("draft", "pending_approval", "rejected"):
        mention = tweet_mention(engine, x, f"@lumenmobile problem {state}")
        replies.append(reply_in_state(engine, settings, mention, f"Reply while {state}", state, team["agent"],
                                      team["approvers"]))
    comment = reddit.add_comment("lumen mobile is awful", "grr", "LumenMobile")
    on_reddit = add_mention(engine, comment["body"], platform="reddit", external_id=comment["name"])
    replies.append(reply_in_state(engine, settings, on_reddit, "Pending on Reddit", "pending_approval",
                                  team["agent"], team["approvers"]))
    # A high-risk reply with only one of its two approvals is not approved either.
    loud = tweet_mention(engine, x, "@lumenmobile worst carrier", sentiment="negative", confidence=0.9,
                         followers=500_000)
    half = reply_in_state(engine, settings, loud, "We're sorry.", "pending_approval", team["agent"],
                          team["approvers"])
    with Session(engine) as session:
        workflow.approve(session, settings, workflow.get_reply(session, half.id), team["approvers"][0])
        session.commit()

    report = Sender(engine, settings).send_pending()
    assert report.sent == [] and report.failed == []
    assert x.posted_replies() == [] and reddit.posted_replies() == []
    assert not [r for r in x.requests + reddit.requests if r.method == "POST" and "access_token" not in r.path]
    assert [get(engine, Reply, r.id).state for r in replies] == ["draft", "pending_approval", "rejected",
                                                                 "pending_approval"]
    assert get(engine, Reply, half.id).state == "pending_approval"


def test_a_platform_refusal_is_failed_with_its_message_and_a_person_retries(
    sims, engine: Engine, db_url: str, team  # type: ignore[no-untyped-def]
) -> None:
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url)
    mention = tweet_mention(engine, x)
    reply = reply_in_state(engine, settings, mention, "Sorry about that!", "approved", team["agent"],
                           team["approvers"])
    x.add_fault(Fault("/2/tweets", method="POST", status=403))

    report = Sender(engine, settings).send_pending()
    assert report.failed == [reply.id]
    failed = get(engine, Reply, reply.id)
    assert failed.state == "failed" and failed.error == "X answered 403: Forbidden"
    assert x.posted_replies() == []
    assert Sender(engine, settings).send_pending().sent == []  # failed replies wait for a person

    with Session(engine) as session, pytest.raises(PermissionDenied):
        workflow.retry(session, workflow.get_reply(session, reply.id), team["agent"])
    report = Sender(engine, settings).retry(reply.id, team["approvers"][1])
    assert report.sent == [reply.id]
    assert len(replies_to(x, mention)) == 1
    assert get(engine, Reply, reply.id).state == "sent"
    assert [a for _, a in actions(engine, "reply", reply.id)][-5:] == [
        "reply.sending", "reply.failed", "reply.retry", "reply.sending", "reply.sent"]


def test_a_reddit_refusal_keeps_reddits_message(sims, engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url)
    gone = add_mention(engine, "deleted comment", platform="reddit", external_id="t1_zzzzzz")
    reply = reply_in_state(engine, settings, gone, "Hello!", "approved", team["agent"], team["approvers"])
    assert Sender(engine, settings).send_pending().failed == [reply.id]
    assert get(engine, Reply, reply.id).error == (
        "Reddit refused the comment: DELETED_COMMENT: that comment has been deleted")


def test_an_unclear_answer_is_checked_on_the_platform_before_posting_again(
    sims, engine: Engine, db_url: str, team  # type: ignore[no-untyped-def]
) -> None:
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url)
    mention = tweet_mention(engine, x)
    reply = reply_in_state(engine, settings, mention, "On it!", "approved", team["agent"], team["approvers"])
    x.add_fault(Fault("/2/tweets", method="POST", status=503))  # X did not create it, but the sender cannot know

    first = Sender(engine, settings).send_pending()
    assert first.uncertain == [reply.id]
    assert get(engine, Reply, reply.id).state == "sending"
    second = Sender(engine, settings).send_pending()  # looks, does not find it, posts once
    assert second.sent == [reply.id]
    assert len(replies_to(x, mention)) == 1
    assert get(engine, Reply, reply.id).attempts == 2


def test_a_send_interrupted_after_posting_is_found_not_posted_again(
    sims, engine: Engine, db_url: str, team  # type: ignore[no-untyped-def]
) -> None:
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url)
    mention = tweet_mention(engine, x)
    other = tweet_mention(engine, x, "@lumenmobile another one")
    reply = reply_in_state(engine, settings, mention, "We're on it!", "approved", team["agent"], team["approvers"])
    # What a sender does up to the crash: the intent committed, the tweet posted, nothing recorded.
    with Session(engine) as session:
        workflow.begin_attempt(session, workflow.get_reply(session, reply.id))
        session.commit()
    XPublisher(settings.x).post_reply(get(engine, Mention, other.id), "a reply to another mention")
    posted = XPublisher(settings.x).post_reply(get(engine, Mention, mention.id), "We're on it!")

    report = Sender(engine, settings).send_pending()
    assert report.found == [reply.id] and report.sent == []
    assert len(replies_to(x, mention)) == 1
    stored = get(engine, Reply, reply.id)
    assert (stored.state, stored.platform_reply_id, stored.attempts) == ("sent", posted.platform_id, 1)


def test_an_interrupted_send_that_never_reached_the_platform_is_posted(
    sims, engine: Engine, db_url: str, team  # type: ignore[no-untyped-def]
) -> None:
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url, sender={"max_attempts": 2})
    comment = reddit.add_comment("lumen mobile support?", "q", "LumenMobile")
    mention = add_mention(engine, comment["body"], platform="reddit", external_id=comment["name"])
    reply = reply_in_state(engine, settings, mention, "Here to help!", "approved", team["agent"], team["approvers"])
    with Session(engine) as session:  # the intent, then a crash before the call
        workflow.begin_attempt(session, workflow.get_reply(session, reply.id))
        session.commit()
    assert Sender(engine, settings).send_pending().sent == [reply.id]
    assert [c["parent_id"] for c in reddit.posted_replies()] == [comment["name"]]
    assert get(engine, Reply, reply.id).attempts == 2


def test_give_up_after_max_attempts(sims, engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url, sender={"max_attempts": 1})
    mention = tweet_mention(engine, x)
    reply = reply_in_state(engine, settings, mention, "Hi", "approved", team["agent"], team["approvers"])
    x.add_fault(Fault("/2/tweets", method="POST", status=503))
    Sender(engine, settings).send_pending()
    report = Sender(engine, settings).send_pending()
    assert report.failed == [reply.id]
    assert "after 1 interrupted attempt" in get(engine, Reply, reply.id).error
    assert x.posted_replies() == []


def test_a_lookup_that_fails_posts_nothing(sims, engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    x, reddit = sims
    settings = sender_settings(x, reddit, db_url)
    mention = tweet_mention(engine, x)
    reply = reply_in_state(engine, settings, mention, "Hi", "approved", team["agent"], team["approvers"])
    with Session(engine) as session:
        workflow.begin_attempt(session, workflow.get_reply(session, reply.id))
        session.commit()
    x.add_fault(Fault("/2/users/", method="GET", status=503, times=5))
    report = Sender(engine, settings).send_pending()
    assert report.uncertain == [reply.id] and x.posted_replies() == []
    assert get(engine, Reply, reply.id).state == "sending"
