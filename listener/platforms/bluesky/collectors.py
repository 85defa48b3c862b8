"""Bluesky's collectors: the brand's notifications (mentions, replies, quotes) and Jetstream keyword listening.

``bluesky:notifications`` pages ``app.bsky.notification.listNotifications`` newest
first, from the newest notification the last complete walk stored (the ``since``
cursor) and, while a walk is under way, from the page cursor it reached (``pending``),
exactly like the X collectors: a walk cut short resumes where it stopped, and
``since`` only moves once the walk has reached what was stored before.

``bluesky:jetstream`` reads Bluesky's public event stream through the SDK's
``JetstreamClient`` from the stored ``seq`` (the server replays from it), matches each
new post against the keywords and hashtags locally, and stores the cursor with every
page, so a restart (even after kill -9) resumes where it stopped: no post is lost and
a post delivered twice is stored once (by AT-URI).  The SDK reconnects (with back-off)
when the socket drops mid-run.

Under the scheduler (``Collector.live``) it is a long-running source: a run keeps the
stream open until ``live_gap_seconds`` before the next run is due, so a matching post
is stored seconds after it is made, not up to ``interval_seconds`` later; the next run
(which the scheduler starts on time, and so restarts the consumer if the last one
died) resumes from the stored ``seq``, and the server replays what was sent in between.
The consumer thus lives inside scheduled runs rather than beside the scheduler: the
scheduler's own job, lock and back-off stay the one mechanism that runs, restarts and
pauses every source, and a shutdown ends the run within ``idle_seconds``.
A one-off run (``collect --once``) reads until the stream has been idle for
``idle_seconds`` (it has caught up) or ``max_run_seconds`` passed.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from atproto import JetstreamClient
from atproto_client import exceptions as sdk_errors

from listener.platforms.bluesky.client import BlueskyClient, make_bluesky_client
from listener.platforms.bluesky.matching import KeywordMatcher
from listener.platforms.bluesky.payloads import (
    PLATFORM,
    POST_COLLECTION,
    UnreadablePost,
    commit_to_mention,
    parse_bluesky_time,
    post_to_mention,
)
from listener.platforms.bluesky.settings import BlueskySettings
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

log = logging.getLogger(__name__)

NOTIFICATION_REASONS = ("mention", "reply", "quote")
PAGE_SIZE = 50
MAX_PAGES_PER_RUN = 20
MAX_RETRIES = 3
RETRY_BACKOFF_SECONDS = 0.5


def _rate_limit_reset(error: sdk_errors.RequestErrorBase) -> datetime:
    headers = getattr(error.response, "headers", None) or {}
    value = {key.lower(): value for key, value in headers.items()}.get("ratelimit-reset")
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError):
        return datetime.fromtimestamp(time.time() + 60, UTC)


def call_bluesky(request: Callable[[], Any], source: str, on_bad_body: Callable[[str], None]) -> Any:
    """Run one XRPC call, retrying 5xx, timeouts and unreadable bodies; map the rest to collector errors."""
    attempt = 0
    while True:
        try:
            return request()
        except sdk_errors.RateLimitExceededError as error:
            raise RateLimited(_rate_limit_reset(error), "Bluesky answered 429") from None
        except sdk_errors.UnauthorizedError as error:
            raise SourceMisconfigured(f"Bluesky refused the handle or app password: {_short(error)}") from None
        except sdk_errors.BadRequestError as error:
            raise SourceMisconfigured(f"Bluesky rejected the request: {_short(error)}") from None
        except (sdk_errors.NetworkError, sdk_errors.RequestException, httpx.HTTPError, ValueError) as error:
            if isinstance(error, ValueError) and not isinstance(error, sdk_errors.AtProtocolError):
                on_bad_body(f"Bluesky answered a body that is not JSON: {error}")
            if attempt >= MAX_RETRIES:
                raise SourceUnavailable(f"Bluesky failed {attempt + 1} times: {_short(error)}") from None
            delay = RETRY_BACKOFF_SECONDS * (2**attempt)
            log.warning("%s: %s; retrying in %.1fs", source, _short(error), delay)
            time.sleep(delay)
            attempt += 1


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    content = getattr(getattr(error, "response", None), "content", None)
    if content is not None and getattr(content, "error", None):
        text = f"{content.error}: {getattr(content, 'message', '') or ''}".strip()
    return text if len(text) < 300 else text[:300] + "..."


def _newer(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if parse_bluesky_time(a) >= parse_bluesky_time(b) else b


class BlueskyNotificationsCollector(Collector):
    """Mentions, replies and quotes of the brand account (``app.bsky.notification.listNotifications``)."""

    kind: ClassVar[str] = "bluesky_notifications"
    platform: ClassVar[str] = PLATFORM
    description: ClassVar[str] = "Collects Bluesky posts that mention, reply to or quote the brand account."
    fields: ClassVar[tuple[SourceField, ...]] = (
        SourceField("handle", "Account", prefix="@", hint="the brand's handle, e.g. yourbrand.bsky.social"),)

    @classmethod
    def specs(cls, section: BlueskySettings) -> list[SourceSpec]:
        if not section.enabled or not section.handle:
            return []
        return [SourceSpec(name="bluesky:notifications", kind=cls.kind, platform=PLATFORM,
                           interval_seconds=section.interval_seconds, options={"handle": section.handle})]

    @classmethod
    def make_client(cls, section: BlueskySettings) -> BlueskyClient:
        return make_bluesky_client(section)

    def check(self, cursor: dict[str, Any]) -> Iterator[Page]:
        client: BlueskyClient = self.client
        bad_bodies: list[QuarantinedItem] = []

        def bad_body(error: str) -> None:
            bad_bodies.append(QuarantinedItem(error=error, raw=""))

        since: str | None = cursor.get("since")
        pending: dict[str, Any] = cursor.get("pending") or {}
        page_cursor: str | None = pending.get("cursor")
        newest: str | None = pending.get("newest")
        since_time = parse_bluesky_time(since) if since else None
        for _ in range(MAX_PAGES_PER_RUN):
            try:
                answer = call_bluesky(
                    lambda c=page_cursor: client.list_notifications(NOTIFICATION_REASONS, PAGE_SIZE, c),
                    self.spec.name, bad_body)
            except SourceUnavailable:
                if bad_bodies:
                    yield Page(quarantined=bad_bodies, cursor=dict(cursor))
                raise
            notifications = answer.get("notifications") if isinstance(answer, dict) else None
            if not isinstance(notifications, list):
                yield Page(quarantined=[*bad_bodies, QuarantinedItem("page has no list of notifications",
                                                                     json.dumps(answer, default=str))],
                           cursor=dict(cursor))
                raise SourceUnavailable("Bluesky sent a page without notifications")
            fresh: list[Any] = []
            reached_stored = False
            for notification in notifications:
                indexed = notification.get("indexedAt") if isinstance(notification, dict) else None
                try:
                    moment = parse_bluesky_time(indexed)
                except ValueError:
                    moment = None
                if since_time is not None and moment is not None and moment < since_time:
                    reached_stored = True  # older than the last walk's newest: all stored already
                    break
                if moment is not None:
                    newest = _newer(newest, indexed)
                fresh.append(notification)
            mentions, quarantined = self._read(fresh, client, bad_body)
            page_cursor = answer.get("cursor") or None
            done = reached_stored or not page_cursor or not notifications
            if done:
                state: dict[str, Any] = {"since": _newer(since, newest)}
            else:
                state = {"since": since, "pending": {"cursor": page_cursor, "newest": newest}}
            yield Page(mentions=mentions, quarantined=[*bad_bodies, *quarantined], cursor=state)
            bad_bodies = []
            cursor = state
            if done:
                return

    def _read(self, notifications: list[Any], client: BlueskyClient,
              bad_body: Callable[[str], None]) -> tuple[list[CollectedMention], list[QuarantinedItem]]:
        dids = [n["author"]["did"] for n in notifications if isinstance(n, dict)
                and isinstance(n.get("author"), dict) and isinstance(n["author"].get("did"), str)]
        try:
            profiles = call_bluesky(lambda: client.get_profiles(dids), self.spec.name, bad_body) if dids else {}
        except SourceUnavailable as error:
            # Reach is a nicety: the notification's own author view still names the author.
            log.warning("%s: profiles unavailable (%s); storing authors without followers", self.spec.name, error)
            profiles = {}
        mentions: list[CollectedMention] = []
        quarantined: list[QuarantinedItem] = []
        for notification in notifications:
            if isinstance(notification, dict) and notification.get("reason") not in NOTIFICATION_REASONS:
                continue
            try:
                mentions.append(post_to_mention(notification, profiles))
            except (UnreadablePost, ValueError, TypeError, KeyError) as error:
                quarantined.append(QuarantinedItem(error=f"notification: {error}",
                                                   raw=json.dumps(notification, default=str)))
        return mentions, quarantined


def _plain_event(message: Any) -> dict[str, Any]:
    if hasattr(message, "model_dump"):
        return message.model_dump(by_alias=True, exclude_none=True)  # type: ignore[no-any-return]
    return dict(message)


class JetstreamReader:
    """Opens ``JetstreamClient`` from a cursor and hands its events over a queue (the client's own thread)."""

    def __init__(self, section: BlueskySettings) -> None:
        self.section = section
        # Jetstream names authors by DID only; with the brand's sign-in their handles and reach are looked up.
        self.profiles: BlueskyClient | None = (
            make_bluesky_client(section) if section.handle and section.app_password.get_secret_value() else None
        )

    def profiles_of(self, dids: list[str]) -> dict[str, dict[str, Any]]:
        if self.profiles is None or not dids:
            return {}
        try:
            return self.profiles.get_profiles(dids)
        except Exception as error:  # reach is a nicety: a DID still names the author
            log.warning("Bluesky profiles unavailable (%s); authors stay DIDs for now", _short(error))
            return {}

    def open(self, cursor: int | None) -> tuple[JetstreamClient, queue.Queue[Any], threading.Thread]:
        params: dict[str, Any] = {"collections": [POST_COLLECTION]}
        if cursor is not None:
            params["cursor"] = cursor
        client = JetstreamClient(params=params, base_uri=self.section.jetstream_url, recv_timeout=30)
        events: queue.Queue[Any] = queue.Queue()
        thread = threading.Thread(target=client.start, args=(events.put,), name="jetstream", daemon=True)
        thread.start()
        return client, events, thread


class BlueskyJetstreamCollector(Collector):
    """Posts anywhere on Bluesky that contain a configured keyword or hashtag (Jetstream)."""

    kind: ClassVar[str] = "bluesky_jetstream"
    platform: ClassVar[str] = PLATFORM
    description: ClassVar[str] = "Collects Bluesky posts that match the keywords or hashtags, from Jetstream."
    fields: ClassVar[tuple[SourceField, ...]] = (
        SourceField("keywords", "Keywords", many=True, required=False, hint="one per line or separated by commas"),
        SourceField("hashtags", "Hashtags", many=True, required=False, prefix="#", hint="without the #"),
    )

    @classmethod
    def read_options(cls, typed: dict[str, Any]) -> dict[str, Any]:
        options = super().read_options(typed)
        if not (options["keywords"] or options["hashtags"]):
            raise ValueError("Keywords and Hashtags are both empty: give at least one keyword or hashtag")
        return options
    idle_seconds: ClassVar[float] = 2.0
    """A run ends once the stream has sent nothing for this long (it has caught up)."""
    max_run_seconds: ClassVar[float] = 50.0
    live_gap_seconds: ClassVar[float] = 5.0
    """A scheduled run ends this long before the next one is due, so the scheduler never finds it running."""
    max_live_seconds: ClassVar[float] = 600.0
    batch_size: ClassVar[int] = 500
    """Events per page: the cursor is stored with each page."""

    @classmethod
    def specs(cls, section: BlueskySettings) -> list[SourceSpec]:
        if not section.enabled or not (section.keywords or section.hashtags):
            return []
        return [SourceSpec(name="bluesky:jetstream", kind=cls.kind, platform=PLATFORM,
                           interval_seconds=section.interval_seconds,
                           options={"keywords": list(section.keywords), "hashtags": list(section.hashtags)})]

    @classmethod
    def make_client(cls, section: BlueskySettings) -> JetstreamReader:
        return JetstreamReader(section)

    def check(self, cursor: dict[str, Any]) -> Iterator[Page]:
        matcher = KeywordMatcher(self.spec.options.get("keywords", ()), self.spec.options.get("hashtags", ()))
        seq = cursor.get("seq")
        # Later runs replay from just after the stored seq (the server replays inclusively). The first
        # run reads the last interval's posts (a microsecond time: Jetstream reads a cursor >= 1e15 as
        # one), not the network's whole retained history.
        start = seq + 1 if isinstance(seq, int) else int((time.time() - self.spec.interval_seconds) * 1_000_000)
        live_window = min(self.max_live_seconds, self.spec.interval_seconds - self.live_gap_seconds)
        live = live_window > 0 and self.live()
        client, events, thread = self.client.open(start)
        started = time.monotonic()
        delivered = 0
        try:
            ever_connected = False
            while time.monotonic() - started < (live_window if live else self.max_run_seconds):
                if live and not self.live():
                    break  # the scheduler is shutting down; the next start resumes from the stored seq
                batch = self._drain(events)
                # The SDK's socket (private, but the only sign): None while it reconnects after a drop.
                connected = getattr(client, "_client", None) is not None
                ever_connected = ever_connected or connected or bool(batch)
                if not batch:
                    if connected and not live:
                        break  # caught up: the stream is idle
                    continue  # live, or reconnecting (with back-off): keep reading within this run
                delivered += len(batch)
                mentions, quarantined, last_seq = self._read(batch, matcher)
                if last_seq is not None:
                    seq = last_seq
                yield Page(mentions=mentions, quarantined=quarantined, cursor={"seq": seq})
        finally:
            client.stop()
            thread.join(timeout=5)
        if not ever_connected:
            raise SourceUnavailable(f"could not connect to Jetstream at {self.client.section.jetstream_url}")
        log.debug("%s: %d events read, cursor at %s", self.spec.name, delivered, seq)

    def _drain(self, events: queue.Queue[Any]) -> list[Any]:
        batch: list[Any] = []
        try:
            batch.append(events.get(timeout=self.idle_seconds))
            while len(batch) < self.batch_size:
                batch.append(events.get_nowait())
        except queue.Empty:
            pass
        return batch

    def _read(self, batch: list[Any], matcher: KeywordMatcher
              ) -> tuple[list[CollectedMention], list[QuarantinedItem], int | None]:
        mentions: list[CollectedMention] = []
        quarantined: list[QuarantinedItem] = []
        matched: list[dict[str, Any]] = []
        last_seq: int | None = None
        for message in batch:
            # Read the few fields matching needs straight off the SDK's model; only a match is worth
            # turning into a dict (model_dump costs more than decoding and matching together).
            seq = getattr(message, "seq", None)
            if isinstance(seq, int):
                last_seq = seq
            collection, operation = getattr(message, "collection", None), getattr(message, "operation", None)
            if collection != POST_COLLECTION or operation != "create":
                continue
            record = getattr(message, "record", None)
            text = record.get("text") if isinstance(record, Mapping) else getattr(record, "text", None)
            if not isinstance(text, str):
                quarantined.append(QuarantinedItem("jetstream: the post record has no text",
                                                   json.dumps(_plain_event(message), default=str)))
                continue
            # A hashtag facet always covers its "#tag" in the text, so the text alone decides.
            if not matcher.matches({"text": text}):
                continue
            event = _plain_event(message)
            matched.append(event)
        profiles = self.client.profiles_of([event["did"] for event in matched if isinstance(event.get("did"), str)])
        for event in matched:
            try:
                mentions.append(commit_to_mention(event, profiles))
            except (UnreadablePost, ValueError, TypeError, KeyError) as error:
                quarantined.append(QuarantinedItem(f"jetstream: {error}", json.dumps(event, default=str)))
        return mentions, quarantined, last_seq
