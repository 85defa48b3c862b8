"""The X simulator, driven by the real tweepy.Client."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import tweepy

from listener.platforms.x.simulator import XSimulator
from listener.simulators import Fault, UnknownAccountError

USER_FIELDS = ["public_metrics", "description", "created_at", "name", "username"]
TWEET_FIELDS = ["created_at", "author_id", "conversation_id", "lang", "referenced_tweets",
                "in_reply_to_user_id", "public_metrics"]


def seed_mentions(sim: XSimulator, count: int) -> list[dict]:
    start = datetime.now(UTC) - timedelta(hours=count)
    return [
        sim.add_tweet(f"@LumenMobile outage report {index}", f"customer{index % 4}", f"Customer {index % 4}",
                      followers=1000 + index % 4, created_at=start + timedelta(hours=index))
        for index in range(count)
    ]


def test_paginator_walks_three_pages_of_mentions_newest_first(x_sim, x_client):
    seeded = seed_mentions(x_sim, 25)
    brand_id = x_sim.brand_user["id"]

    pages = list(tweepy.Paginator(
        x_client.get_users_mentions, brand_id, max_results=10, expansions=["author_id"],
        user_fields=USER_FIELDS, tweet_fields=TWEET_FIELDS,
    ))

    assert [len(page.data) for page in pages] == [10, 10, 5]
    ids = [tweet.id for page in pages for tweet in page.data]
    assert ids == sorted((int(tweet["id"]) for tweet in seeded), reverse=True)
    assert "next_token" not in pages[-1].meta
    first = pages[0]
    assert first.meta["result_count"] == 10
    assert first.meta["newest_id"] == str(ids[0]) and first.meta["oldest_id"] == str(ids[9])
    tweet = first.data[0]
    assert tweet.created_at.tzinfo is not None and tweet.lang == "en"
    assert str(tweet.author_id) == x_sim.user("customer0")["id"]  # tweepy turns ids into ints
    users = {user.id: user for user in first.includes["users"]}
    assert users[tweet.author_id].public_metrics["followers_count"] == 1000
    tokens = [request.query.get("pagination_token") for request in x_sim.requests]
    assert tokens[0] is None and all(tokens[1:])


def test_only_requested_fields_are_returned(x_sim, x_client_for):
    seed_mentions(x_sim, 1)
    raw = x_client_for(x_sim)
    raw.return_type = dict
    page = raw.get_users_mentions(x_sim.brand_user["id"])
    assert set(page["data"][0]) == {"id", "text", "edit_history_tweet_ids"}
    assert "includes" not in page
    page = raw.get_users_mentions(x_sim.brand_user["id"], tweet_fields=["lang"], expansions=["author_id"])
    assert set(page["data"][0]) == {"id", "text", "edit_history_tweet_ids", "lang"}
    assert set(page["includes"]["users"][0]) == {"id", "name", "username"}


def test_since_id_returns_only_newer_mentions(x_sim, x_client):
    seeded = seed_mentions(x_sim, 12)
    since = seeded[8]["id"]

    page = x_client.get_users_mentions(x_sim.brand_user["id"], since_id=since, max_results=100)

    assert [str(tweet.id) for tweet in page.data] == [seeded[11]["id"], seeded[10]["id"], seeded[9]["id"]]


def test_empty_page_has_no_data_and_no_next_token(x_sim, x_client, x_client_for):
    seeded = seed_mentions(x_sim, 3)

    raw = x_client_for(x_sim)
    raw.return_type = dict
    page = raw.get_users_mentions(x_sim.brand_user["id"], since_id=seeded[-1]["id"])

    assert page == {"meta": {"result_count": 0}}
    assert x_client.get_users_mentions(x_sim.brand_user["id"], since_id=seeded[-1]["id"]).data is None


def test_next_token_is_stable_when_new_tweets_arrive(x_sim, x_client):
    seed_mentions(x_sim, 15)
    brand_id = x_sim.brand_user["id"]
    first = x_client.get_users_mentions(brand_id, max_results=10)
    x_sim.add_tweet("@lumenmobile brand new complaint", "latecomer")

    second = x_client.get_users_mentions(brand_id, max_results=10, pagination_token=first.meta["next_token"])

    assert len(second.data) == 5
    assert max(tweet.id for tweet in second.data) < min(tweet.id for tweet in first.data)


def test_bad_bearer_token_is_401(x_sim, x_client_for):
    client = x_client_for(x_sim, bearer_token="wrong")

    with pytest.raises(tweepy.Unauthorized) as caught:
        client.get_users_mentions(x_sim.brand_user["id"])

    assert caught.value.response.json() == {
        "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized",
    }


def test_out_of_range_max_results_is_a_400_in_x_error_shape(x_sim, x_client):
    with pytest.raises(tweepy.BadRequest) as caught:
        x_client.get_users_mentions(x_sim.brand_user["id"], max_results=3)
    assert "not between 5 and 100" in str(caught.value)
    with pytest.raises(tweepy.BadRequest):
        x_client.search_recent_tweets("lumen", max_results=5)


def test_unknown_user_lookup_answers_200_with_errors(x_client):
    response = x_client.get_user(username="nobody_here")
    assert response.data is None
    assert response.errors[0]["title"] == "Not Found Error"


def test_every_response_carries_rate_limit_headers(x_sim, x_client_for):
    client = x_client_for(x_sim)
    client.return_type = requests.Response
    response = client.get_users_mentions(x_sim.brand_user["id"])
    assert response.headers["x-rate-limit-limit"] == "450"
    assert response.headers["x-rate-limit-remaining"] == "449"
    assert int(response.headers["x-rate-limit-reset"]) > time.time()


def test_spent_window_answers_429_until_reset(x_client_for):
    with XSimulator(rate_limit=2) as sim:
        client = x_client_for(sim)
        brand_id = sim.brand_user["id"]
        client.get_users_mentions(brand_id)
        client.get_users_mentions(brand_id)
        with pytest.raises(tweepy.TooManyRequests) as caught:
            client.get_users_mentions(brand_id)
        assert caught.value.response.headers["x-rate-limit-remaining"] == "0"
        client.get_user(username="lumenmobile")  # another endpoint has its own window


def test_injected_429_carries_reset_time(x_sim, x_client):
    x_sim.add_fault(Fault("/2/users/", status=429, reset_after=30))
    before = time.time()

    with pytest.raises(tweepy.TooManyRequests) as caught:
        x_client.get_users_mentions(x_sim.brand_user["id"])

    headers = caught.value.response.headers
    assert headers["x-rate-limit-remaining"] == "0"
    assert before + 29 <= caught.value.reset_time <= before + 32
    assert int(headers["x-rate-limit-reset"]) == caught.value.reset_time
    assert x_client.get_users_mentions(x_sim.brand_user["id"]).meta == {"result_count": 0}  # used up


def test_injected_500_raises_twitter_server_error(x_sim, x_client):
    x_sim.add_fault(Fault("/2/tweets/search/recent", status=500))
    with pytest.raises(tweepy.TwitterServerError) as caught:
        x_client.search_recent_tweets("lumen")
    assert caught.value.response.status_code == 500


def test_malformed_body_raises_json_decode_error_with_raw_body(x_sim, x_client):
    x_sim.add_fault(Fault("/2/users/", malformed=True))
    with pytest.raises(requests.JSONDecodeError) as caught:
        x_client.get_users_mentions(x_sim.brand_user["id"])
    assert caught.value.doc == '{"data": [{"id": "1", "tex'


def test_fault_body_and_when_param_hit_only_page_two(x_sim, x_client):
    seed_mentions(x_sim, 12)
    x_sim.add_fault(Fault("/2/users/", when_param="pagination_token",
                          body={"data": [{"id": "5", "text": "no created_at", "edit_history_tweet_ids": ["5"]}],
                                "meta": {"result_count": 1}}))

    pages = list(tweepy.Paginator(x_client.get_users_mentions, x_sim.brand_user["id"], max_results=10,
                                  tweet_fields=["created_at"]))

    assert len(pages) == 2
    assert pages[0].data[0].created_at is not None
    assert pages[1].data[0].created_at is None


def test_delay_fault_holds_a_request_until_the_test_sees_it(x_sim, x_client):
    seed_mentions(x_sim, 12)
    x_sim.add_fault(Fault("/2/users/", when_param="pagination_token", delay=0.5))
    done = threading.Event()

    def collect() -> None:
        list(tweepy.Paginator(x_client.get_users_mentions, x_sim.brand_user["id"], max_results=10))
        done.set()

    worker = threading.Thread(target=collect, daemon=True)
    worker.start()
    assert x_sim.wait_for_request("/2/users/", lambda request: "pagination_token" in request.query, timeout=2)
    assert not done.is_set()
    worker.join(timeout=3)
    assert done.is_set()
    assert not x_sim.wait_for_request("/2/tweets/search", timeout=0.05)


def test_search_recent_matches_words_phrases_or_and_operators(x_sim, x_client):
    x_sim.add_tweet("Lumen Mobile is down again in Denver", "alice")
    x_sim.add_tweet("@lumenmobile my bill doubled", "bob")
    x_sim.add_tweet("lumen mobile est en panne", "claire", lang="fr")
    x_sim.add_tweet("RT @alice: Lumen Mobile is down again", "dan")
    x_sim.add_tweet("mobile lumen words reversed", "erin")
    x_sim.add_tweet("Lumen Mobile from two weeks ago", "frank", created_at=datetime.now(UTC) - timedelta(days=8))

    def search(query: str) -> set[str]:
        response = x_client.search_recent_tweets(query, max_results=10, expansions=["author_id"])
        return {user.username for user in response.includes.get("users", [])}

    assert search('"lumen mobile" -is:retweet') == {"alice", "claire"}
    # AND binds tighter than OR, as on X: the operators only qualify the last group...
    assert search('"lumen mobile" OR @lumenmobile -is:retweet lang:en') == {"alice", "bob", "claire", "dan"}
    # ...unless the alternatives are parenthesised.
    assert search('("lumen mobile" OR @lumenmobile) -is:retweet lang:en') == {"alice", "bob"}
    assert search("mobile lumen") == {"alice", "claire", "dan", "erin"}
    assert search("nothing matches this") == set()


def test_search_paginates_with_next_token(x_sim, x_client):
    for index in range(23):
        x_sim.add_tweet(f"lumen mobile mention {index}", f"fan{index}")

    tweets = list(tweepy.Paginator(x_client.search_recent_tweets, "lumen mobile", max_results=10).flatten())

    assert len(tweets) == 23
    assert sum("next_token" in request.query for request in x_sim.requests) == 2


def test_create_tweet_reply_is_recorded_and_on_the_brand_timeline(x_sim, x_user_client, x_client):
    mention = x_sim.add_tweet("@lumenmobile no signal in Boise", "boise_bob")

    created = x_user_client.create_tweet(text="Sorry Bob, checking now.", in_reply_to_tweet_id=mention["id"])

    reply_id = created.data["id"]
    assert created.data["edit_history_tweet_ids"] == [reply_id]
    [posted] = x_sim.posted_replies()
    assert posted["id"] == reply_id
    assert posted["in_reply_to_user_id"] == x_sim.user("boise_bob")["id"]
    assert posted["referenced_tweets"] == [{"type": "replied_to", "id": mention["id"]}]
    assert posted["conversation_id"] == mention["id"]
    timeline = x_client.get_users_tweets(x_sim.brand_user["id"], tweet_fields=["referenced_tweets"])
    assert [tweet.id for tweet in timeline.data] == [int(reply_id)]
    assert timeline.data[0].referenced_tweets[0].id == int(mention["id"])
    assert x_sim.requests[-2].headers["Authorization"].startswith("OAuth ")


def test_create_tweet_rejects_long_text_unknown_parent_and_app_only_auth(x_sim, x_user_client, x_client):
    mention = x_sim.add_tweet("@lumenmobile hello", "someone")
    with pytest.raises(tweepy.BadRequest) as caught:
        x_user_client.create_tweet(text="x" * 281, in_reply_to_tweet_id=mention["id"])
    assert "281" in str(caught.value)
    with pytest.raises(tweepy.BadRequest):
        x_user_client.create_tweet(text="hi", in_reply_to_tweet_id="123")
    with pytest.raises(tweepy.Forbidden):
        x_client.create_tweet(text="hi", user_auth=False)
    assert x_sim.posted_replies() == []


def test_user_lookups_and_tweet_lookup(x_sim, x_user_client, x_client):
    tweet = x_sim.add_tweet("@lumenmobile hi", "lookup_me", "Look Me Up", followers=77, bio="bio here")
    assert x_user_client.get_me().data.username == "lumenmobile"
    user = x_client.get_user(username="LOOKUP_ME", user_fields=USER_FIELDS).data
    assert (user.name, user.description, user.public_metrics["followers_count"]) == ("Look Me Up", "bio here", 77)
    assert x_client.get_user(id=user.id).data.username == "lookup_me"
    found = x_client.get_tweets([tweet["id"], "1"], tweet_fields=["author_id"])
    assert [t.id for t in found.data] == [int(tweet["id"])] and found.errors[0]["resource_id"] == "1"
    assert x_client.get_tweet(tweet["id"]).data.text == "@lumenmobile hi"
    with pytest.raises(UnknownAccountError):
        x_sim.user("ghost")


def test_stop_makes_the_simulator_unreachable(x_client_for):
    sim = XSimulator().start()
    client = x_client_for(sim)
    client.get_user(username="lumenmobile")
    sim.stop()
    with pytest.raises(requests.ConnectionError):
        client.get_user(username="lumenmobile")
