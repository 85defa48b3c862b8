"""Mastodon: mentions from notifications, hashtag timelines, replies as statuses (through ``Mastodon.py``)."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from listener.platforms.base import Platform
from listener.platforms.mastodon.settings import MastodonSettings
from listener.platforms.mastodon.text import (
    DEFAULT_MAX_CHARACTERS,
    PROFILE_URL_PATTERN,
    instance_limit,
    status_length,
)
from listener.simulators.corpus import CorpusItem, load_corpus

if TYPE_CHECKING:  # these import Mastodon.py: loaded when first asked for (listener/platforms/base.py)
    from listener.platforms.collector import Collector
    from listener.platforms.mastodon.simulator import MastodonSimulator
    from listener.platforms.publisher import Publisher

DEMO_TOKEN = "sim-mastodon-token"
DEMO_CORPUS_PART = Path(__file__).parent / "demo" / "corpus.json"
DEMO_HASHTAGS = ["LumenMobile"]
LIMIT_LOOKUP_TIMEOUT_SECONDS = 5.0
LIMIT_RETRY_SECONDS = 60.0
"""After an instance could not be asked its limit, 500 is used for this long before asking again."""

log = logging.getLogger(__name__)


class MastodonPlatform(Platform):
    name: ClassVar[str] = "mastodon"
    title: ClassVar[str] = "Mastodon"
    section = MastodonSettings
    mention_kinds: ClassVar[tuple[str, ...]] = ("status", "reply")
    # The instance's own limit applies when posting (the publisher reads it); 500 is what most
    # instances allow and what Mastodon assumes when an instance does not say.
    reply_limit: ClassVar[int] = DEFAULT_MAX_CHARACTERS
    handle_pattern = re.compile(r"^[A-Za-z0-9_]{1,30}@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
    crm_column: ClassVar[str] = "mastodon_handle"
    noisy_loggers: ClassVar[tuple[str, ...]] = ("mastodon",)

    def __init__(self) -> None:
        # api_base_url -> (limit, monotonic time until which it holds); an instance's limit is a server
        # setting that practically never changes, so it is read once per process.
        self._limits: dict[str, tuple[int, float]] = {}
        self._limits_lock = threading.Lock()

    def limit_for(self, section: MastodonSettings) -> int:
        """The brand's instance's own limit (``configuration.statuses.max_characters``), read once and cached;
        500 when the instance does not say, and (for a minute, then asked again) when it cannot be reached."""
        if not section.api_base_url:
            return self.reply_limit
        from listener.platforms.mastodon.client import make_mastodon_client
        from listener.platforms.mastodon.collectors import _plain

        with self._limits_lock:
            known = self._limits.get(section.api_base_url)
        if known is not None and known[1] > time.monotonic():
            return known[0]
        try:
            instance = _plain(make_mastodon_client(section, timeout=LIMIT_LOOKUP_TIMEOUT_SECONDS).instance_v2())
            limit, holds_until = instance_limit(instance), float("inf")
        except Exception as error:  # unreachable, refused, not JSON: the common floor, and ask again later
            log.warning("could not read the Mastodon instance's status limit (%s); using %d", error,
                        DEFAULT_MAX_CHARACTERS)
            limit, holds_until = DEFAULT_MAX_CHARACTERS, time.monotonic() + LIMIT_RETRY_SECONDS
        with self._limits_lock:
            self._limits[section.api_base_url] = (limit, holds_until)
        return limit

    @property
    def collectors(self) -> tuple[type[Collector], ...]:
        from listener.platforms.mastodon.collectors import MastodonHashtagCollector, MastodonMentionsCollector

        return (MastodonMentionsCollector, MastodonHashtagCollector)

    def own_handle(self, section: MastodonSettings) -> str | None:
        return None  # the brand is whoever the access token belongs to: asked of the server, not configured

    def reply_length(self, text: str) -> int:
        return status_length(text)

    def normalise_handle(self, handle: str) -> str:
        return super().normalise_handle(handle).lower()

    def profile_handles(self, text: str) -> list[str]:
        return [f"{match.group(2).lower()}@{match.group(1).lower()}" for match in PROFILE_URL_PATTERN.finditer(text)]

    def is_repost(self, text: str, raw: dict[str, Any]) -> bool:
        return isinstance(raw.get("reblog"), dict)

    def publisher(self, section: MastodonSettings, lookup_pages: int) -> Publisher:
        from listener.platforms.mastodon.publisher import MastodonPublisher

        return MastodonPublisher(section, lookup_pages=lookup_pages)

    @contextlib.contextmanager
    def simulator(self, corpus: Sequence[CorpusItem]) -> Iterator[MastodonSimulator]:
        from listener.platforms.mastodon.simulator import MastodonSimulator

        part = load_corpus(DEMO_CORPUS_PART, kinds={self.name: self.mention_kinds})
        with MastodonSimulator(corpus_items=[*corpus, *part], access_token=DEMO_TOKEN) as simulator:
            yield simulator

    def demo_settings(self, simulator: MastodonSimulator) -> dict[str, Any]:
        return {
            "enabled": True,
            "api_base_url": simulator.base_url,
            "access_token": simulator.access_token,
            "hashtags": DEMO_HASHTAGS,
        }


PLATFORM = MastodonPlatform()
