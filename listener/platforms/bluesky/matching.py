"""Matching Jetstream posts against the configured keywords and hashtags, fast enough for the whole network.

Bluesky's firehose carries hundreds of posts a second; a matcher that tries each
keyword in turn costs (keywords x text length) per post.  This one splits a post's
text into lower-case words once and looks each word (and each run of up to the
longest keyword's word count) up in a set: the cost is the text's length, however
many keywords there are.  A keyword matches whole words only (``lumen`` does not
match ``illumination``), case-insensitively; a phrase matches the same words in a
row.  A hashtag matches a ``#tag`` facet or a ``#tag`` written in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["KeywordMatcher"]

# Letters and digits; an apostrophe ends a word, so "Lumen Mobile's" contains the phrase "lumen mobile".
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_HASHTAG = re.compile(r"(?<![\w#&])#([^\W\d_][\w]{0,63})", re.UNICODE)


class KeywordMatcher:
    """Which of the configured keywords and hashtags a post matches."""

    def __init__(self, keywords: Iterable[str], hashtags: Iterable[str]) -> None:
        self.phrases: dict[tuple[str, ...], str] = {}
        for keyword in keywords:
            words = tuple(word.casefold() for word in _WORD.findall(keyword))
            if words:
                self.phrases.setdefault(words, keyword)
        self.longest = max((len(words) for words in self.phrases), default=0)
        self.hashtags = {tag.lstrip("#").casefold(): tag.lstrip("#") for tag in hashtags if tag.lstrip("#")}
        self._first_words = {words[0] for words in self.phrases}

    def __bool__(self) -> bool:
        return bool(self.phrases or self.hashtags)

    def matches(self, record: Mapping[str, Any]) -> list[str]:
        """The keywords (as configured) and ``#hashtags`` that the post record matches, in that order."""
        text = record.get("text")
        if not isinstance(text, str):
            return []
        found: list[str] = []
        if self.phrases:
            words = [word.casefold() for word in _WORD.findall(text)]
            for index, word in enumerate(words):
                if word not in self._first_words:
                    continue  # most words start no keyword: one set look-up and on
                for length in range(1, min(self.longest, len(words) - index) + 1):
                    keyword = self.phrases.get(tuple(words[index:index + length]))
                    if keyword is not None and keyword not in found:
                        found.append(keyword)
        if self.hashtags:
            tags = {match.casefold() for match in _HASHTAG.findall(text)}
            for facet in record.get("facets") or ():
                for feature in facet.get("features", ()) if isinstance(facet, Mapping) else ():
                    if isinstance(feature, Mapping) and isinstance(feature.get("tag"), str):
                        tags.add(feature["tag"].casefold())
            for tag in sorted(tags & self.hashtags.keys()):
                found.append("#" + self.hashtags[tag])
        return found
