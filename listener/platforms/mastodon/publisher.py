"""Replies on Mastodon through Mastodon.py: post one, and find the brand's own reply for exactly-once sending.

A reply keeps the original's visibility when that is ``direct`` or ``private`` (a
public answer to a private message would publish it).  The text must fit the
instance's own limit (``/api/v2/instance``, 500 when the server does not say), read
once per publisher.  Before any retry the sender asks :meth:`find_own_reply`, which
reads the status's context (``/api/v1/statuses/:id/context``) for a reply by the brand.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from mastodon import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
)

from listener.models import Mention
from listener.platforms.mastodon.client import make_mastodon_client
from listener.platforms.mastodon.collectors import _plain, _short
from listener.platforms.mastodon.payloads import PLATFORM, parse_mastodon_time, status_visibility
from listener.platforms.mastodon.settings import MastodonSettings
from listener.platforms.mastodon.text import instance_limit, status_length
from listener.platforms.publisher import DeliveryUncertain, PlatformRejected, PostedReply, PublisherUnavailable

KEPT_VISIBILITIES = ("direct", "private")


class MastodonPublisher:
    """Replies with ``status_post(in_reply_to_id=...)`` as the brand account."""

    platform: ClassVar[str] = PLATFORM

    def __init__(self, section: MastodonSettings, lookup_pages: int = 5, client: Any = None) -> None:
        if not section.api_base_url or not section.access_token.get_secret_value():
            raise PublisherUnavailable("mastodon.api_base_url and mastodon.access_token must be set to post replies")
        self.section = section
        self.client = client or make_mastodon_client(section)
        self.lookup_pages = lookup_pages
        self._limit: int | None = None
        self._brand_id: str | None = None

    def limit(self) -> int:
        """The instance's status limit (500 when it does not say or cannot be read)."""
        if self._limit is None:
            try:
                self._limit = instance_limit(_plain(self.client.instance_v2()))
            except MastodonError:
                return instance_limit(None)  # try again next time; 500 is the common floor
        return self._limit

    def post_reply(self, mention: Mention, text: str) -> PostedReply:
        limit = self.limit()
        if status_length(text) > limit:
            raise PlatformRejected(f"too long for this Mastodon instance: {status_length(text)} characters, "
                                   f"the limit is {limit}")
        try:
            original = json.loads(mention.raw or "{}")
        except ValueError:
            original = {}
        visibility = status_visibility(original) if isinstance(original, dict) else "public"
        try:
            posted: Any = self.client.status_post(
                text, in_reply_to_id=mention.external_id,
                visibility=visibility if visibility in KEPT_VISIBILITIES else None,
            )
        except MastodonRatelimitError as error:
            raise PlatformRejected(f"Mastodon answered 429: {_short(error)}") from None
        except (MastodonServerError, MastodonNetworkError) as error:
            raise DeliveryUncertain(f"Mastodon did not confirm: {_short(error)}") from None
        except MastodonAPIError as error:
            if "Could not parse response as JSON" in str(error):
                raise DeliveryUncertain(f"Mastodon answered something that is not JSON: {_short(error)}") from None
            raise PlatformRejected(f"Mastodon refused the reply: {_short(error)}") from None
        status_id = posted.get("id") if isinstance(posted, dict) else None
        if not status_id:
            raise DeliveryUncertain(f"Mastodon answered without a status id: {str(posted)[:200]}")
        return PostedReply(str(status_id))

    def brand_id(self) -> str:
        if self._brand_id is None:
            self._brand_id = str(self.client.account_verify_credentials()["id"])
        return self._brand_id

    def find_own_reply(self, mention: Mention, since: datetime) -> PostedReply | None:
        """A status by the brand, replying to the mention, written at or after ``since``."""
        try:
            brand = self.brand_id()
            context = _plain(self.client.status_context(mention.external_id))
        except MastodonError as error:
            raise DeliveryUncertain(f"could not read the status's context on Mastodon: {_short(error)}") from None
        for status in context.get("descendants") or []:
            if not isinstance(status, dict) or str((status.get("account") or {}).get("id")) != brand:
                continue
            if str(status.get("in_reply_to_id")) != mention.external_id:
                continue
            try:
                created = parse_mastodon_time(status.get("created_at"))
            except ValueError:
                created = None
            if created is None or created >= since:
                return PostedReply(str(status["id"]), created)
        return None
