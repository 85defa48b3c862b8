"""The Reddit simulator, driven by the real praw.Reddit."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import praw
import prawcore
import pytest
from praw.exceptions import RedditAPIException

from listener.platforms.reddit.simulator import RedditSimulator
from listener.simulators import Fault

SUPPORT = "lumenmobile_support"


def seed(sim: RedditSimulator) -> None:
    start = datetime.now(UTC) - timedelta(days=1)
    sim.add_post("Outage in Denver again?", "No service since 7am.", "denver_dee", "LumenMobile",
                 created_at=start)
    sim.add_post("Billing question", "Why did my bill go up?", "billy", "LumenMobile",
                 created_at=start + timedelta(minutes=10))
    sim.add_post("Lumen Mobile outage?", "Anyone else down?", "techie", "cellphones",
                 created_at=start + timedelta(minutes=20))
    for index in range(30):
        sim.add_comment(f"u/{SUPPORT} my bill is wrong, attempt {index}", f"customer{index % 3}", "LumenMobile",
                        created_at=start + timedelta(minutes=30 + index), karma=50, followers=index)
    sim.add_comment("no mention here, just chatting", "bystander", "LumenMobile",
                    created_at=start + timedelta(minutes=90))


def test_token_fetch_and_me(reddit_sim, reddit):
    me = reddit.user.me()

    assert me.name == SUPPORT
    token_requests = [r for r in reddit_sim.requests if r.path == "/api/v1/access_token"]
    assert len(token_requests) == 1
    assert token_requests[0].headers["Authorization"].startswith("Basic ")
    assert reddit_sim.requests[-1].headers["Authorization"].startswith("bearer sim-")


def test_inbox_mentions_yield_comments_newest_first(reddit_sim, reddit):
    seed(reddit_sim)

    mentions = list(reddit.inbox.mentions(limit=None))

    assert len(mentions) == 30
    assert all(isinstance(mention, praw.models.Comment) for mention in mentions)
    assert mentions[0].body == f"u/{SUPPORT} my bill is wrong, attempt 29"
    assert mentions[-1].body == f"u/{SUPPORT} my bill is wrong, attempt 0"
    assert mentions[0].author.name == "customer2"
    first = mentions[0]
    assert first.subject == "username mention" and first.was_comment and first.new
    assert first.subreddit.display_name == "LumenMobile"
    assert first.link_title == "Billing question"
    assert first.submission.id == first.link_id.removeprefix("t3_")
    assert first.created_utc > mentions[-1].created_utc


def test_listing_pages_follow_after_cursor(reddit_sim, reddit):
    seed(reddit_sim)

    bodies = [comment.body for comment in reddit.inbox.mentions(limit=None, request_limit=12)]

    listing_requests = [r for r in reddit_sim.requests if r.path == "/message/mentions"]
    assert len(bodies) == 30 and len(set(bodies)) == 30
    assert [r.query.get("after") is None for r in listing_requests] == [True, False, False]


def test_subreddit_search_and_comments(reddit_sim, reddit):
    seed(reddit_sim)
    subreddit = reddit.subreddit("LumenMobile")

    found = list(subreddit.search("outage", sort="new"))
    comments = list(subreddit.comments(limit=5))
    newest = list(subreddit.new())

    assert [post.title for post in found] == ["Outage in Denver again?"]
    assert found[0].author.name == "denver_dee" and found[0].is_self
    assert comments[0].body == "no mention here, just chatting"
    assert len(comments) == 5
    assert [post.title for post in newest] == ["Billing question", "Outage in Denver again?"]
    everywhere = reddit.subreddit("all").search('outage OR "bill go up"', sort="new")
    assert {post.title for post in everywhere} == {"Outage in Denver again?", "Billing question",
                                                   "Lumen Mobile outage?"}


def test_reply_is_posted_and_shows_in_user_comments(reddit_sim, reddit):
    seed(reddit_sim)
    mention = next(iter(reddit.inbox.mentions(limit=1)))

    reply = mention.reply("Sorry about that! Sending you a DM.")

    assert reply.body == "Sorry about that! Sending you a DM."
    assert reply.author.name == SUPPORT
    [posted] = reddit_sim.posted_replies()
    assert posted["id"] == reply.id
    assert posted["parent_id"] == mention.fullname
    assert posted["link_id"] == mention.link_id
    own = list(reddit.redditor(SUPPORT).comments.new())
    assert [comment.id for comment in own] == [reply.id]
    assert reddit_sim.requests[-2].method == "POST"
    assert parse_qs(reddit_sim.requests[-2].body.decode())["text"] == ["Sorry about that! Sending you a DM."]


def test_overlong_reply_is_a_reddit_api_exception(reddit_sim, reddit):
    seed(reddit_sim)
    mention = next(iter(reddit.inbox.mentions(limit=1)))

    with pytest.raises(RedditAPIException) as caught:
        mention.reply("x" * 10_001)

    assert caught.value.items[0].error_type == "TOO_LONG"
    assert reddit_sim.posted_replies() == []


def test_rate_limit_headers_on_every_api_response(reddit_sim, reddit):
    reddit.user.me()
    reddit.user.me(use_cache=False)

    core = reddit._core._rate_limiter
    assert (core.remaining, core.used) == (998, 2)
    api = [r for r in reddit_sim.requests if r.path != "/api/v1/access_token"]
    assert len(api) == 2


def test_no_rate_limit_headers_when_disabled(reddit_for):
    with RedditSimulator(send_ratelimit_headers=False) as sim:
        reddit = reddit_for(sim)
        reddit.user.me()
        assert reddit._core._rate_limiter.remaining is None


def test_redditor_about_has_karma_and_followers(reddit_sim, reddit):
    reddit_sim.add_comment("hello", "known_user", "LumenMobile", karma=400, followers=1200)

    redditor = reddit.redditor("known_user")

    assert redditor.total_karma == 400
    assert redditor.subreddit.subscribers == 1200
    assert redditor.created_utc > 0


def test_api_info_and_lazy_comment_fetch(reddit_sim, reddit):
    comment = reddit_sim.add_comment("lazy body", "lazy", "cellphones")
    fetched = reddit.comment(comment["id"])
    assert fetched.body == "lazy body"
    things = list(reddit.info(fullnames=[comment["name"], "t3_zzzzzz"]))
    assert [thing.id for thing in things] == [comment["id"]]


def test_wrong_client_secret_and_wrong_password(reddit_sim, reddit_for):
    with pytest.raises(prawcore.ResponseException) as caught:
        reddit_for(reddit_sim, client_secret="nope").user.me()
    assert caught.value.response.status_code == 401
    with pytest.raises(prawcore.OAuthException) as oauth:
        reddit_for(reddit_sim, password="nope").user.me()
    assert oauth.value.error == "invalid_grant"


def test_unknown_subreddit_redirects_like_reddit(reddit):
    with pytest.raises(prawcore.Redirect):
        list(reddit.subreddit("NoSuchPlace").new())


def test_injected_429_raises_too_many_requests(reddit_sim, reddit):
    reddit_sim.add_fault(Fault("/message/mentions", status=429, reset_after=0))

    with pytest.raises(prawcore.TooManyRequests) as caught:
        list(reddit.inbox.mentions(limit=5))

    headers = caught.value.response.headers
    assert headers["x-ratelimit-remaining"] == "0.0" and "x-ratelimit-used" in headers
    assert headers["x-ratelimit-reset"] == "0"


@pytest.fixture
def no_retry_jitter(monkeypatch):
    """prawcore sleeps 0-2 s (random) before a retry; pin the random part to 0."""
    monkeypatch.setattr(prawcore.sessions.random, "random", lambda: 0.0)


def test_injected_503_once_is_retried_by_prawcore(reddit_sim, reddit, no_retry_jitter):
    seed(reddit_sim)
    reddit_sim.add_fault(Fault("/message/mentions", status=503))
    started = time.monotonic()

    mentions = list(reddit.inbox.mentions(limit=5))

    assert len(mentions) == 5
    assert len([r for r in reddit_sim.requests if r.path == "/message/mentions"]) == 2
    assert time.monotonic() - started < 1


def test_expired_token_is_refreshed(reddit_sim, reddit, no_retry_jitter):
    reddit.user.me()
    reddit_sim.expire_tokens()
    assert reddit.user.me(use_cache=False).name == SUPPORT
    assert len([r for r in reddit_sim.requests if r.path == "/api/v1/access_token"]) == 2
