"""The demo corpus: realistic brand mentions that seed the simulators.

The file stores absolute ``created_at`` times together with the ``anchor`` moment they
were written against.  Simulators keep each item's *age* (anchor minus created_at) and
re-date it from the moment they start, so that a corpus written once still looks
fresh: X's recent search (last seven days) finds the recent half, and a digest over
"the last 14 days" sees the whole of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from listener.simulators.errors import CorpusError

__all__ = ["DEMO_CORPUS_PATH", "CorpusItem", "load_corpus", "parse_utc"]

# The demo corpus spans the platforms, so it lies beside them (with the script that wrote it).
DEMO_CORPUS_PATH = Path(__file__).resolve().parent.parent / "platforms" / "demo" / "demo_corpus.json"

@dataclass(frozen=True)
class CorpusItem:
    """One mention as a simulator will publish it.

    ``text`` is the tweet text, the comment body or the post's selftext; ``title`` is
    set for posts only; ``subreddit`` for Reddit only.  ``followers`` and ``karma``
    describe the author's reach.  ``intended_sentiment`` is what the writer meant
    (negative / neutral / positive / mixed): a hint for demos, not a gold label.
    """

    platform: str
    kind: str
    author: str
    display_name: str
    text: str
    created_at: datetime
    anchor: datetime
    followers: int = 0
    bio: str = ""
    lang: str = "en"
    title: str | None = None
    subreddit: str | None = None
    karma: int = 0
    tags: tuple[str, ...] = ()
    intended_sentiment: str | None = None

    @property
    def age(self) -> timedelta:
        """How long before the corpus's anchor the item was written."""
        return self.anchor - self.created_at

    def created_relative_to(self, now: datetime) -> datetime:
        """The item's creation time if the corpus's anchor were ``now``."""
        return now - self.age


def parse_utc(value: str) -> datetime:
    """Parse an ISO-8601 time, reading a missing offset (or ``Z``) as UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def load_corpus(
    path: str | Path = DEMO_CORPUS_PATH, kinds: Mapping[str, Sequence[str]] | None = None
) -> list[CorpusItem]:
    """Read and validate a corpus file; raise :class:`CorpusError` naming a bad item.

    ``kinds`` (platform -> its kinds of mention) also checks each item's platform and kind."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CorpusError(f"cannot read the corpus {path}: {exc}") from exc
    except ValueError as exc:
        raise CorpusError(f"the corpus {path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise CorpusError(f"the corpus {path} must be an object with an 'items' list")
    try:
        anchor = parse_utc(str(document["anchor"]))
    except (KeyError, ValueError) as exc:
        raise CorpusError(f"the corpus {path} needs an ISO-8601 'anchor' time") from exc
    return [_item(index, raw, anchor, kinds) for index, raw in enumerate(document["items"])]


def _item(index: int, raw: Any, anchor: datetime, kinds: Mapping[str, Sequence[str]] | None) -> CorpusItem:
    def fail(problem: str) -> CorpusError:
        return CorpusError(f"corpus item {index}: {problem}")

    if not isinstance(raw, dict):
        raise fail("must be an object")
    platform = raw.get("platform")
    kind = raw.get("kind")
    if not isinstance(platform, str) or not isinstance(kind, str):
        raise fail("needs a string 'platform' and 'kind'")
    if kinds is not None:
        if platform not in kinds:
            raise fail(f"platform must be one of {', '.join(kinds)}, not {platform!r}")
        if kind not in kinds[platform]:
            raise fail(f"kind {kind!r} is not one of {tuple(kinds[platform])} for platform {platform!r}")
    for key in ("author", "text", "created_at"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise fail(f"needs a non-empty string {key!r}")
    try:
        created_at = parse_utc(raw["created_at"])
    except ValueError as exc:
        raise fail(f"created_at {raw['created_at']!r} is not an ISO-8601 time") from exc
    if created_at > anchor:
        raise fail("created_at is after the corpus's anchor")
    for key in ("followers", "karma"):
        value = raw.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise fail(f"{key!r} must be a non-negative integer")
    title = raw.get("title")
    subreddit = raw.get("subreddit")
    if kind == "post" and (not isinstance(title, str) or not title):
        raise fail("a post needs a non-empty 'title'")
    if subreddit is not None and (not isinstance(subreddit, str) or not subreddit):
        raise fail("'subreddit' must be a non-empty string")
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise fail("'tags' must be a list of strings")
    return CorpusItem(
        platform=platform,
        kind=kind,
        author=raw["author"],
        display_name=str(raw.get("display_name") or raw["author"]),
        text=raw["text"],
        created_at=created_at,
        anchor=anchor,
        followers=raw.get("followers", 0),
        bio=str(raw.get("bio", "")),
        lang=str(raw.get("lang", "en")),
        title=title,
        subreddit=subreddit,
        karma=raw.get("karma", 0),
        tags=tuple(tags),
        intended_sentiment=raw.get("intended_sentiment"),
    )
