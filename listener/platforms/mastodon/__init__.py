"""Mastodon: mentions from notifications, hashtag timelines, replies as statuses (through ``Mastodon.py``)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from listener.platforms.base import Platform
from listener.platforms.mastodon.collectors import MastodonHashtagCollector, MastodonMentionsCollector
from listener.platforms.mastodon.publisher import MastodonPublisher
from listener.platforms.mastodon.settings import MastodonSettings
from listener.platforms.mastodon.simulator import MastodonSimulator
from listener.platforms.mastodon.text import DEFAULT_MAX_CHARACTERS, PROFILE_URL_PATTERN, status_length
from listener.platforms.publisher import Publisher
from listener.simulators.corpus import CorpusItem, load_corpus

DEMO_TOKEN = "sim-mastodon-token"
DEMO_CORPUS_PART = Path(__file__).parent / "demo" / "corpus.json"
DEMO_HASHTAGS = ["LumenMobile"]


class MastodonPlatform(Platform):
    name: ClassVar[str] = "mastodon"
    title: ClassVar[str] = "Mastodon"
    section = MastodonSettings
    collectors = (MastodonMentionsCollector, MastodonHashtagCollector)
    mention_kinds: ClassVar[tuple[str, ...]] = ("status", "reply")
    # The instance's own limit applies when posting (the publisher reads it); 500 is what most
    # instances allow and what Mastodon assumes when an instance does not say.
    reply_limit: ClassVar[int] = DEFAULT_MAX_CHARACTERS
    handle_pattern = re.compile(r"^[A-Za-z0-9_]{1,30}@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
    crm_column: ClassVar[str] = "mastodon_handle"
    noisy_loggers: ClassVar[tuple[str, ...]] = ("mastodon",)

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
        return MastodonPublisher(section, lookup_pages=lookup_pages)

    @contextlib.contextmanager
    def simulator(self, corpus: Sequence[CorpusItem]) -> Iterator[MastodonSimulator]:
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
