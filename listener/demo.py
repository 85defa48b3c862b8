"""``harken demo``: the whole listening pipeline, offline, on the bundled corpus.

It starts the X and Reddit simulators seeded with realistic brand mentions, points
the real tweepy and praw clients at them, collects into a fresh SQLite file,
processes (language, sentiment) and prints what happened.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from listener.settings import Settings, load_settings
from listener.simulators import RedditSimulator, XSimulator, load_corpus

DEMO_BRAND = "Lumen Mobile"
DEMO_X_HANDLE = "lumenmobile"
DEMO_REDDIT_ACCOUNT = "lumenmobile_support"
DEMO_SUBREDDITS = ["cellphones"]
DEMO_OWN_SUBREDDITS = ["LumenMobile"]
DEMO_KEYWORDS = ["lumen mobile", "lumenmobile"]
DEMO_QUERIES = ['"lumen mobile" -is:retweet']


@dataclass
class DemoPlatforms:
    x: XSimulator
    reddit: RedditSimulator


@contextlib.contextmanager
def running_simulators(corpus_path: Path | None = None) -> Iterator[DemoPlatforms]:
    """Both simulators, seeded with the demo corpus, for as long as the block runs."""
    items = load_corpus(corpus_path) if corpus_path else load_corpus()
    with (
        XSimulator(corpus_items=items, brand_username=DEMO_X_HANDLE) as x,
        RedditSimulator(corpus_items=items, username=DEMO_REDDIT_ACCOUNT) as reddit,
    ):
        yield DemoPlatforms(x=x, reddit=reddit)


def demo_settings(platforms: DemoPlatforms, database_url: str, **extra: Any) -> Settings:
    """Settings that point the real clients at the simulators."""
    x, reddit = platforms.x, platforms.reddit
    overrides: dict[str, Any] = {
        "brand": {"name": DEMO_BRAND},
        "database": {"url": database_url},
        "x": {
            "enabled": True,
            "api_base_url": x.base_url,
            "bearer_token": x.bearer_token,
            "consumer_key": "demo-consumer-key",
            "consumer_secret": "demo-consumer-secret",
            "access_token": "demo-access-token",
            "access_token_secret": "demo-access-secret",
            "brand_username": DEMO_X_HANDLE,
            "search_queries": DEMO_QUERIES,
            "retry_backoff_seconds": 0.2,
        },
        "reddit": {
            "enabled": True,
            "oauth_url": reddit.base_url,
            "reddit_url": reddit.base_url,
            "short_url": reddit.base_url,
            "client_id": reddit.client_id,
            "client_secret": reddit.client_secret,
            "username": DEMO_REDDIT_ACCOUNT,
            "password": reddit.password,
            "subreddits": DEMO_SUBREDDITS,
            "own_subreddits": DEMO_OWN_SUBREDDITS,
            "keywords": DEMO_KEYWORDS,
        },
    }
    for section, values in extra.items():
        overrides.setdefault(section, {}).update(values)
    return load_settings(**overrides)
