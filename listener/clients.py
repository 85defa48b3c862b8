"""Platform clients: the real tweepy and praw, pointed at configurable base URLs.

tweepy.Client always builds ``https://api.twitter.com`` + route. Its public
``session`` is a ``requests.Session``, so an adapter mounted for the two X hosts
rewrites each request to ``x.api_base_url`` (a proxy, a compatible service, or the
simulator). OAuth 1.0a signing happens before the adapter sees the request, on the
real URL, so signatures stay valid for the real API.
"""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import praw
import tweepy
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from listener.settings import RedditSettings, XSettings

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


def make_reddit_client(settings: RedditSettings) -> praw.Reddit:
    """A praw.Reddit for the brand's script app, at the configured URLs."""
    return praw.Reddit(
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
        username=settings.username or None,
        password=settings.password.get_secret_value() or None,
        user_agent=settings.user_agent,
        oauth_url=settings.oauth_url,
        reddit_url=settings.reddit_url,
        short_url=settings.short_url,
        check_for_updates=False,
        timeout=max(1, math.ceil(settings.request_timeout_seconds)),
    )


class SecretRedactingFilter(logging.Filter):
    """Replaces any configured secret that reaches a log record with ``***``."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str, secrets: list[str]) -> None:
    """Log at ``level``, never with secrets.

    tweepy logs request headers (the bearer token) and prawcore request data at
    DEBUG, so their loggers are held at INFO whatever the level, and a filter
    redacts any secret that still reaches a handler.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root.setLevel(level)
    for noisy in ("tweepy", "prawcore", "praw", "urllib3", "requests_oauthlib", "oauthlib"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLevelName(level)))
    redactor = SecretRedactingFilter(secrets)
    for handler in root.handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, SecretRedactingFilter)]
        handler.addFilter(redactor)
