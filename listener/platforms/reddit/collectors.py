"""Reddit collectors, through praw: inbox username mentions, keyword matches in
subreddits (posts through Reddit search, comments from the subreddit's comment
stream, since Reddit's search API does not search comments), and everything new in
the brand's own subreddits.

Listings come newest first and page with ``after``. The committed cursor is the
newest creation time stored; a run walks down from the top until it passes that
time minus ``overlap_seconds`` (search indexes late), storing each page with the
walk in progress (``pending``), so a crash resumes the walk where it stopped.
Items seen twice are stored once. Raw listings come from ``praw.Reddit.request``,
so praw still does the OAuth, token refresh and rate-limit pacing while each item
is validated here and a malformed one is quarantined instead of failing the page.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import praw
import prawcore

from listener.platforms.collector import (
    CollectedAuthor,
    CollectedMention,
    Collector,
    Page,
    QuarantinedItem,
    RateLimited,
    SourceField,
    SourceMisconfigured,
    SourceSpec,
    SourceUnavailable,
)
from listener.platforms.reddit.client import make_reddit_client
from listener.platforms.reddit.settings import RedditSettings

log = logging.getLogger(__name__)

REDDIT_WEB = "https://www.reddit.com"


def thing_to_mention(child: Any) -> CollectedMention:
    """Normalise one listing child (``t1`` comment or ``t3`` post); ValueError if malformed."""
    if not isinstance(child, dict) or not isinstance(child.get("data"), dict):
        raise ValueError("listing child is not {kind, data}")
    kind, data = child.get("kind"), child["data"]
    if kind not in {"t1", "t3"}:
        raise ValueError(f"unexpected kind {kind!r}")
    name = data.get("name")
    if not isinstance(name, str) or not name.startswith(f"{kind}_"):
        raise ValueError(f"{kind} has no valid name (fullname): {name!r}")
    created = data.get("created_utc")
    if not isinstance(created, int | float):
        raise ValueError(f"{name} has no numeric created_utc")
    author_name = data.get("author")
    if not isinstance(author_name, str) or not author_name:
        raise ValueError(f"{name} has no author")
    author_id = data.get("author_fullname") or f"name:{author_name}"
    author = CollectedAuthor(platform="reddit", platform_user_id=str(author_id), handle=author_name)
    link = data.get("permalink") or data.get("context") or ""
    url = REDDIT_WEB + link if isinstance(link, str) and link.startswith("/") else _short_link(kind, name, data)
    if kind == "t1":
        body = data.get("body")
        if not isinstance(body, str):
            raise ValueError(f"{name} has no body")
        return CollectedMention(
            platform="reddit",
            external_id=name,
            kind="comment",
            text=body,
            url=url,
            created_at=datetime.fromtimestamp(created, UTC),
            raw=data,
            author=author,
            in_reply_to_external_id=data.get("parent_id"),
            conversation_external_id=data.get("link_id"),
        )
    title = data.get("title")
    if not isinstance(title, str):
        raise ValueError(f"{name} has no title")
    selftext = data.get("selftext") or ""
    return CollectedMention(
        platform="reddit",
        external_id=name,
        kind="post",
        text=f"{title}\n\n{selftext}" if selftext else title,
        title=title,
        url=url,
        created_at=datetime.fromtimestamp(created, UTC),
        raw=data,
        author=author,
        conversation_external_id=name,
    )


def _short_link(kind: str, name: str, data: dict[str, Any]) -> str:
    """Reddit's own link to the item, built from its ids: a permalink that is not a path on Reddit
    (``javascript:…``, another site) is never kept as the mention's URL."""
    link_id = data.get("link_id")
    if kind == "t1" and isinstance(link_id, str) and link_id.startswith("t3_") and (link_id[3:] + name[3:]).isalnum():
        return f"{REDDIT_WEB}/comments/{link_id[3:]}/_/{name[3:]}"
    return f"{REDDIT_WEB}/comments/{name[3:]}" if kind == "t3" and name[3:].isalnum() else REDDIT_WEB


def _reset_at(response: Any) -> datetime:
    headers = getattr(response, "headers", {}) or {}
    for header in ("x-ratelimit-reset", "retry-after"):
        value = headers.get(header)
        if value:
            try:
                return datetime.fromtimestamp(time.time() + float(value), UTC)
            except ValueError:
                pass
    return datetime.fromtimestamp(time.time() + 60, UTC)


