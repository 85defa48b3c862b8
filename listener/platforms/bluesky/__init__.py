"""Bluesky: mentions from notifications, keywords from Jetstream, replies as posts (through ``atproto``)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from listener.platforms.base import Platform, ReplyTooLong
from listener.platforms.bluesky.settings import BlueskySettings
from listener.platforms.bluesky.text import MAX_POST_BYTES, MAX_POST_GRAPHEMES, post_length, profile_handles
from listener.simulators.corpus import CorpusItem, parse_utc

if TYPE_CHECKING:  # these import atproto: loaded when first asked for (listener/platforms/base.py)
    from listener.platforms.bluesky.simulator import BlueskySimulator
    from listener.platforms.collector import Collector
    from listener.platforms.publisher import Publisher

DEMO_HANDLE = "lumenmobile.bsky.social"
DEMO_CORPUS_PART = Path(__file__).parent / "demo" / "corpus.json"
DEMO_KEYWORDS = ["lumen mobile"]
DEMO_HASHTAGS = ["LumenMobile"]


def demo_corpus_part(path: Path = DEMO_CORPUS_PART) -> list[CorpusItem]:
    """Bluesky's own part of the demo corpus (read here: the shared loader requires a title of every "post")."""
    document = json.loads(path.read_text(encoding="utf-8"))
    anchor = parse_utc(document["anchor"])
    return [
        CorpusItem(platform=raw["platform"], kind=raw["kind"], author=raw["author"],
                   display_name=raw.get("display_name") or raw["author"], text=raw["text"],
                   created_at=parse_utc(raw["created_at"]), anchor=anchor, followers=raw.get("followers", 0),
                   bio=raw.get("bio", ""), lang=raw.get("lang", "en"))
        for raw in document["items"]
    ]


class BlueskyPlatform(Platform):
    name: ClassVar[str] = "bluesky"
    title: ClassVar[str] = "Bluesky"
    section = BlueskySettings
    mention_kinds: ClassVar[tuple[str, ...]] = ("post", "reply")
    reply_limit: ClassVar[int] = MAX_POST_GRAPHEMES
    length_unit: ClassVar[str] = "graphemes"
    # A handle is a domain name (alice.bsky.social, or the customer's own domain), or a DID when none is known.
    handle_pattern = re.compile(
        r"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z][a-zA-Z0-9-]{0,61}|did:plc:[a-z2-7]{24})$"
    )
    crm_column: ClassVar[str] = "bluesky_handle"
    # httpx logs request lines at DEBUG (and atproto's session headers through it).
    noisy_loggers: ClassVar[tuple[str, ...]] = ("httpx", "httpcore", "websockets")

    @property
    def collectors(self) -> tuple[type[Collector], ...]:
        from listener.platforms.bluesky.collectors import BlueskyJetstreamCollector, BlueskyNotificationsCollector

        return (BlueskyNotificationsCollector, BlueskyJetstreamCollector)

    def own_handle(self, section: BlueskySettings) -> str | None:
        return section.handle or None

    def reply_length(self, text: str) -> int:
        return post_length(text)

    def fits(self, text: str, limit: int | None = None) -> bool:
        graphemes = MAX_POST_GRAPHEMES if limit is None else limit
        return post_length(text) <= graphemes and len(text.encode("utf-8")) <= MAX_POST_BYTES

    def check_fits(self, text: str, limit: int | None = None) -> None:
        super().check_fits(text, limit)
        size = len(text.encode("utf-8"))
        if size > MAX_POST_BYTES:  # 300 family emoji are 300 graphemes but over 5,000 bytes
            raise ReplyTooLong(self.name, size, MAX_POST_BYTES, "UTF-8 bytes")

    def normalise_handle(self, handle: str) -> str:
        return super().normalise_handle(handle).lower()

    def profile_handles(self, text: str) -> list[str]:
        return profile_handles(text)

    def is_repost(self, text: str, raw: dict[str, Any]) -> bool:
        return False  # a repost is not a post record: Jetstream's post collection and notifications never hold one

    def publisher(self, section: BlueskySettings, lookup_pages: int) -> Publisher:
        from listener.platforms.bluesky.publisher import BlueskyPublisher

        return BlueskyPublisher(section, lookup_pages=lookup_pages)

    @contextlib.contextmanager
    def simulator(self, corpus: Sequence[CorpusItem]) -> Iterator[BlueskySimulator]:
        from listener.platforms.bluesky.simulator import BlueskySimulator

        items = [*corpus, *demo_corpus_part()]
        with BlueskySimulator(corpus_items=items, brand_handle=DEMO_HANDLE) as simulator:
            yield simulator

    def demo_settings(self, simulator: BlueskySimulator) -> dict[str, Any]:
        return {
            "enabled": True,
            "service_url": simulator.base_url,
            "jetstream_url": simulator.jetstream_url,
            "handle": simulator.brand_handle,
            "app_password": simulator.app_password,
            "keywords": DEMO_KEYWORDS,
            "hashtags": DEMO_HASHTAGS,
        }


PLATFORM = BlueskyPlatform()
