"""Mastodon's collectors: mentions of the brand (notifications) and each configured hashtag's timeline.

Both page *forwards* by id: ``min_id`` asks for the statuses just above the stored
cursor, oldest first in pages of up to 40, and the cursor moves to the newest id of
each stored page.  A run cut short (or killed) resumes from the last stored page;
nothing is skipped and nothing is stored twice.  A 429 raises :class:`RateLimited`
with the reset Mastodon announced (``X-RateLimit-Reset``), pausing only that source.

With ``[mastodon] streaming = true`` a scheduled run also reads the user or hashtag
stream until just before the next run is due, on the same cursors: see
:mod:`listener.platforms.mastodon.streaming` for how the two fit together.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from listener.platforms.collector import (
    CollectedMention,
    Collector,
    Page,
    QuarantinedItem,
    RateLimited,
    SourceField,
    SourceMisconfigured,
    SourceSpec,
    SourceUnavailable,
)
from listener.platforms.mastodon import streaming
from listener.platforms.mastodon.client import make_mastodon_client
from listener.platforms.mastodon.payloads import PLATFORM, UnreadableStatus, notification_to_mention, status_to_mention
from listener.platforms.mastodon.settings import MastodonSettings

log = logging.getLogger(__name__)

PAGE_SIZE = 40
MAX_PAGES_PER_RUN = 20
MAX_RETRIES = 3
RETRY_BACKOFF_SECONDS = 0.5


def _plain(value: Any) -> Any:
    """Mastodon.py's attribute dicts and lists as plain JSON values (dates as ISO strings)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)))


def _short(error: BaseException) -> str:
    text = " ".join(str(part) for part in getattr(error, "args", ()) if part) or type(error).__name__
    return text if len(text) < 300 else text[:300] + "..."


class MastodonCollector(Collector):
    """Shared forward paging, retries and error mapping."""

    platform: ClassVar[str] = PLATFORM
    stream_gap_seconds: ClassVar[float] = 5.0
    """A streaming run ends this long before the next one is due, so the scheduler never finds it running."""
    max_stream_seconds: ClassVar[float] = 600.0
    """A streaming run ends after this long at most (the next run picks up changed settings)."""

    @classmethod
    def make_client(cls, section: MastodonSettings) -> Mastodon:
        return make_mastodon_client(section)

    def _fetch(self, min_id: str) -> list[Any]:
        raise NotImplementedError

    def _read(self, item: Any) -> CollectedMention:
        raise NotImplementedError

    def _call(self, request: Callable[[], Any], bad_bodies: list[QuarantinedItem]) -> Any:
        attempt = 0
        while True:
            try:
                return request()
            except MastodonRatelimitError:
                reset = getattr(self.client, "ratelimit_reset", None) or time.time() + 60
                reset = max(float(reset), time.time() + 1)
                raise RateLimited(datetime.fromtimestamp(reset, UTC), "Mastodon answered 429") from None
            except MastodonUnauthorizedError as error:
                raise SourceMisconfigured(f"Mastodon refused the access token: {_short(error)}") from None
            except MastodonNotFoundError as error:
                raise SourceMisconfigured(f"Mastodon has no such endpoint or tag: {_short(error)}") from None
            except (MastodonServerError, MastodonNetworkError, MastodonAPIError) as error:
                if isinstance(error, MastodonAPIError) and not isinstance(error, MastodonServerError):
                    if "Could not parse response as JSON" not in str(error):
                        raise SourceMisconfigured(f"Mastodon rejected the request: {_short(error)}") from None
                    bad_bodies.append(QuarantinedItem(f"Mastodon answered a body that is not JSON: {_short(error)}",
                                                      ""))
                if attempt >= MAX_RETRIES:
                    raise SourceUnavailable(f"Mastodon failed {attempt + 1} times: {_short(error)}") from None
                delay = RETRY_BACKOFF_SECONDS * (2**attempt)
                log.warning("%s: %s; retrying in %.1fs", self.spec.name, _short(error), delay)
                time.sleep(delay)
                attempt += 1

    def _start_stream(self, client: Mastodon, listener: streaming.QueueListener) -> Any:
        raise NotImplementedError

    def _wanted(self, event: str, item: dict[str, Any]) -> bool:
        """Whether a streamed event (``update``, ``notification``...) is one this source stores."""
        raise NotImplementedError

    def check(self, cursor: dict[str, Any]) -> Iterator[Page]:
        window = min(self.max_stream_seconds, self.spec.interval_seconds - self.stream_gap_seconds)
        if not (self.section.streaming and self.live()) or window <= 0:
            yield from self._poll(cursor)
            return
        yield from self._stream_and_poll(cursor, time.monotonic() + window)

    def _stream_and_poll(self, cursor: dict[str, Any], until: float) -> Iterator[Page]:
        """Open the stream, poll, read the stream until ``until``; after a drop back off and do it again."""
        # Its own client: the stream's thread and this one's polling do not share a requests session.
        stream_client = make_mastodon_client(self.section)
        state = dict(cursor)
        drops = 0
        streamed = False
        while True:
            stream = streaming.open_stream(lambda listener: self._start_stream(stream_client, listener),
                                           self.spec.name, until, self.live)
            try:
                for page in self._poll(state):
                    state = page.cursor
                    yield page
                if stream is None and not streamed:
                    return  # polled; the stream never opened this run: the next run tries it again
                if stream is not None:
                    streamed = True
                    yield from streaming.stream_pages(stream, state, until, self.live, self._wanted, self._read,
                                                      _plain, self.kind)
            finally:
                if stream is not None:
                    stream.close()
            if time.monotonic() >= until or not self.live():
                return
            # A stream that dropped, or that would not reopen after a drop (the instance restarting): back off,
            # then reopen and poll again, while the window lasts.
            healthy = stream is not None and time.monotonic() - stream.opened_at >= streaming.HEALTHY_STREAM_SECONDS
            drops = 0 if healthy else drops + 1
            delay = min(streaming.MAX_BACKOFF_SECONDS, streaming.BACKOFF_SECONDS * 2 ** (drops - 1 if drops else 0))
            if time.monotonic() + delay >= until:
                return  # the next run polls what the stream missed
            log.warning("%s: the stream dropped; reopening in %.1fs, then polling for what it missed",
                        self.spec.name, delay)
            streaming.pause(delay, self.live)

    def _poll(self, cursor: dict[str, Any]) -> Iterator[Page]:
        bad_bodies: list[QuarantinedItem] = []
        min_id = str(cursor.get("min_id") or "0")  # "0": from the oldest the server still lists
        for _ in range(MAX_PAGES_PER_RUN):
            try:
                items = self._call(lambda m=min_id: self._fetch(m), bad_bodies)
            except SourceUnavailable:
                if bad_bodies:
                    yield Page(quarantined=bad_bodies, cursor={"min_id": min_id})
                raise
            if not isinstance(items, list):
                yield Page(quarantined=[*bad_bodies, QuarantinedItem("page is not a list", json.dumps(_plain(items)))],
                           cursor={"min_id": min_id})
                raise SourceUnavailable("Mastodon sent a page that is not a list")
            mentions: list[CollectedMention] = []
            quarantined = list(bad_bodies)
            bad_bodies = []
            for item in items:
                plain = _plain(item)
                item_id = str(plain.get("id", "")) if isinstance(plain, dict) else ""
                if item_id.isdigit() and int(item_id) > int(min_id):
                    min_id = item_id
                try:
                    mentions.append(self._read(plain))
                except (UnreadableStatus, ValueError, TypeError, KeyError) as error:
                    quarantined.append(QuarantinedItem(f"{self.kind}: {error}", json.dumps(plain)))
            yield Page(mentions=mentions, quarantined=quarantined, cursor={"min_id": min_id})
            if len(items) < PAGE_SIZE:
                return


