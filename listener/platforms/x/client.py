"""The X client: the real tweepy.Client, pointed at the configured API base URL.

tweepy.Client always builds ``https://api.twitter.com`` + route. Its public
``session`` is a ``requests.Session``, so an adapter mounted for the two X hosts
rewrites each request to ``x.api_base_url`` (a proxy, a compatible service, or the
simulator). OAuth 1.0a signing happens before the adapter sees the request, on the
real URL, so signatures stay valid for the real API.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tweepy
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from listener.platforms.x.settings import XSettings

X_HOSTS = ("https://api.twitter.com", "https://api.x.com")


class BaseURLAdapter(HTTPAdapter):
    """Sends every request to ``base_url`` (same path and query), with a default timeout."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        parts = urlsplit(base_url)
        self._scheme, self._netloc, self._prefix = parts.scheme, parts.netloc, parts.path.rstrip("/")
        self._timeout = timeout

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        url = urlsplit(request.url or "")
        request.url = urlunsplit((self._scheme, self._netloc, self._prefix + url.path, url.query, ""))
        # tweepy passes no timeout; without one a silent server would hang the source forever.
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def make_x_client(settings: XSettings) -> tweepy.Client:
    """A tweepy.Client that returns raw JSON dicts and never sleeps on a 429 itself."""
    client = tweepy.Client(
        bearer_token=settings.bearer_token.get_secret_value() or None,
        consumer_key=settings.consumer_key.get_secret_value() or None,
        consumer_secret=settings.consumer_secret.get_secret_value() or None,
        access_token=settings.access_token.get_secret_value() or None,
        access_token_secret=settings.access_token_secret.get_secret_value() or None,
        # Raw dicts: the collector validates each tweet itself, so one malformed
        # tweet is quarantined instead of failing the whole page inside tweepy.
        return_type=dict,
        # Sleeping would block this source's thread until the reset; the
        # collector records the pause instead and the scheduler skips the source.
        wait_on_rate_limit=False,
    )
    adapter = BaseURLAdapter(settings.api_base_url, settings.request_timeout_seconds)
    for host in X_HOSTS:
        client.session.mount(host, adapter)
    return client