class RedditCollector(Collector):
    """Shared walking, validation and error mapping of the Reddit collectors."""

    platform: ClassVar[str] = "reddit"

    @classmethod
    def make_client(cls, section: RedditSettings) -> praw.Reddit:
        return make_reddit_client(section)

    @classmethod
    def subreddit_spec(cls, section: RedditSettings, what: str, subreddit: str, **options: Any) -> SourceSpec:
        """The source reading ``what`` (posts or comments) of one subreddit."""
        return SourceSpec(name=f"reddit:{what}:{subreddit}", kind=cls.kind, platform="reddit",
                          interval_seconds=section.interval_seconds,
                          options={"subreddit": subreddit, **options})

    def path(self) -> str:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        return {}

    def wanted(self, mention: CollectedMention) -> bool:
        return True

    def _get(self, after: str | None) -> Any:
        params = {**self.params(), "limit": self.section.page_size, "raw_json": 1}
        if after:
            params["after"] = after
        try:
            return self.client.request(method="GET", path=self.path(), params=params)
        except prawcore.TooManyRequests as error:
            raise RateLimited(_reset_at(error.response), "Reddit answered 429") from None
        except (prawcore.OAuthException, prawcore.InvalidToken, prawcore.Forbidden) as error:
            raise SourceMisconfigured(f"Reddit refused the credentials: {error}") from None
        except prawcore.BadJSON as error:
            raise _BadBody(error.response.text) from None
        except (prawcore.ServerError, prawcore.RequestException) as error:
            # prawcore has already retried these with its own back-off.
            raise SourceUnavailable(f"Reddit failed: {error}") from None
        except (prawcore.ResponseException, praw.exceptions.RedditAPIException) as error:
            raise SourceMisconfigured(f"Reddit rejected {self.path()}: {error}") from None

    def check(self, cursor: dict[str, Any]) -> Iterator[Page]:
        overlap = self.section.overlap_seconds
        committed: float | None = cursor.get("newest_created")
        pending: dict[str, Any] = cursor.get("pending") or {}
        after: str | None = pending.get("after")
        run_newest: float | None = pending.get("newest_created")
        stop_before = committed - overlap if committed is not None else None

        for _ in range(self.section.max_pages_per_run):
            try:
                listing = self._get(after)
            except _BadBody as bad:
                yield Page(quarantined=[QuarantinedItem("Reddit answered a body that is not JSON", bad.raw)],
                           cursor=cursor)
                raise SourceUnavailable("Reddit sent a malformed page") from None
            data = listing.get("data") if isinstance(listing, dict) else None
            children = data.get("children") if isinstance(data, dict) else None
            if not isinstance(children, list):
                yield Page(quarantined=[QuarantinedItem("listing has no data.children list", json.dumps(listing))],
                           cursor=cursor)
                raise SourceUnavailable("Reddit sent a malformed listing")

            mentions: list[CollectedMention] = []
            quarantined: list[QuarantinedItem] = []
            reached_committed = False
            for child in children:
                try:
                    mention = thing_to_mention(child)
                except ValueError as error:
                    quarantined.append(QuarantinedItem(f"reddit item: {error}", json.dumps(child)))
                    continue
                created = mention.created_at.timestamp()
                if stop_before is not None and created < stop_before:
                    reached_committed = True
                    continue
                run_newest = created if run_newest is None else max(run_newest, created)
                if self.wanted(mention):
                    mentions.append(mention)

            after = data.get("after") if isinstance(data, dict) else None
            if reached_committed or not after:
                newest = max(v for v in (committed, run_newest) if v is not None) if (
                    committed is not None or run_newest is not None
                ) else None
                cursor = {"newest_created": newest}
                yield Page(mentions=mentions, quarantined=quarantined, cursor=cursor)
                return
            cursor = {"newest_created": committed, "pending": {"after": after, "newest_created": run_newest}}
            yield Page(mentions=mentions, quarantined=quarantined, cursor=cursor)


class _BadBody(Exception):
    def __init__(self, raw: str) -> None:
        super().__init__("body is not JSON")
        self.raw = raw


def _matches(text: str, keywords: list[str]) -> bool:
    lowered = text.lower()
    return any(keyword.lower() in lowered for keyword in keywords)


