"""Replies on Bluesky through atproto: post one (with reply references and facets), and find it again.

Exactly once: before any retry the sender asks :meth:`BlueskyPublisher.find_own_reply`,
which reads the mention's thread (``app.bsky.feed.getPostThread``) for a reply by the
brand account.  ``send_post`` itself is a single ``createRecord`` with no retry behind
the sender's back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

import httpx
from atproto_client import exceptions as sdk_errors

from listener.models import Mention
from listener.platforms.bluesky.client import BlueskyClient, make_bluesky_client
from listener.platforms.bluesky.payloads import PLATFORM, UnreadablePost, parse_bluesky_time, reply_refs_for
from listener.platforms.bluesky.settings import BlueskySettings
from listener.platforms.bluesky.text import build_facets
from listener.platforms.publisher import DeliveryUncertain, PlatformRejected, PostedReply, PublisherUnavailable


def _message(error: BaseException) -> str:
    content = getattr(getattr(error, "response", None), "content", None)
    status = getattr(getattr(error, "response", None), "status_code", "?")
    if content is not None and getattr(content, "error", None):
        return f"Bluesky answered {status}: {content.error}: {getattr(content, 'message', '') or ''}".rstrip(": ")
    return f"Bluesky answered {status}: {error or type(error).__name__}"


class BlueskyPublisher:
    """Replies as the brand account, threaded under the mention (root and parent references)."""

    platform: ClassVar[str] = PLATFORM

    def __init__(self, section: BlueskySettings, lookup_pages: int = 5,
                 client: BlueskyClient | None = None) -> None:
        if not section.handle or not section.app_password.get_secret_value():
            raise PublisherUnavailable("bluesky.handle and bluesky.app_password must be set to post replies")
        self.section = section
        self.client = client or make_bluesky_client(section)
        self.lookup_pages = lookup_pages

    def post_reply(self, mention: Mention, text: str) -> PostedReply:
        try:
            refs = reply_refs_for(json.loads(mention.raw or "{}"))
        except (UnreadablePost, ValueError) as error:
            raise PlatformRejected(f"cannot reply on Bluesky: {error}") from None
        try:
            facets = build_facets(text, self.client.resolve_handle)
            answer = self.client.send_reply(text, (refs.root_uri, refs.root_cid), (refs.parent_uri, refs.parent_cid),
                                            facets)
        except sdk_errors.RateLimitExceededError as error:  # refused before anything was written
            raise PlatformRejected(_message(error)) from None
        except (sdk_errors.BadRequestError, sdk_errors.UnauthorizedError) as error:
            raise PlatformRejected(_message(error)) from None
        except (sdk_errors.NetworkError, sdk_errors.RequestException, httpx.HTTPError) as error:
            raise DeliveryUncertain(_message(error)) from None
        except ValueError as error:  # an answer that is not JSON: the post may exist
            raise DeliveryUncertain(f"Bluesky answered something that is not JSON: {error}") from None
        uri = answer.get("uri") if isinstance(answer, dict) else None
        if not isinstance(uri, str):
            raise DeliveryUncertain(f"Bluesky answered without the post's uri: {str(answer)[:200]}")
        return PostedReply(uri)

    def find_own_reply(self, mention: Mention, since: datetime) -> PostedReply | None:
        """The brand's reply directly under the mention, written at or after ``since``, if there is one."""
        try:
            thread = self.client.get_post_thread(mention.external_id, depth=1).get("thread") or {}
            brand = self.client.did
        except (sdk_errors.AtProtocolError, httpx.HTTPError, ValueError) as error:
            raise DeliveryUncertain(f"could not read the thread on Bluesky: {_message(error)}") from None
        for reply in thread.get("replies") or []:
            post: Any = reply.get("post") if isinstance(reply, dict) else None
            if not isinstance(post, dict) or (post.get("author") or {}).get("did") != brand:
                continue
            record = post.get("record") or {}
            try:
                created = parse_bluesky_time(record.get("createdAt") or post.get("indexedAt"))
            except ValueError:
                created = None
            if created is None or created >= since:
                return PostedReply(str(post.get("uri")), created)
        return None
