"""The demo corpus: realistic brand mentions that seed the simulators.

The file stores absolute ``created_at`` times together with the ``anchor`` moment they
were written against.  Simulators keep each item's *age* (anchor minus created_at) and
re-date it from the moment they start, so that a corpus written once still looks
fresh: X's recent search (last seven days) finds the recent half, and a digest over
"the last 14 days" sees the whole of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from listener.simulators.errors import CorpusError

__all__ = ["DEMO_CORPUS_PATH", "CorpusItem", "load_corpus", "parse_utc"]

DEMO_CORPUS_PATH = Path(__file__).parent / "data" / "demo_corpus.json"

Platform = Literal["x", "reddit"]
Kind = Literal["tweet", "comment", "post"]

_KINDS: dict[str, tuple[str, ...]] = {"x": ("tweet",), "reddit": ("comment", "post")}


@dataclass(frozen=True)
class CorpusItem:
    """One mention as a simulator will publish it.

    ``text`` is the tweet text, the comment body or the post's selftext; ``title`` is
    set for posts only; ``subreddit`` for Reddit only.  ``followers`` and ``karma``
    describe the author's reach.  ``intended_sentiment`` is what the writer meant
    (negative / neutral / positive / mixed): a hint for demos, not a gold label.
    """

    platform: Platform
    kind: Kind
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


def load_corpus(path: str | Path = DEMO_CORPUS_PATH) -> list[CorpusItem]:
    """Read and validate a corpus file; raise :class:`CorpusError` naming a bad item."""
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
    return [_item(index, raw, anchor) for index, raw in enumerate(document["items"])]


def _item(index: int, raw: Any, anchor: datetime) -> CorpusItem:
    def fail(problem: str) -> CorpusError:
        return CorpusError(f"corpus item {index}: {problem}")

    if not isinstance(raw, dict):
        raise fail("must be an object")
    platform = raw.get("platform")
    if platform not in _KINDS:
        raise fail(f"platform must be 'x' or 'reddit', not {platform!r}")
    kind = raw.get("kind")
    if kind not in _KINDS[platform]:
        raise fail(f"kind {kind!r} is not one of {_KINDS[platform]} for platform {platform!r}")
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
    if platform == "reddit" and (not isinstance(subreddit, str) or not subreddit):
        raise fail("a Reddit item needs a 'subreddit'")
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