class RedditInboxMentionsCollector(RedditCollector):
    """Comments that mention u/<account> (the account's inbox, /message/mentions)."""

    kind: ClassVar[str] = "reddit_inbox_mentions"
    description: ClassVar[str] = "Collects comments that mention the brand's Reddit account."

    @classmethod
    def specs(cls, section: RedditSettings) -> list[SourceSpec]:
        if not section.enabled or not section.inbox_mentions or not section.username:
            return []
        return [SourceSpec(name="reddit:inbox", kind=cls.kind, platform="reddit",
                           interval_seconds=section.interval_seconds)]

    def path(self) -> str:
        return "message/mentions"


class RedditSearchPostsCollector(RedditCollector):
    """New posts in one subreddit that match the keywords (Reddit search, sorted by new)."""

    kind: ClassVar[str] = "reddit_search_posts"
    description: ClassVar[str] = "Collects new posts matching the keywords in a subreddit."
    fields: ClassVar[tuple[SourceField, ...]] = (
        SourceField("subreddit", "Subreddit", prefix="r/", hint="its name, without r/"),
        SourceField("keywords", "Keywords", many=True, hint="one per line or separated by commas"),
    )

    @classmethod
    def specs(cls, section: RedditSettings) -> list[SourceSpec]:
        if not section.enabled or not section.keywords:
            return []
        return [
            cls.subreddit_spec(section, "posts", sub, keywords=list(section.keywords))
            for sub in _keyword_subreddits(section)
        ]

    def path(self) -> str:
        return f"r/{self.spec.options['subreddit']}/search"

    def params(self) -> dict[str, Any]:
        query = " OR ".join(f'"{keyword}"' for keyword in self.spec.options["keywords"])
        return {"q": query, "restrict_sr": 1, "sort": "new", "t": "all", "syntax": "lucene"}

    def wanted(self, mention: CollectedMention) -> bool:
        return mention.kind == "post"


def _keyword_subreddits(section: RedditSettings) -> list[str]:
    """Subreddits searched by keyword: the brand's own ones are read in full instead."""
    own = {sub.lower() for sub in section.own_subreddits}
    return [sub for sub in section.subreddits if sub.lower() not in own]


class RedditSubredditPostsCollector(RedditCollector):
    """Every new post in one of the brand's own subreddits (/r/<sub>/new)."""

    kind: ClassVar[str] = "reddit_subreddit_posts"
    description: ClassVar[str] = "Collects every new post in the brand's own subreddit."
    fields: ClassVar[tuple[SourceField, ...]] = (
        SourceField("subreddit", "Subreddit", prefix="r/", hint="its name, without r/"),)

    @classmethod
    def specs(cls, section: RedditSettings) -> list[SourceSpec]:
        if not section.enabled:
            return []
        return [cls.subreddit_spec(section, "posts", sub) for sub in section.own_subreddits]

    def path(self) -> str:
        return f"r/{self.spec.options['subreddit']}/new"

    def wanted(self, mention: CollectedMention) -> bool:
        return mention.kind == "post"


class RedditKeywordCommentsCollector(RedditCollector):
    """New comments in one subreddit: those containing a keyword, or all of them in the brand's own."""

    kind: ClassVar[str] = "reddit_keyword_comments"
    description: ClassVar[str] = "Collects new comments containing the keywords (or all, in an own subreddit)."
    fields: ClassVar[tuple[SourceField, ...]] = (
        SourceField("subreddit", "Subreddit", prefix="r/", hint="its name, without r/"),
        SourceField("keywords", "Keywords", many=True, required=False,
                    hint="one per line or separated by commas; none: every comment"),
    )

    @classmethod
    def specs(cls, section: RedditSettings) -> list[SourceSpec]:
        if not section.enabled:
            return []
        keyword_subreddits = _keyword_subreddits(section) if section.keywords else []
        return [
            *(cls.subreddit_spec(section, "comments", sub, keywords=list(section.keywords))
              for sub in keyword_subreddits),
            *(cls.subreddit_spec(section, "comments", sub, keywords=[]) for sub in section.own_subreddits),
        ]

    def path(self) -> str:
        return f"r/{self.spec.options['subreddit']}/comments"

    def wanted(self, mention: CollectedMention) -> bool:
        keywords = self.spec.options["keywords"]
        return mention.kind == "comment" and (not keywords or _matches(mention.text, keywords))
