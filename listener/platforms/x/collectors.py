"""X collectors, through tweepy.Client (API v2): brand mentions and recent search.

Both page the same way. X returns newest first, so the committed ``since_id`` must
not move until the walk down to it is complete: until then the cursor holds the
walk in progress (``pending``: the next page token and the newest id seen). A run
that crashes or stops at ``max_pages_per_run`` resumes the walk from that token;
only when the last page is stored does ``since_id`` advance to the newest id.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests
import tweepy

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
from listener.platforms.x.client import make_x_client
from listener.platforms.x.settings import XSettings

log = logging.getLogger(__name__)

TWEET_FIELDS = ["created_at", "author_id", "conversation_id", "lang", "referenced_tweets", "in_reply_to_user_id"]
USER_FIELDS = ["name", "username", "public_metrics", "description"]


class MalformedPayload(ValueError):
    """The platform's answer was not the JSON shape its API documents."""

    def __init__(self, message: str, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


# A tweet id is a "snowflake": its bits above the 22nd count milliseconds since this moment.
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657


def parse_x_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"created_at {value!r} is not a string")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def time_from_id(tweet_id: str) -> datetime:
    """When a tweet was created, read from its id (exact to the millisecond for ids since late 2010)."""
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, UTC)


def _author(user_id: str, users: dict[str, dict[str, Any]]) -> CollectedAuthor:
    user = users.get(user_id)
    if user is None:
        # The expansion can be missing (e.g. a suspended author); keep the id.
        return CollectedAuthor(platform="x", platform_user_id=user_id, handle=f"id:{user_id}")
    metrics = user.get("public_metrics") or {}
    followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
    return CollectedAuthor(
        platform="x",
        platform_user_id=user_id,
        handle=str(user.get("username") or f"id:{user_id}"),
        display_name=user.get("name"),
        followers=followers if isinstance(followers, int) else None,
        bio=user.get("description"),
    )


def tweet_to_mention(tweet: Any, users: dict[str, dict[str, Any]]) -> CollectedMention:
    """Normalise one tweet of an API v2 page; raises ValueError naming what is wrong."""
    if not isinstance(tweet, dict):
        raise ValueError("tweet is not a JSON object")
    tweet_id, text = tweet.get("id"), tweet.get("text")
    if not isinstance(tweet_id, str) or not tweet_id.isdigit():
        raise ValueError(f"tweet id {tweet_id!r} is not a numeric string")
    if not isinstance(text, str):
        raise ValueError(f"tweet {tweet_id} has no text")
    missing: list[str] = []
    # X leaves out every field that was not asked for or not granted. A tweet with an id and a text is
    # still a mention: its time comes from its id, and an author known only by id is still an author.
    try:
        created_at = parse_x_time(tweet.get("created_at"))
    except ValueError:
        created_at = time_from_id(tweet_id)
        missing.append("created_at")
    author_id = tweet.get("author_id")
    author = _author(str(author_id), users) if author_id else None
    if author is None:
        missing.append("author")
    elif str(author_id) not in users:
        missing.append("author_profile")
    replied_to = next(
        (
            ref.get("id")
            for ref in tweet.get("referenced_tweets") or []
            if isinstance(ref, dict) and ref.get("type") == "replied_to"
        ),
        None,
    )
    handle = author.handle if author and not author.handle.startswith("id:") else None
    url = f"https://x.com/{handle}/status/{tweet_id}" if handle else f"https://x.com/i/web/status/{tweet_id}"
    return CollectedMention(
        platform="x",
        external_id=tweet_id,
        kind="tweet",
        text=text,
        url=url,
        created_at=created_at,
        raw=tweet,
        author=author,
        in_reply_to_external_id=replied_to,
        conversation_external_id=tweet.get("conversation_id"),
        missing=tuple(missing),
    )


def parse_x_page(payload: Any) -> tuple[list[CollectedMention], list[QuarantinedItem], dict[str, Any]]:
    """Split a page into good mentions and quarantined tweets; return its ``meta``."""
    if not isinstance(payload, dict):
        raise MalformedPayload("page is not a JSON object", json.dumps(payload))
    data = payload.get("data", [])
    meta = payload.get("meta", {})
    if not isinstance(data, list) or not isinstance(meta, dict):
        raise MalformedPayload("page has no list of tweets or no meta object", json.dumps(payload))
    includes = payload.get("includes") or {}
    users = {
        str(u["id"]): u
        for u in (includes.get("users") or [] if isinstance(includes, dict) else [])
        if isinstance(u, dict) and "id" in u
    }
    mentions: list[CollectedMention] = []
    quarantined: list[QuarantinedItem] = []
    for tweet in data:
        try:
            mentions.append(tweet_to_mention(tweet, users))
        except (ValueError, TypeError, KeyError) as error:
            quarantined.append(QuarantinedItem(error=f"tweet: {error}", raw=json.dumps(tweet)))
    return mentions, quarantined, meta


