"""The Reddit client: the real praw.Reddit for the brand's script app, at the configured URLs.

prawcore retries a request that failed with a connection error or a 5xx answer, POSTs
included. For a reply that is wrong: Reddit may have stored the comment before the
gateway failed, and a retry behind the sender's back posts it twice. The publisher's
client therefore makes each write once (:class:`SingleAttemptWrites`) and reports an
unclear outcome as :class:`WriteOutcomeUnknown`; the sender then looks for its own
reply before it ever posts again.
"""

from __future__ import annotations

import math
from typing import Any

import praw
import prawcore
from requests import Response

from listener.platforms.reddit.settings import RedditSettings

# The token endpoint is a POST too, but asking for a token twice is harmless.
_IDEMPOTENT_POSTS = ("/api/v1/access_token",)


class WriteOutcomeUnknown(Exception):
    """A write (POST) got no clear answer: Reddit may or may not have applied it."""


class SingleAttemptWrites(prawcore.Requestor):
    """A prawcore requestor under which a write is sent once: its failure is raised, never retried.

    prawcore retries only a :class:`prawcore.RequestException` or a 5xx response, so raising another
    exception from here ends the request at once, with the sender deciding what happens next.
    """

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Response:
        # prawcore calls request(method, url, **options).
        method = args[0] if args else kwargs.get("method")
        url = args[1] if len(args) > 1 else kwargs.get("url")
        if str(method).upper() != "POST" or str(url).endswith(_IDEMPOTENT_POSTS):
            return super().request(*args, timeout=timeout, **kwargs)
        try:
            response = super().request(*args, timeout=timeout, **kwargs)
        except prawcore.RequestException as error:
            raise WriteOutcomeUnknown(f"no answer from Reddit: {error.original_exception!r}") from None
        if response.status_code >= 500:
            raise WriteOutcomeUnknown(f"Reddit answered {response.status_code}")
        return response


def make_reddit_client(settings: RedditSettings, *, single_attempt_writes: bool = False) -> praw.Reddit:
    """A praw.Reddit for the brand's script app, at the configured URLs (writes sent once if asked)."""
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
        requestor_class=SingleAttemptWrites if single_attempt_writes else None,
    )
