"""Mastodon streaming (``[mastodon] streaming = true``): new statuses within a second or two, on polling's cursors.

While the scheduler runs a Mastodon source (``Collector.live``), one run is::

    open the stream  ->  poll from the stored cursor  ->  read the stream until the next run is due

The stream is opened *before* the catch-up poll, so a status is either old enough for
the poll to list it or new enough for the open stream to carry it: nothing falls
between the two.  When the stream drops (a restarted streaming server, a proxy timing
out, a read timeout without heartbeats), the run backs off, opens it again and polls
again, which fetches whatever was published while it was down; if it cannot be opened,
the run ends with that poll and the next scheduled run polls as before (polling is the
fallback, and nothing depends on the stream).

**Cursors.**  The cursor is polling's ``min_id`` and only polling moves it.  A streamed
status is stored through the same ``store_page`` path (same dedupe by platform and
external id, same quarantine), in a page whose cursor is the one the last poll stored,
unchanged.  Moving ``min_id`` to a streamed status's id could skip statuses polling
would still fetch: the stream delivers only what happened while it was connected (a
status published during a drop, with a lower id, would be skipped), and a remote status
that federates late gets an id from its own creation time, below ids already streamed.
So the next poll lists the streamed statuses again; they are stored once (the insert
ignores a known external id) and the cursor moves past them then.  The cost is that
page read twice; the gain is that a stream can never make polling lose anything.

Mastodon.py's own ``reconnect_async=True`` is deliberately not used: it reconnects
silently, and statuses published while it was down would never be fetched until the
next poll.  The stream is opened with ``run_async=True, reconnect_async=False``; its
thread ending is how a drop is seen, and every reconnection here is followed by a poll.
"""

from __future__ import annotations

import json
import logging
import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

from mastodon import StreamListener

from listener.platforms.collector import CollectedMention, Page, QuarantinedItem

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10.0
"""How long a stream may take to answer before this run gives up on it and only polls."""
READ_TIMEOUT_SECONDS = 60.0
"""No bytes for this long (Mastodon sends a heartbeat every few seconds) and the stream counts as dropped."""
RECONNECT_WAIT_SECONDS = 1.0
"""Mastodon.py's pause before its own retry of a connection that failed to open."""
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
HEALTHY_STREAM_SECONDS = 60.0
"""A stream that stayed up this long resets the back-off."""
BATCH_SIZE = 40
"""Streamed statuses per page at most (a page is one transaction)."""


class QueueListener(StreamListener):  # type: ignore[misc]
    """Hands every event over a queue to the collector's thread; notes whether the connection failed."""

    def __init__(self) -> None:
        super().__init__()
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.aborted: BaseException | None = None

    def on_update(self, status: Any) -> None:
        self.events.put(("update", status))

    def on_notification(self, notification: Any) -> None:
        self.events.put(("notification", notification))

    def on_abort(self, err: BaseException) -> None:
        self.aborted = err

    def on_unknown_event(self, name: str, unknown_event: Any = None) -> None:
        log.debug("Mastodon stream: ignored event %s", name)


class OpenStream:
    """A Mastodon.py stream handle with its listener; ``None`` from :func:`open_stream` when it did not open."""

    def __init__(self, handle: Any, listener: QueueListener) -> None:
        self.handle, self.listener = handle, listener
        self.opened_at = time.monotonic()

    def alive(self) -> bool:
        return bool(self.handle.is_alive()) and self.listener.aborted is None

    def close(self) -> None:
        self.handle.close()


def pause(seconds: float, live: Callable[[], bool]) -> None:
    """Sleep ``seconds``, waking early when ``live()`` turns False."""
    until = time.monotonic() + seconds
    while live() and time.monotonic() < until:
        time.sleep(min(0.2, max(0.0, until - time.monotonic())))


def open_stream(start: Callable[[QueueListener], Any], name: str, until: float,
                live: Callable[[], bool]) -> OpenStream | None:
    """Start a stream with ``start(listener)`` and wait until the server has answered 200 (from then on every
    new status reaches it); None when it failed or did not answer in time: within CONNECT_TIMEOUT_SECONDS,
    before the monotonic time ``until`` (the run's window) and while ``live()``.

    A stream that answered counts as opened even if it has already dropped again by the time this looks (a
    loaded machine may run this thread only after the stream delivered its events and closed): the caller
    reads out what it delivered and, as after any drop, backs off, reopens it and polls."""
    listener = QueueListener()
    try:
        handle = start(listener)
    except Exception as error:  # e.g. the instance answered the streaming-base lookup with an error
        log.warning("%s: could not open the stream (%s); polling", name, error)
        return None
    # Bounded by the window too: Mastodon.py retries a stream the server refused (a 503 while it restarts) every
    # RECONNECT_WAIT_SECONDS without telling the listener, so a refused stream looks like one that is slow to
    # answer, and waiting for it past ``until`` would make the run overrun into the next scheduled one.
    waited_until = min(time.monotonic() + CONNECT_TIMEOUT_SECONDS, until)
    # Mastodon.py sets ``connection`` once connect_func returned, that is once the server answered 200.
    while (getattr(handle, "connection", None) is None and handle.is_alive() and time.monotonic() < waited_until
           and live()):
        time.sleep(0.02)
    if getattr(handle, "connection", None) is None:
        handle.close()
        log.warning("%s: the stream did not open (%s); polling", name, listener.aborted or "no answer")
        return None
    return OpenStream(handle, listener)


def stream_pages(
    stream: OpenStream,
    cursor: dict[str, Any],
    until: float,
    live: Callable[[], bool],
    wanted: Callable[[str, dict[str, Any]], bool],
    read: Callable[[dict[str, Any]], CollectedMention],
    plain: Callable[[Any], Any],
    kind: str,
) -> Iterator[Page]:
    """Pages of streamed items (``wanted`` ones, ``read`` into mentions) with ``cursor`` unchanged, until the
    monotonic time ``until``, the stream drops (then every item it delivered has been yielded) or ``live()``
    turns False (the scheduler is shutting down)."""
    events = stream.listener.events
    while time.monotonic() < until and live():
        batch: list[tuple[str, Any]] = []
        try:
            batch.append(events.get(timeout=max(0.0, min(0.5, until - time.monotonic()))))
            while len(batch) < BATCH_SIZE:
                batch.append(events.get_nowait())
        except queue.Empty:
            pass
        if batch:
            mentions: list[CollectedMention] = []
            quarantined: list[QuarantinedItem] = []
            for name, payload in batch:
                item = plain(payload)
                if not isinstance(item, dict):
                    quarantined.append(QuarantinedItem(f"{kind}: streamed {name} is not an object", json.dumps(item)))
                    continue
                if not wanted(name, item):
                    continue
                try:
                    mentions.append(read(item))
                except (ValueError, TypeError, KeyError) as error:
                    quarantined.append(QuarantinedItem(f"{kind}: {error}", json.dumps(item)))
            if mentions or quarantined:
                yield Page(mentions=mentions, quarantined=quarantined, cursor=dict(cursor))
        elif not stream.alive() and events.empty():
            return
