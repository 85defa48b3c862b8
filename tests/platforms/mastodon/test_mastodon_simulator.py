"""The Mastodon simulator, driven by the real ``Mastodon.py`` client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonBadGatewayError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonUnauthorizedError,
)

from listener.platforms.mastodon.simulator import MastodonSimulator, counted_length
from listener.simulators import Fault

TOKEN = "sim-mastodon-token"


@pytest.fixture
def sim() -> Iterator[MastodonSimulator]:
    with MastodonSimulator() as simulator:
        yield simulator


def client_for(sim: MastodonSimulator, token: str = TOKEN, timeout: float = 5.0) -> Mastodon:
    return Mastodon(api_base_url=sim.base_url, access_token=token, ratelimit_method="throw",
                    version_check_mode="none", request_timeout=timeout)


def mention(sim: MastodonSimulator, author: str, text: str = "my bill doubled", **kwargs: Any) -> dict[str, Any]:
    sim.add_account(author)
    return sim.add_status(f"@lumenmobile@mastodon.example {text}", author, **kwargs)


def test_mentions_page_by_id_through_the_link_header_newest_first(sim):
    statuses = [mention(sim, f"fan{index}@social.example", f"question {index}") for index in range(7)]
    client = client_for(sim)

    first = client.notifications(types=["mention"], limit=3)
    mention(sim, "latecomer@social.example")  # arrives between pages: paging by max_id is not shifted
    second = client.fetch_next(first)
    third = client.fetch_next(second)

    seen = [n.status.id for page in (first, second, third) for n in page]
    assert seen == [status["id"] for status in reversed(statuses)]
    assert all(n.type == "mention" for n in first)
    assert not client.fetch_next(third)
    asked = [r for r in sim.requests if r.path == "/api/v1/notifications"]
    assert asked[0].query["types[]"] == "mention"
    assert asked[1].query["types[]"] == "mention" and "max_id" in asked[1].query


def test_since_id_and_min_id_return_only_newer_notifications(sim):
    old = mention(sim, "old@social.example")
    client = client_for(sim)
    stored_cursor = client.notifications(types=["mention"])[0].id
    new = [mention(sim, f"new{index}@social.example")["id"] for index in range(3)]

    newer = client.notifications(types=["mention"], since_id=stored_cursor)
    oldest_first = client.notifications(types=["mention"], min_id=stored_cursor, limit=2)

    assert [n.status.id for n in newer] == new[::-1]
    assert [n.status.id for n in oldest_first] == new[1::-1]  # the two just above the cursor, newest first
    assert old["id"] not in {n.status.id for n in newer}


def test_a_status_is_html_with_links_mentions_hashtags_and_line_breaks(sim):
    sim.add_account("alice@social.example", "Alice", followers=42, bio="Tea and trains")
    status = sim.add_status("@lumenmobile no signal since 9 <again> https://status.example.com/outage/12345678901234 "
                            "#LumenDown\nsecond line\n\nnew paragraph", "alice@social.example")
    fetched = client_for(sim).status(status["id"])
    content = fetched.content
    assert content.startswith("<p><span class=\"h-card\"")
    assert "&lt;again&gt;" in content and '<br />' in content and "</p><p>new paragraph</p>" in content
    assert 'href="https://status.example.com/outage/12345678901234"' in content
    assert 'class="mention hashtag"' in content
    assert fetched.url == f"https://social.example/@alice/{status['id']}"
    assert fetched.account.acct == "alice@social.example" and fetched.account.followers_count == 42
    assert [tag.name for tag in fetched.tags] == ["lumendown"]


def test_hashtag_timelines_page_and_leave_out_private_statuses(sim):
    sim.add_account("bob@other.example")
    public = [sim.add_status(f"#Lumen outage {index}", "bob@other.example")["id"] for index in range(5)]
    sim.add_status("#lumen only for followers", "bob@other.example", visibility="private")
    client = client_for(sim)

    first = client.timeline_hashtag("lumen", limit=2)
    rest = client.fetch_remaining(first)

    assert [s.id for s in rest] == public[::-1]


def test_instance_limit_and_a_server_that_does_not_say(sim):
    client = client_for(sim)
    assert client.instance_v2().configuration.statuses.max_characters == 500
    sim.max_characters = None
    statuses = client.instance_v2().configuration.statuses
    assert statuses.max_characters is None and statuses.characters_reserved_per_url == 23


def test_urls_count_23_and_a_status_over_the_limit_is_refused_unposted(sim):
    original = mention(sim, "carol@social.example")
    client = client_for(sim)
    long_url = "https://example.com/" + "x" * 200
    assert counted_length(long_url) == 23
    fits = "a" * (500 - 24) + " " + long_url
    posted = client.status_post(fits, in_reply_to_id=original["id"])
    assert posted.in_reply_to_id == original["id"]
    with pytest.raises(MastodonAPIError) as caught:
        client.status_post("a" * 501, in_reply_to_id=original["id"])
    assert caught.value.args[1] == 422 and "character limit of 500" in caught.value.args[3]
    assert len(sim.posted_replies()) == 1


def test_a_reply_keeps_direct_visibility_and_appears_in_the_context(sim):
    original = mention(sim, "dana@social.example", visibility="direct")
    client = client_for(sim)
    reply = client.status_post("@dana@social.example we are on it", in_reply_to_id=original["id"],
                               visibility="direct")
    context = client.status_context(original["id"])
    assert reply.visibility == "direct"
    assert [s.id for s in context.descendants] == [reply.id]
    assert context.descendants[0].account.id == sim.brand_id
    assert client.status_context(reply.id).ancestors[0].id == original["id"]


def test_an_unknown_status_and_a_bad_token_are_refused(sim):
    with pytest.raises(MastodonNotFoundError):
        client_for(sim).status_context("123")
    with pytest.raises(MastodonUnauthorizedError):
        client_for(sim, token="stolen").notifications()


def test_rate_limit_headers_on_every_answer_and_429_once_spent(sim):
    sim.rate_limit = 2
    client = client_for(sim)
    client.notifications()
    assert client.ratelimit_limit == 2 and client.ratelimit_remaining == 1
    assert 250 <= client.ratelimit_reset - time.time() <= 301
    client.notifications()
    with pytest.raises(MastodonRatelimitError):
        client.notifications()


def test_a_429_fault_carries_the_reset_time(sim):
    client = client_for(sim)
    sim.add_fault(Fault("/api/v1/notifications", status=429, reset_after=90))
    with pytest.raises(MastodonRatelimitError):
        client.notifications()
    assert 80 <= client.ratelimit_reset - time.time() <= 91


def test_5xx_malformed_bodies_and_timeouts_reach_the_client(sim):
    client = client_for(sim, timeout=0.5)
    sim.add_fault(Fault("/api/v1/notifications", status=502))
    with pytest.raises(MastodonBadGatewayError):
        client.notifications()
    sim.add_fault(Fault("/api/v1/notifications", malformed=True))
    with pytest.raises(MastodonAPIError, match="Could not parse response as JSON"):
        client.notifications()
    sim.add_fault(Fault("/api/v1/notifications", delay=2))
    with pytest.raises(MastodonNetworkError):
        client.notifications()


def test_a_notification_page_whose_status_lacks_optional_fields_still_parses(sim):
    bare = {"id": "1", "type": "mention", "created_at": "2024-05-01T12:00:00.000Z",
            "account": {"id": "9", "username": "min", "acct": "min@tiny.example"},
            "status": {"id": "2", "content": "<p>hi</p>", "created_at": "2024-05-01T12:00:00.000Z",
                       "account": {"id": "9", "username": "min", "acct": "min@tiny.example"}}}
    sim.add_fault(Fault("/api/v1/notifications/", body=bare))  # the single-notification endpoint
    notification = client_for(sim).notifications(id="1")
    assert notification.status.content == "<p>hi</p>"
    assert notification.status.get("url") is None and notification.status.get("language") is None


def test_requests_are_recorded_with_their_query(sim):
    client = client_for(sim)
    client.notifications(types=["mention"], limit=5)
    request = sim.requests[-1]
    assert request.path == "/api/v1/notifications" and request.query["limit"] == "5"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_statuses_carry_their_creation_time_and_ids_grow_with_it(sim):
    sim.add_account("erin@social.example")
    older = sim.add_status("older", "erin@social.example", created_at=datetime.now(UTC) - timedelta(days=3))
    newer = sim.add_status("newer", "erin@social.example")
    fetched = client_for(sim).status(older["id"])
    assert int(newer["id"]) > int(older["id"])
    assert abs(fetched.created_at - (datetime.now(UTC) - timedelta(days=3))) < timedelta(minutes=1)