def _newer(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if int(a) >= int(b) else b


class XCollector(Collector):
    """Shared paging, retries and error mapping of the X collectors."""

    platform: ClassVar[str] = "x"
    token_param: ClassVar[str]

    @classmethod
    def make_client(cls, section: XSettings) -> tweepy.Client:
        return make_x_client(section)

    def _fetch(self, cursor: dict[str, Any], since_id: str | None, token: str | None) -> Any:
        raise NotImplementedError

    def _call(self, request: Callable[[], Any]) -> Any:
        """Run one API call, retrying 5xx, timeouts and malformed bodies with back-off."""
        section = self.section
        attempt = 0
        while True:
            try:
                return request()
            except tweepy.TooManyRequests as error:
                reset = error.reset_time or int(time.time()) + 60
                raise RateLimited(datetime.fromtimestamp(reset, UTC), "X answered 429") from None
            except (tweepy.Unauthorized, tweepy.Forbidden) as error:
                raise SourceMisconfigured(f"X refused the credentials: {error}") from None
            except (
                tweepy.TwitterServerError,
                requests.Timeout,
                requests.ConnectionError,
                requests.exceptions.JSONDecodeError,
            ) as error:
                if isinstance(error, requests.exceptions.JSONDecodeError):
                    self._quarantine_body(error.doc, f"X answered a body that is not JSON: {error}")
                if attempt >= section.max_retries:
                    raise SourceUnavailable(f"X failed {attempt + 1} times: {_short(error)}") from None
                delay = section.retry_backoff_seconds * (2**attempt)
                log.warning("%s: %s; retrying in %.1fs", self.spec.name, _short(error), delay)
                time.sleep(delay)
                attempt += 1

    def _quarantine_body(self, raw: str, error: str) -> None:
        self._bad_bodies.append(QuarantinedItem(error=error, raw=raw))

    def check(self, cursor: dict[str, Any]) -> Iterator[Page]:
        self._bad_bodies: list[QuarantinedItem] = []
        state = dict(cursor)
        since_id: str | None = state.get("since_id")
        pending: dict[str, Any] = state.get("pending") or {}
        token: str | None = pending.get("next_token")
        newest: str | None = pending.get("newest_id")
        for _ in range(self.section.max_pages_per_run):
            try:
                payload = self._call(lambda s=state, t=token: self._fetch(s, since_id, t))
            except tweepy.BadRequest as error:
                if token is None:
                    raise SourceMisconfigured(f"X rejected the request: {error}") from None
                # An expired page token: walk again from the committed since_id;
                # mentions already stored are skipped by their ids.
                log.warning("%s: page token rejected, restarting from since_id", self.spec.name)
                token = None
                continue
            except SourceUnavailable:
                if self._bad_bodies:
                    yield Page(quarantined=self._bad_bodies, cursor=state)
                raise
            try:
                mentions, quarantined, meta = parse_x_page(payload)
            except MalformedPayload as error:
                yield Page(quarantined=[*self._bad_bodies, QuarantinedItem(str(error), error.raw)], cursor=state)
                raise SourceUnavailable(f"X sent a malformed page: {error}") from None
            quarantined = [*self._bad_bodies, *quarantined]
            self._bad_bodies = []
            newest = _newer(newest, meta.get("newest_id"))
            token = meta.get("next_token") or None
            if token:
                state = {**state, "since_id": since_id, "pending": {"next_token": token, "newest_id": newest}}
            else:
                state = {k: v for k, v in state.items() if k != "pending"}
                state["since_id"] = _newer(since_id, newest)
            yield Page(mentions=mentions, quarantined=quarantined, cursor=state)
            if not token:
                return


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) < 300 else text[:300] + "..."


class XMentionsCollector(XCollector):
    """Tweets that mention the brand account (GET /2/users/:id/mentions)."""

    kind: ClassVar[str] = "x_mentions"
    description: ClassVar[str] = "Collects tweets that @mention the brand account on X."
    fields: ClassVar[tuple[SourceField, ...]] = (
        SourceField("username", "Account", prefix="@", hint="the brand's X username, without the @"),)

    @classmethod
    def specs(cls, section: XSettings) -> list[SourceSpec]:
        if not section.enabled or not section.brand_username:
            return []
        return [
            SourceSpec(
                name="x:mentions",
                kind=cls.kind,
                platform="x",
                interval_seconds=section.interval_seconds,
                options={"username": section.brand_username},
            )
        ]

    def _user_id(self, cursor: dict[str, Any]) -> str:
        username = self.spec.options["username"]
        if cursor.get("user_id") and cursor.get("username") == username:
            return str(cursor["user_id"])
        answer = self._call(lambda: self.client.get_user(username=username))
        user = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(user, dict) or "id" not in user:
            raise SourceMisconfigured(f"X has no account @{username} (setting x.brand_username)")
        cursor["user_id"], cursor["username"] = str(user["id"]), username
        return str(user["id"])

    def _fetch(self, cursor: dict[str, Any], since_id: str | None, token: str | None) -> Any:
        user_id = self._user_id(cursor)
        return self.client.get_users_mentions(
            user_id,
            since_id=since_id,
            pagination_token=token,
            max_results=self.section.page_size,
            expansions=["author_id"],
            tweet_fields=TWEET_FIELDS,
            user_fields=USER_FIELDS,
        )


class XSearchCollector(XCollector):
    """Recent tweets matching one configured query (GET /2/tweets/search/recent)."""

    kind: ClassVar[str] = "x_search"
    description: ClassVar[str] = "Collects recent tweets that match a search query on X."
    fields: ClassVar[tuple[SourceField, ...]] = (
        SourceField("query", "Search query", hint='as on X, e.g. "your brand" -is:retweet'),)

    @classmethod
    def specs(cls, section: XSettings) -> list[SourceSpec]:
        if not section.enabled:
            return []
        return [
            SourceSpec(
                name=f"x:search:{query}",
                kind=cls.kind,
                platform="x",
                interval_seconds=section.interval_seconds,
                options={"query": query},
            )
            for query in section.search_queries
        ]

    def _fetch(self, cursor: dict[str, Any], since_id: str | None, token: str | None) -> Any:
        return self.client.search_recent_tweets(
            self.spec.options["query"],
            since_id=since_id,
            next_token=token,
            max_results=self.section.page_size,
            expansions=["author_id"],
            tweet_fields=TWEET_FIELDS,
            user_fields=USER_FIELDS,
        )