class MastodonMentionsCollector(MastodonCollector):
    """Statuses that mention the brand account (``/api/v1/notifications?types[]=mention``)."""

    kind: ClassVar[str] = "mastodon_mentions"
    description: ClassVar[str] = "Collects Mastodon statuses that mention the brand account."

    @classmethod
    def specs(cls, section: MastodonSettings) -> list[SourceSpec]:
        if not section.enabled or not section.api_base_url:
            return []
        return [SourceSpec(name="mastodon:mentions", kind=cls.kind, platform=PLATFORM,
                           interval_seconds=section.interval_seconds)]

    def _fetch(self, min_id: str) -> list[Any]:
        return self.client.notifications(types=["mention"], min_id=min_id, limit=PAGE_SIZE)  # type: ignore[no-any-return]

    def _read(self, item: Any) -> CollectedMention:
        return notification_to_mention(item)

    def _start_stream(self, client: Mastodon, listener: streaming.QueueListener) -> Any:
        return client.stream_user(listener, run_async=True, reconnect_async=False,
                                  reconnect_async_wait_sec=streaming.RECONNECT_WAIT_SECONDS,
                                  timeout=streaming.READ_TIMEOUT_SECONDS)

    def _wanted(self, event: str, item: dict[str, Any]) -> bool:
        # The user stream also carries the brand's home timeline: only mentions are this source's.
        return event == "notification" and item.get("type") == "mention"


class MastodonHashtagCollector(MastodonCollector):
    """Public statuses with one configured hashtag (``/api/v1/timelines/tag/:tag``)."""

    kind: ClassVar[str] = "mastodon_hashtag"
    description: ClassVar[str] = "Collects public Mastodon statuses with a configured hashtag."
    fields: ClassVar[tuple[SourceField, ...]] = (SourceField("hashtag", "Hashtag", prefix="#", hint="without the #"),)

    @classmethod
    def specs(cls, section: MastodonSettings) -> list[SourceSpec]:
        if not section.enabled or not section.api_base_url:
            return []
        return [SourceSpec(name=f"mastodon:hashtag:{tag}", kind=cls.kind, platform=PLATFORM,
                           interval_seconds=section.interval_seconds, options={"hashtag": tag})
                for tag in section.hashtags]

    def _fetch(self, min_id: str) -> list[Any]:
        return self.client.timeline_hashtag(  # type: ignore[no-any-return]
            self.spec.options["hashtag"], min_id=min_id, limit=PAGE_SIZE)

    def _read(self, item: Any) -> CollectedMention:
        return status_to_mention(item)

    def _start_stream(self, client: Mastodon, listener: streaming.QueueListener) -> Any:
        return client.stream_hashtag(self.spec.options["hashtag"], listener, run_async=True, reconnect_async=False,
                                     reconnect_async_wait_sec=streaming.RECONNECT_WAIT_SECONDS,
                                     timeout=streaming.READ_TIMEOUT_SECONDS)

    def _wanted(self, event: str, item: dict[str, Any]) -> bool:
        return event == "update"


