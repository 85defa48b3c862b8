"""The Bluesky simulator, driven by the real ``atproto.Client`` and ``JetstreamClient``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from atproto import Client, JetstreamClient, exceptions, models
from atproto_client.request import Request

from listener.platforms.bluesky.simulator import BlueskySimulator
from listener.simulators import Fault

BRAND = "lumenmobile.bsky.social"
PASSWORD = "sim-app-password"


@pytest.fixture
def sim() -> Iterator[BlueskySimulator]:
    with BlueskySimulator() as simulator:
        yield simulator


def signed_in(sim: BlueskySimulator, timeout: float = 5.0) -> Client:
    client = Client(base_url=sim.base_url, request=Request(timeout=timeout))
    client.login(BRAND, PASSWORD)
    return client


def mention(sim: BlueskySimulator, author: str, text: str = "my bill doubled", **kwargs: Any) -> dict[str, Any]:
    sim.add_account(author)
    return sim.add_post(f"@{BRAND} {text}", author, **kwargs)


class StreamConsumer:
    """A JetstreamClient running in a thread, collecting what it delivers."""

    def __init__(self, sim: BlueskySimulator, cursor: int | None = None) -> None:
        params: dict[str, Any] = {"collections": ["app.bsky.feed.post"]}
        if cursor is not None:
            params["cursor"] = cursor
        self.client = JetstreamClient(params=params, base_uri=sim.jetstream_url, recv_timeout=5)
        self.messages: list[Any] = []
        self.thread = threading.Thread(target=self.client.start, args=(self.messages.append,), daemon=True)

    def __enter__(self) -> StreamConsumer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.stop()
        self.thread.join(timeout=10)

    def wait_for(self, condition: Callable[[list[Any]], bool], timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self.messages):
                return True
            time.sleep(0.02)
        return condition(self.messages)

    @property
    def texts(self) -> list[str]:
        return [message.record["text"] for message in self.messages]


# -- sessions ---------------------------------------------------------------------------------------


def test_login_with_the_app_password_and_a_wrong_one(sim):
    client = signed_in(sim)
    assert client.me.handle == BRAND and client.me.did == sim.brand_did
    with pytest.raises(exceptions.UnauthorizedError):
        Client(base_url=sim.base_url).login(BRAND, "not-the-password")


def test_the_client_refreshes_a_session_that_is_about_to_expire(sim):
    sim.access_token_seconds = 60  # under the client's 15-minute margin: refresh before the next call
    client = signed_in(sim)
    client.app.bsky.actor.get_profiles(params={"actors": [BRAND]})
    assert sim.session_creations == 1 and sim.session_refreshes >= 1
    calls = [request.path for request in sim.requests]
    assert "/xrpc/com.atproto.server.refreshSession" in calls


def test_an_expired_access_token_is_refused_with_xrpcs_expired_token(sim):
    client = signed_in(sim)
    sim.expire_sessions()
    client._should_refresh_session = lambda: False  # a client that does not look at exp
    with pytest.raises(exceptions.BadRequestError) as caught:
        client.app.bsky.notification.list_notifications()
    assert caught.value.response.content.error == "ExpiredToken"


# -- notifications, profiles, threads -----------------------------------------------------------------


def test_notifications_page_newest_first_with_a_cursor_that_survives_new_arrivals(sim):
    uris = [mention(sim, f"fan{index}.bsky.social", f"question {index}")["uri"] for index in range(7)]
    client = signed_in(sim)

    first = client.app.bsky.notification.list_notifications(params={"limit": 3})
    assert [n.uri for n in first.notifications] == uris[::-1][:3]
    assert all(n.reason == "mention" for n in first.notifications)
    mention(sim, "latecomer.bsky.social")  # arrives between pages: must not shift them
    second = client.app.bsky.notification.list_notifications(params={"limit": 3, "cursor": first.cursor})
    third = client.app.bsky.notification.list_notifications(params={"limit": 3, "cursor": second.cursor})
    assert [n.uri for n in second.notifications + third.notifications] == uris[::-1][3:]
    assert third.cursor is None


def test_replies_and_quotes_of_the_brand_are_notified_with_their_subject(sim):
    client = signed_in(sim)
    own = client.send_post("Our network maintenance ends at 6am.")
    sim.add_account("replier.bsky.social")
    sim.add_account("quoter.bsky.social")
    reply = sim.add_post("still down here", "replier.bsky.social", reply_to=own.uri)
    quote = sim.add_post("they always say that", "quoter.bsky.social", quote=own.uri)

    page = client.app.bsky.notification.list_notifications(params={"reasons": ["reply", "quote"]})

    by_reason = {n.reason: n for n in page.notifications}
    assert by_reason["reply"].uri == reply["uri"] and by_reason["reply"].reason_subject == own.uri
    assert by_reason["quote"].uri == quote["uri"]
    assert by_reason["reply"].record.reply.root.uri == own.uri


def test_profiles_lack_display_name_and_description_when_the_account_has_none(sim):
    sim.add_account("plain.example.com")
    sim.add_account("alice.bsky.social", "Alice Ng", followers=321, bio="Tea, trains, https://alice.example")
    client = signed_in(sim)

    profiles = client.app.bsky.actor.get_profiles(
        params={"actors": ["plain.example.com", "alice.bsky.social", "nobody.bsky.social"]}
    ).profiles

    plain, alice = profiles
    assert plain.handle == "plain.example.com" and plain.display_name is None and plain.description is None
    assert (alice.display_name, alice.followers_count, alice.description) == (
        "Alice Ng", 321, "Tea, trains, https://alice.example")


def test_a_reply_posted_with_send_post_shows_in_the_thread(sim):
    post = mention(sim, "bob.bsky.social")
    client = signed_in(sim)
    ref = models.create_strong_ref(models.ComAtprotoRepoStrongRef.Main(uri=post["uri"], cid=post["cid"]))

    sent = client.send_post("Sorry about that, Bob: DM us your account number.",
                            reply_to=models.AppBskyFeedPost.ReplyRef(root=ref, parent=ref))

    thread = client.app.bsky.feed.get_post_thread(params={"uri": post["uri"]}).thread
    assert [reply.post.uri for reply in thread.replies] == [sent.uri]
    assert thread.replies[0].post.author.did == sim.brand_did
    assert sim.posted_replies()[0]["record"]["reply"]["parent"]["uri"] == post["uri"]


def test_a_post_over_300_graphemes_is_refused_and_not_stored(sim):
    client = signed_in(sim)
    assert len(("👩‍👩‍👧" * 300).encode()) > 3000  # families are one grapheme each but many bytes
    client.send_post("é" * 300)  # 300 graphemes, 600 bytes: fine
    with pytest.raises(exceptions.BadRequestError) as caught:
        client.send_post("a" * 301)
    assert caught.value.response.content.error == "InvalidRecord"
    assert len(sim.posted_replies()) == 1


def test_a_reply_to_a_post_that_does_not_exist_is_refused(sim):
    client = signed_in(sim)
    ghost = models.ComAtprotoRepoStrongRef.Main(uri=f"at://{sim.brand_did}/app.bsky.feed.post/3zzzzzzzzzzzz",
                                                cid="bafyreigh")
    with pytest.raises(exceptions.BadRequestError):
        client.send_post("hello", reply_to=models.AppBskyFeedPost.ReplyRef(root=ghost, parent=ghost))
    assert sim.posted_replies() == []


def test_a_thread_of_an_unknown_post_is_not_found(sim):
    client = signed_in(sim)
    with pytest.raises(exceptions.BadRequestError) as caught:
        client.app.bsky.feed.get_post_thread(params={"uri": f"at://{sim.brand_did}/app.bsky.feed.post/3abc"})
    assert caught.value.response.content.error == "NotFound"


# -- faults ---------------------------------------------------------------------------------------------


def test_a_429_carries_the_pds_rate_limit_headers(sim):
    client = signed_in(sim)
    sim.add_fault(Fault("/xrpc/app.bsky.notification.listNotifications", status=429, reset_after=120))
    with pytest.raises(exceptions.RateLimitExceededError) as caught:
        client.app.bsky.notification.list_notifications()
    headers = caught.value.response.headers
    assert headers["ratelimit-remaining"] == "0"
    assert 110 <= int(headers["ratelimit-reset"]) - time.time() <= 121
    client.app.bsky.notification.list_notifications()  # the fault was used up


def test_the_window_budget_runs_out_and_answers_429(sim):
    sim.rate_limit = 3
    client = signed_in(sim)  # createSession and getProfile spend two
    client.app.bsky.actor.get_profiles(params={"actors": [BRAND]})
    with pytest.raises(exceptions.RateLimitExceededError):
        client.app.bsky.actor.get_profiles(params={"actors": [BRAND]})


def test_5xx_malformed_bodies_and_timeouts_reach_the_client(sim):
    client = signed_in(sim, timeout=0.5)
    sim.add_fault(Fault("/xrpc/app.bsky.notification", status=502))
    with pytest.raises(exceptions.NetworkError):
        client.app.bsky.notification.list_notifications()
    sim.add_fault(Fault("/xrpc/app.bsky.notification", status=500))
    with pytest.raises(exceptions.RequestException) as caught:
        client.app.bsky.notification.list_notifications()
    assert caught.value.response.status_code == 500
    sim.add_fault(Fault("/xrpc/app.bsky.notification", malformed=True))
    with pytest.raises(ValueError):  # the SDK has no error class of its own for a cut-off JSON body
        client.app.bsky.notification.list_notifications()
    sim.add_fault(Fault("/xrpc/app.bsky.notification", delay=2))
    with pytest.raises(exceptions.InvokeTimeoutError):
        client.app.bsky.notification.list_notifications()


def test_every_request_is_recorded(sim):
    client = signed_in(sim)
    client.app.bsky.notification.list_notifications(params={"limit": 5, "reasons": ["mention", "reply"]})
    listed = [r for r in sim.requests if r.path.endswith("listNotifications")]
    assert listed[0].query["limit"] == "5"
    assert listed[0].headers["Authorization"].startswith("Bearer ")


# -- Jetstream --------------------------------------------------------------------------------------------


def test_jetstream_replays_from_a_seq_cursor_then_delivers_live_posts(sim):
    for index in range(5):
        mention(sim, f"early{index}.bsky.social", f"early {index}")
    with StreamConsumer(sim, cursor=3) as consumer:
        assert consumer.wait_for(lambda got: len(got) == 3)
        sim.add_account("live.bsky.social")
        sim.add_post("a live post about #lumen", "live.bsky.social")
        assert consumer.wait_for(lambda got: len(got) == 4)
    assert [m.seq for m in consumer.messages] == [3, 4, 5, 6]
    assert consumer.texts[-1] == "a live post about #lumen"
    assert consumer.client.cursor == 6
    commit = consumer.messages[-1]
    assert commit.operation == "create" and commit.collection == "app.bsky.feed.post" and commit.cid


def test_jetstream_reads_a_cursor_of_unix_microseconds_as_a_time(sim):
    mention(sim, "before.bsky.social", "before")
    time.sleep(0.01)
    moment = datetime.now(UTC)
    mention(sim, "after.bsky.social", "after")
    with StreamConsumer(sim, cursor=int(moment.timestamp() * 1_000_000)) as consumer:
        assert consumer.wait_for(lambda got: len(got) >= 1)
    assert consumer.texts == [f"@{BRAND} after"]


def test_without_a_cursor_jetstream_starts_at_the_live_tip(sim):
    mention(sim, "old.bsky.social", "old news")
    with StreamConsumer(sim) as consumer:
        time.sleep(0.5)  # the socket opens; what was posted before is not replayed
        sim.add_account("new.bsky.social")
        sim.add_post("fresh", "new.bsky.social")
        assert consumer.wait_for(lambda got: len(got) == 1)
    assert consumer.texts == ["fresh"]


def test_a_socket_dropped_mid_stream_is_resumed_from_the_cursor_without_loss_or_duplicates(sim):
    for index in range(6):
        mention(sim, f"user{index}.bsky.social", f"post {index}")
    sim.drop_stream_after(2)  # the first connection dies after two events, with no close frame
    with StreamConsumer(sim, cursor=1) as consumer:
        assert consumer.wait_for(lambda got: len(got) == 6, timeout=20)
    assert [m.seq for m in consumer.messages] == [1, 2, 3, 4, 5, 6]
    assert consumer.texts == [f"@{BRAND} post {index}" for index in range(6)]


def test_an_event_without_cid_or_text_still_arrives(sim):
    sim.add_raw_event({"did": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "rev": "3kaaaaaaaaaaa", "operation": "create",
                       "collection": "app.bsky.feed.post", "rkey": "3kaaaaaaaaaaa",
                       "record": {"$type": "app.bsky.feed.post", "createdAt": "2024-05-01T00:00:00Z"}})
    with StreamConsumer(sim, cursor=1) as consumer:
        assert consumer.wait_for(lambda got: len(got) == 1)
    event = consumer.messages[0]
    assert event.cid is None and "text" not in event.record


def test_a_bad_cursor_is_refused_before_the_upgrade(sim):
    with httpx.Client() as http:
        answer = http.get(f"http://127.0.0.1:{sim.jetstream_port}/xrpc/network.bsky.jetstream.subscribeEvents",
                          params={"cursor": "yesterday"}, headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                                                   "Sec-WebSocket-Version": "13",
                                                                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert answer.status_code == 400 and answer.json()["error"] == "InvalidRequest"


def test_posts_carry_their_creation_time_and_a_restarted_simulator_keeps_its_state(sim):
    created = datetime.now(UTC) - timedelta(days=2)
    post = mention(sim, "dated.bsky.social", created_at=created)
    sim.stop()
    sim.start()
    client = signed_in(sim)
    thread = client.app.bsky.feed.get_post_thread(params={"uri": post["uri"]}).thread
    assert thread.post.record.created_at.startswith(created.strftime("%Y-%m-%dT%H:%M"))
