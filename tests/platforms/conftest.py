"""Fixtures that point the real tweepy and praw clients at the platform simulators."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import praw
import pytest
import requests
import tweepy
from requests.adapters import HTTPAdapter

from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator

OAUTH1 = {
    "consumer_key": "sim-consumer-key",
    "consumer_secret": "sim-consumer-secret",
    "access_token": "sim-access-token",
    "access_token_secret": "sim-access-secret",
}


class RewriteToSimulator(HTTPAdapter):
    """Sends what tweepy addresses to api.twitter.com to the simulator instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, **kwargs):  # type: ignore[override]
        parts = urlsplit(request.url or "")
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def route_to(client: tweepy.Client, sim: XSimulator) -> tweepy.Client:
    adapter = RewriteToSimulator(sim.base_url)
    for prefix in ("https://api.twitter.com", "https://api.x.com"):
        client.session.mount(prefix, adapter)
    return client


@pytest.fixture
def x_client_for() -> Callable[..., tweepy.Client]:
    """Build a tweepy client for any simulator: ``x_client_for(sim, bearer_token=...)``."""

    def build(sim: XSimulator, **credentials: str) -> tweepy.Client:
        return route_to(tweepy.Client(**(credentials or {"bearer_token": sim.bearer_token})), sim)

    return build


@pytest.fixture
def x_sim() -> Iterator[XSimulator]:
    with XSimulator() as sim:
        yield sim


@pytest.fixture
def x_client(x_sim: XSimulator) -> tweepy.Client:
    """App-only (bearer token) client, as the collectors use."""
    return route_to(tweepy.Client(bearer_token=x_sim.bearer_token), x_sim)


@pytest.fixture
def x_user_client(x_sim: XSimulator) -> tweepy.Client:
    """OAuth 1.0a user-context client, as the sender uses to post replies."""
    return route_to(tweepy.Client(**OAUTH1), x_sim)


@pytest.fixture
def reddit_sim() -> Iterator[RedditSimulator]:
    with RedditSimulator() as sim:
        yield sim


def make_reddit(sim: RedditSimulator, **overrides: str) -> praw.Reddit:
    settings = {
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "username": sim.username,
        "password": sim.password,
        "user_agent": "harken-tests/0.1 (simulator)",
        "oauth_url": sim.base_url,
        "reddit_url": sim.base_url,
        "short_url": sim.base_url,
        "check_for_updates": False,
        **overrides,
    }
    return praw.Reddit(**settings)


@pytest.fixture
def reddit_for() -> Callable[..., praw.Reddit]:
    """Build a praw client for any simulator: ``reddit_for(sim, password="wrong")``."""
    return make_reddit


@pytest.fixture
def reddit(reddit_sim: RedditSimulator) -> praw.Reddit:
    return make_reddit(reddit_sim)
