"""Reddit: inbox mentions, keyword posts and comments, the brand's own subreddits through praw; replies as the
brand's account."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from listener.platforms.base import Platform
from listener.platforms.reddit.settings import RedditSettings

if TYPE_CHECKING:  # these import praw: loaded when first asked for (listener/platforms/base.py)
    from listener.platforms.collector import Collector
    from listener.platforms.publisher import Publisher
    from listener.platforms.reddit.simulator import RedditSimulator
    from listener.simulators.corpus import CorpusItem

# Reddit limits a comment to 10,000 characters.
MAX_COMMENT_LENGTH = 10_000
HANDLE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,20}$")
PROFILE_URL = re.compile(r"(?:reddit\.com)?(?<![\w-])/?u(?:ser)?/([A-Za-z0-9_-]{3,20})(?![A-Za-z0-9_-])", re.I)

DEMO_ACCOUNT = "lumenmobile_support"
DEMO_SUBREDDITS = ["cellphones"]
DEMO_OWN_SUBREDDITS = ["LumenMobile"]
DEMO_KEYWORDS = ["lumen mobile", "lumenmobile"]


class RedditPlatform(Platform):
    name: ClassVar[str] = "reddit"
    title: ClassVar[str] = "Reddit"
    section = RedditSettings
    mention_kinds: ClassVar[tuple[str, ...]] = ("comment", "post")
    reply_limit: ClassVar[int] = MAX_COMMENT_LENGTH
    handle_prefix: ClassVar[str] = "u/"
    handle_pattern = HANDLE_PATTERN
    crm_column: ClassVar[str] = "reddit_username"
    # prawcore logs request data (the password grant) at DEBUG.
    noisy_loggers: ClassVar[tuple[str, ...]] = ("prawcore", "praw")

    @property
    def collectors(self) -> tuple[type[Collector], ...]:
        from listener.platforms.reddit.collectors import (
            RedditInboxMentionsCollector,
            RedditKeywordCommentsCollector,
            RedditSearchPostsCollector,
            RedditSubredditPostsCollector,
        )

        return (
            RedditInboxMentionsCollector,
            RedditSearchPostsCollector,
            RedditSubredditPostsCollector,
            RedditKeywordCommentsCollector,
        )

    def own_handle(self, section: RedditSettings) -> str | None:
        return section.username.lower() or None

    def profile_handles(self, text: str) -> list[str]:
        return PROFILE_URL.findall(text)

    def publisher(self, section: RedditSettings, lookup_pages: int) -> Publisher:
        from listener.platforms.reddit.publisher import RedditPublisher

        return RedditPublisher(section, lookup_pages=lookup_pages)

    @contextlib.contextmanager
    def simulator(self, corpus: Sequence[CorpusItem]) -> Iterator[RedditSimulator]:
        from listener.platforms.reddit.simulator import RedditSimulator

        with RedditSimulator(corpus_items=corpus, username=DEMO_ACCOUNT) as simulator:
            yield simulator

    def demo_settings(self, simulator: RedditSimulator) -> dict[str, Any]:
        return {
            "enabled": True,
            "oauth_url": simulator.base_url,
            "reddit_url": simulator.base_url,
            "short_url": simulator.base_url,
            "client_id": simulator.client_id,
            "client_secret": simulator.client_secret,
            "username": DEMO_ACCOUNT,
            "password": simulator.password,
            "subreddits": DEMO_SUBREDDITS,
            "own_subreddits": DEMO_OWN_SUBREDDITS,
            "keywords": DEMO_KEYWORDS,
        }


PLATFORM = RedditPlatform()
