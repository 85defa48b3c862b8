"""Collectors: one class per kind of source. Adding a platform is adding a module here."""

from listener.collectors.base import Collector, SourceSpec
from listener.collectors.reddit import (
    RedditInboxMentionsCollector,
    RedditKeywordCommentsCollector,
    RedditSearchPostsCollector,
    RedditSubredditPostsCollector,
)
from listener.collectors.x import XMentionsCollector, XSearchCollector
from listener.settings import Settings

COLLECTORS: dict[str, type[Collector]] = {
    cls.kind: cls
    for cls in (
        XMentionsCollector,
        XSearchCollector,
        RedditInboxMentionsCollector,
        RedditSearchPostsCollector,
        RedditSubredditPostsCollector,
        RedditKeywordCommentsCollector,
    )
}


def configured_sources(settings: Settings) -> list[SourceSpec]:
    """Every source the settings ask for, across all collector kinds."""
    return [spec for cls in COLLECTORS.values() for spec in cls.specs(settings)]


__all__ = ["COLLECTORS", "Collector", "SourceSpec", "configured_sources"]
