"""X (formerly Twitter): brand mentions and recent search through tweepy, replies as the brand account."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from listener.platforms.base import Platform
from listener.platforms.x.settings import XSettings
from listener.platforms.x.text import HANDLE_PATTERN, X_MAX_WEIGHTED_LENGTH, profile_handles, x_weighted_length

if TYPE_CHECKING:  # these import tweepy: loaded when first asked for (listener/platforms/base.py)
    from listener.platforms.collector import Collector
    from listener.platforms.publisher import Publisher
    from listener.platforms.x.simulator import XSimulator
    from listener.simulators.corpus import CorpusItem

DEMO_HANDLE = "lumenmobile"
DEMO_QUERIES = ['"lumen mobile" -is:retweet']


class XPlatform(Platform):
    name: ClassVar[str] = "x"
    title: ClassVar[str] = "X"
    section = XSettings
    mention_kinds: ClassVar[tuple[str, ...]] = ("tweet",)
    reply_limit: ClassVar[int] = X_MAX_WEIGHTED_LENGTH
    length_unit: ClassVar[str] = "weighted characters"
    handle_pattern = HANDLE_PATTERN
    crm_column: ClassVar[str] = "x_handle"
    # tweepy logs request headers (the bearer token) at DEBUG.
    noisy_loggers: ClassVar[tuple[str, ...]] = ("tweepy",)

    @property
    def collectors(self) -> tuple[type[Collector], ...]:
        from listener.platforms.x.collectors import XMentionsCollector, XSearchCollector

        return (XMentionsCollector, XSearchCollector)

    def own_handle(self, section: XSettings) -> str | None:
        return section.brand_username.lstrip("@").lower() or None

    def reply_length(self, text: str) -> int:
        return x_weighted_length(text)

    def profile_handles(self, text: str) -> list[str]:
        return profile_handles(text)

    def is_repost(self, text: str, raw: dict[str, Any]) -> bool:
        """A retweet: old-style ``RT @`` text, or a tweet that references a ``retweeted`` one."""
        if text.startswith("RT @"):
            return True
        references = raw.get("referenced_tweets")
        return isinstance(references, list) and any(
            isinstance(ref, dict) and ref.get("type") == "retweeted" for ref in references
        )

    def publisher(self, section: XSettings, lookup_pages: int) -> Publisher:
        from listener.platforms.x.publisher import XPublisher

        return XPublisher(section, lookup_pages=lookup_pages)

    @contextlib.contextmanager
    def simulator(self, corpus: Sequence[CorpusItem]) -> Iterator[XSimulator]:
        from listener.platforms.x.simulator import XSimulator

        with XSimulator(corpus_items=corpus, brand_username=DEMO_HANDLE) as simulator:
            yield simulator

    def demo_settings(self, simulator: XSimulator) -> dict[str, Any]:
        return {
            "enabled": True,
            "api_base_url": simulator.base_url,
            "bearer_token": simulator.bearer_token,
            "consumer_key": "demo-consumer-key",
            "consumer_secret": "demo-consumer-secret",
            "access_token": "demo-access-token",
            "access_token_secret": "demo-access-secret",
            "brand_username": DEMO_HANDLE,
            "search_queries": DEMO_QUERIES,
            "retry_backoff_seconds": 0.2,
        }


PLATFORM = XPlatform()
