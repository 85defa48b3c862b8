"""An X API v2 simulator that the real ``tweepy.Client`` can be pointed at.

It answers the handful of endpoints Harken uses (mentions and user timelines, recent
search, tweet and user lookup, posting a reply) in X's wire format, including the
parts collectors trip over in production: ``data``/``includes`` absent on an empty
page, only the requested fields present, opaque ``next_token`` cursors that stay put
while new tweets arrive, 400s in X's error shape for out-of-range parameters,
lookups of unknown ids answered 200 with an ``errors`` list, per-endpoint
``x-rate-limit-*`` headers and 429s once a window's budget is spent.

tweepy always calls ``https://api.twitter.com``; route it here by mounting a
``requests`` adapter on ``client.session`` that rewrites the URL to :attr:`base_url`.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import threading
import time
import zlib
from bisect import insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from listener.simulators.corpus import CorpusItem, parse_utc
from listener.simulators.errors import UnknownAccountError, UnknownItemError
from listener.simulators.faults import Fault
from listener.simulators.query import QueryError, SearchQuery
from listener.simulators.server import HttpError, SimRequest, SimResponse, SimulatorServer, status_phrase

__all__ = ["MAX_TWEET_LENGTH", "XSimulator"]

MAX_TWEET_LENGTH = 280
TWITTER_EPOCH_MS = 1288834974657
RECENT_SEARCH_WINDOW = timedelta(days=7)

TWEET_FIELDS = frozenset((
    "article", "attachments", "author_id", "card_uri", "community_id", "context_annotations",
    "conversation_id", "created_at", "display_text_range", "edit_controls",
    "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang",
    "media_metadata", "non_public_metrics", "note_tweet", "organic_metrics", "possibly_sensitive",
    "promoted_metrics", "public_metrics", "referenced_tweets", "reply_settings", "scopes",
    "source", "text", "withheld",
))
USER_FIELDS = frozenset((
    "affiliation", "connection_status", "created_at", "description", "entities", "id", "location",
    "most_recent_tweet_id", "name", "pinned_tweet_id", "profile_banner_url", "profile_image_url",
    "protected", "public_metrics", "receives_your_dm", "subscription_type", "url", "username",
    "verified", "verified_type", "withheld",
))
TWEET_EXPANSIONS = frozenset((
    "article.cover_media", "article.media_entities", "attachments.media_keys",
    "attachments.media_source_tweet", "attachments.poll_ids", "author_id",
    "edit_history_tweet_ids", "entities.mentions.username", "entities.note.mentions.username",
    "geo.place_id", "in_reply_to_user_id", "referenced_tweets.id",
    "referenced_tweets.id.attachments.media_keys", "referenced_tweets.id.author_id",
))
USER_EXPANSIONS = frozenset((
    "affiliation.user_id", "most_recent_tweet_id", "pinned_tweet_id",
))
_OTHER_FIELD_PARAMS = ("media.fields", "place.fields", "poll.fields")

_TIMELINE_PARAMS = frozenset(
    ("end_time", "expansions", "max_results", "pagination_token", "since_id", "start_time",
     "tweet.fields", "until_id", "user.fields", *_OTHER_FIELD_PARAMS)
)
_SEARCH_PARAMS = frozenset(
    ("end_time", "expansions", "max_results", "next_token", "query", "since_id", "sort_order",
     "start_time", "tweet.fields", "until_id", "user.fields", *_OTHER_FIELD_PARAMS)
)
_USER_LOOKUP_PARAMS = frozenset(("expansions", "tweet.fields", "user.fields"))
_TWEET_LOOKUP_PARAMS = frozenset(("expansions", "tweet.fields", "user.fields", *_OTHER_FIELD_PARAMS))

_INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"
_NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"
_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")


# -- X's error shapes -----------------------------------------------------------------


def problem(status: int, title: str | None = None, detail: str | None = None,
            type_: str = "about:blank") -> dict[str, Any]:
    """X's "problem" body, e.g. ``{"title": "Unauthorized", ..., "status": 401}``."""
    phrase = status_phrase(status)
    return {"title": title or phrase, "detail": detail or phrase, "type": type_, "status": status}


def invalid_request(parameter: str, value: str, message: str) -> HttpError:
    """A 400 for one bad query parameter, worded the way X words it."""
    return HttpError(400, {
        "errors": [{"parameters": {parameter: [value]}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": _INVALID_REQUEST,
    })


def not_found_error(resource: str, parameter: str, value: str) -> dict[str, Any]:
    """One entry of the ``errors`` list X returns (with status 200) for unknown ids."""
    return {
        "value": value,
        "detail": f"Could not find {resource} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource,
        "parameter": parameter,
        "resource_id": value,
        "type": _NOT_FOUND,
    }


def format_time(moment: datetime) -> str:
    """``2024-05-01T12:00:00.000Z``: the only shape tweepy's ``parse_datetime`` reads."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# -- state ------------------------------------------------------------------------------


@dataclass
class _User:
    id: str
    username: str
    name: str
    description: str
    created_at: datetime
    followers: int
    following: int
    verified: bool = False
    tweet_count: int = 0

    def wire(self, fields: Iterable[str] = USER_FIELDS) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name, "username": self.username}
        wanted = set(fields)
        if "created_at" in wanted:
            data["created_at"] = format_time(self.created_at)
        if "description" in wanted:
            data["description"] = self.description
        if "protected" in wanted:
            data["protected"] = False
        if "verified" in wanted:
            data["verified"] = self.verified
        if "public_metrics" in wanted:
            data["public_metrics"] = {
                "followers_count": self.followers,
                "following_count": self.following,
                "tweet_count": self.tweet_count,
                "listed_count": self.followers // 200,
                "like_count": self.tweet_count * 3,
            }
        return data


@dataclass
class _Tweet:
    id: str
    text: str
    author_id: str
    created_at: datetime
    conversation_id: str
    lang: str
    in_reply_to_user_id: str | None = None
    replied_to_id: str | None = None
    metrics: dict[str, int] = field(default_factory=lambda: {
        "retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0,
        "bookmark_count": 0, "impression_count": 0,
    })

    @property
    def number(self) -> int:
        return int(self.id)

    def wire(self, fields: Iterable[str] = TWEET_FIELDS) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "edit_history_tweet_ids": [self.id],
        }
        wanted = set(fields)
        if "created_at" in wanted:
            data["created_at"] = format_time(self.created_at)
        if "author_id" in wanted:
            data["author_id"] = self.author_id
        if "conversation_id" in wanted:
            data["conversation_id"] = self.conversation_id
        if "lang" in wanted:
            data["lang"] = self.lang
        if "public_metrics" in wanted:
            data["public_metrics"] = dict(self.metrics)
        if "in_reply_to_user_id" in wanted and self.in_reply_to_user_id is not None:
            data["in_reply_to_user_id"] = self.in_reply_to_user_id
        if "referenced_tweets" in wanted and self.replied_to_id is not None:
            data["referenced_tweets"] = [{"type": "replied_to", "id": self.replied_to_id}]
        if "possibly_sensitive" in wanted:
            data["possibly_sensitive"] = False
        if "reply_settings" in wanted:
            data["reply_settings"] = "everyone"
        return data


@dataclass
class _Window:
    started: float
    used: int = 0


@dataclass(frozen=True)
class _Shape:
    """What one request asked to see: fields and expansions, already validated."""

    tweet_fields: frozenset[str]
    user_fields: frozenset[str]
    expansions: frozenset[str]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    key: str
    handler: Callable[[SimRequest, str, Sequence[str]], SimResponse]
    user_context_only: bool = False


# -- the simulator ------------------------------------------------------------------


class XSimulator(SimulatorServer):
    """X API v2, for tweepy.

    ``bearer_token`` is the app-only token (``tweepy.Client(bearer_token=...)``).  Any
    ``Authorization: OAuth ...`` header (tweepy's OAuth 1.0a user context) or the
    ``user_bearer_token`` (OAuth 2.0 user context) acts as the brand account; posting
    and ``/2/users/me`` need such user context and answer 403 to the app-only token,
    as X does.  ``rate_limit`` requests per ``window_seconds`` apply to each endpoint
    separately.  Corpus items (X ones only) are re-dated relative to ``now``
    (default: construction time), oldest first, so tweet ids grow with time.
    """

    def __init__(
        self,
        corpus_items: Iterable[CorpusItem] | None = None,
        bearer_token: str = "sim-bearer",
        brand_username: str = "lumenmobile",
        rate_limit: int = 450,
        window_seconds: float = 900,
        *,
        brand_name: str = "Lumen Mobile",
        user_bearer_token: str = "sim-user-bearer",
        now: datetime | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.bearer_token = bearer_token
        self.user_bearer_token = user_bearer_token
        self.rate_limit = rate_limit
        self.window_seconds = window_seconds
        self._lock = threading.RLock()
        self._users: dict[str, _User] = {}
        self._user_ids_by_handle: dict[str, str] = {}
        self._tweets: dict[str, _Tweet] = {}
        self._timeline: list[int] = []
        self._posted: list[str] = []
        self._windows: dict[str, _Window] = {}
        self._sequence = 0
        self._brand_id = self.add_user(
            brand_username, brand_name, followers=48_200, verified=True,
            bio=f"Official account of {brand_name}. Support 8am-10pm ET, 7 days a week.",
        )["id"]
        self._routes = self._build_routes()
        anchor = now or datetime.now(UTC)
        items = [item for item in corpus_items or () if item.platform == "x"]
        for item in sorted(items, key=lambda item: item.created_relative_to(anchor)):
            self.add_tweet(
                item.text, item.author, item.display_name, followers=item.followers,
                created_at=item.created_relative_to(anchor), bio=item.bio, lang=item.lang,
            )

    # -- Python API ---------------------------------------------------------------

    def add_user(
        self,
        handle: str,
        name: str | None = None,
        followers: int | None = None,
        bio: str | None = None,
        *,
        verified: bool | None = None,
    ) -> dict[str, Any]:
        """Create the account ``handle``, or update the profile values given; return it."""
        if not _HANDLE.match(handle):
            raise ValueError(f"{handle!r} is not a valid X handle (1-15 of A-Z, 0-9, _)")
        with self._lock:
            existing = self._user_ids_by_handle.get(handle.lower())
            if existing is None:
                seed = zlib.crc32(handle.lower().encode())
                user = _User(
                    id=str(10_000_000 + len(self._users) * 7919 + seed % 7919),
                    username=handle,
                    name=handle,
                    description="",
                    created_at=datetime(2009, 1, 1, tzinfo=UTC) + timedelta(days=seed % 5000),
                    followers=0,
                    following=50 + seed % 900,
                )
                self._users[user.id] = user
                self._user_ids_by_handle[handle.lower()] = user.id
            else:
                user = self._users[existing]
            if name is not None:
                user.name = name
            if followers is not None:
                user.followers = followers
            if bio is not None:
                user.description = bio
            if verified is not None:
                user.verified = verified
            return user.wire()

    def add_tweet(
        self,
        text: str,
        author_handle: str,
        author_name: str | None = None,
        followers: int | None = None,
        created_at: datetime | None = None,
        bio: str | None = None,
        lang: str = "en",
    ) -> dict[str, Any]:
        """Publish a tweet by ``author_handle``; safe while serving.

        The author is created if needed, and the profile values given (name, followers,
        bio) become the author's current ones, as a later tweet would show them on X.
        The id is a snowflake of ``created_at``, as on X: a tweet back-dated before a
        collector's ``since_id`` is never seen by it, exactly as in production.
        """
        created = (created_at or datetime.now(UTC)).astimezone(UTC)
        with self._lock:
            self.add_user(author_handle, author_name, followers, bio)
            author = self._users[self._user_ids_by_handle[author_handle.lower()]]
            tweet = self._store(_Tweet(
                id=self._snowflake(created), text=text, author_id=author.id,
                created_at=created, conversation_id="", lang=lang,
            ))
            return tweet.wire()

    @property
    def tweets(self) -> list[dict[str, Any]]:
        """Every tweet with all its fields, oldest first (a snapshot)."""
        with self._lock:
            return [self._tweets[str(number)].wire() for number in self._timeline]

    def tweet(self, tweet_id: str) -> dict[str, Any]:
        with self._lock:
            try:
                return self._tweets[str(tweet_id)].wire()
            except KeyError:
                raise UnknownItemError(f"no tweet with id {tweet_id}") from None

    def posted_replies(self) -> list[dict[str, Any]]:
        """Tweets created through ``POST /2/tweets``, oldest first."""
        with self._lock:
            return [self._tweets[tweet_id].wire() for tweet_id in self._posted]

    def user(self, handle: str) -> dict[str, Any]:
        """The account ``handle`` with all its fields; :class:`UnknownAccountError` if none."""
        with self._lock:
            user_id = self._user_ids_by_handle.get(handle.lstrip("@").lower())
            if user_id is None:
                raise UnknownAccountError(f"no X account @{handle}")
            return self._users[user_id].wire()

    @property
    def brand_user(self) -> dict[str, Any]:
        with self._lock:
            return self._users[self._brand_id].wire()

    # -- internals: storage ------------------------------------------------------------

    def _snowflake(self, created: datetime) -> str:
        millis = max(int(created.timestamp() * 1000) - TWITTER_EPOCH_MS, 0)
        self._sequence = (self._sequence + 1) % 4096
        number = (millis << 22) | (self._sequence << 10)
        while str(number) in self._tweets:
            number += 1
        return str(number)

    def _store(self, tweet: _Tweet) -> _Tweet:
        if not tweet.conversation_id:
            tweet.conversation_id = tweet.id
        self._tweets[tweet.id] = tweet
        insort(self._timeline, tweet.number)
        self._users[tweet.author_id].tweet_count += 1
        return tweet

    # -- internals: HTTP ------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        def route(method: str, pattern: str, key: str,
                  handler: Callable[[SimRequest, str, Sequence[str]], SimResponse],
                  user_context_only: bool = False) -> _Route:
            return _Route(method, re.compile(pattern), key, handler, user_context_only)

        return [
            route("GET", r"^/2/users/me$", "/2/users/me", self._get_me, user_context_only=True),
            route("GET", r"^/2/users/by/username/([^/]+)$", "/2/users/by/username/:username",
                  self._get_user_by_username),
            route("GET", r"^/2/users/(\d+)/mentions$", "/2/users/:id/mentions", self._get_mentions),
            route("GET", r"^/2/users/(\d+)/tweets$", "/2/users/:id/tweets", self._get_user_tweets),
            route("GET", r"^/2/users/(\d+)$", "/2/users/:id", self._get_user),
            route("GET", r"^/2/tweets/search/recent$", "/2/tweets/search/recent", self._search_recent),
            route("GET", r"^/2/tweets/(\d+)$", "/2/tweets/:id", self._get_tweet),
            route("GET", r"^/2/tweets$", "/2/tweets", self._get_tweets),
            route("POST", r"^/2/tweets$", "POST /2/tweets", self._post_tweet, user_context_only=True),
        ]

    def _auth_context(self, request: SimRequest) -> str | None:
        """``"app"``, ``"user"`` or None (unauthorised)."""
        header = (request.header("Authorization") or "").strip()
        if header.startswith("OAuth "):
            return "user"
        if header == f"Bearer {self.bearer_token}":
            return "app"
        if self.user_bearer_token and header == f"Bearer {self.user_bearer_token}":
            return "user"
        return None

    def handle(self, request: SimRequest) -> SimResponse:
        context = self._auth_context(request)
        if context is None:
            return SimResponse(401, problem(401))
        for route in self._routes:
            match = route.pattern.match(request.path)
            if match is None or route.method != request.method:
                continue
            if route.user_context_only and context != "user":
                return SimResponse(403, problem(
                    403, "Unsupported Authentication",
                    "Authenticating with OAuth 2.0 Application-Only is forbidden for this "
                    "endpoint.  Supported authentication types are [OAuth 1.0a User Context, "
                    "OAuth 2.0 User Context].",
                    "https://api.twitter.com/2/problems/unsupported-authentication",
                ))
            with self._lock:
                headers = self._spend(route.key)
                try:
                    response = route.handler(request, context, match.groups())
                except HttpError as error:
                    response = error.response()
            response.headers.update(headers)
            return response
        return SimResponse(404, problem(404, "Not Found Error",
                                        f"Sorry, the resource {request.path} does not exist."))

    def fault_response(self, fault: Fault, request: SimRequest) -> SimResponse:
        status = fault.status or 500
        response = SimResponse(status, problem(status))
        if status == 429:
            response.headers.update({
                "x-rate-limit-limit": str(self.rate_limit),
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(math.ceil(time.time() + fault.reset_after)),
            })
        return response

    def _spend(self, key: str) -> dict[str, str]:
        """Count one request against ``key``'s window; 429 once the budget is spent."""
        now = time.time()
        window = self._windows.get(key)
        if window is None or now >= window.started + self.window_seconds:
            window = self._windows[key] = _Window(started=now)
        reset = math.ceil(window.started + self.window_seconds)
        if window.used >= self.rate_limit:
            raise HttpError(429, problem(429), {
                "x-rate-limit-limit": str(self.rate_limit),
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
            })
        window.used += 1
        return {
            "x-rate-limit-limit": str(self.rate_limit),
            "x-rate-limit-remaining": str(self.rate_limit - window.used),
            "x-rate-limit-reset": str(reset),
        }

    # -- internals: request parsing ---------------------------------------------------------

    @staticmethod
    def _check_params(request: SimRequest, allowed: frozenset[str]) -> None:
        for name, value in request.query.items():
            if name not in allowed:
                raise invalid_request(
                    name, value,
                    f"The query parameter [{name}] is not one of [{','.join(sorted(allowed))}]",
                )

    @staticmethod
    def _csv(request: SimRequest, name: str, valid: frozenset[str]) -> frozenset[str]:
        raw = request.query.get(name, "")
        values = frozenset(value for value in raw.split(",") if value)
        unknown = sorted(values - valid)
        if unknown:
            raise invalid_request(
                name, ",".join(unknown),
                f"The `{name}` query parameter value [{unknown[0]}] is not one of "
                f"[{','.join(sorted(valid))}]",
            )
        return values

    def _shape(self, request: SimRequest, expansions: frozenset[str]) -> _Shape:
        return _Shape(
            tweet_fields=self._csv(request, "tweet.fields", TWEET_FIELDS),
            user_fields=self._csv(request, "user.fields", USER_FIELDS),
            expansions=self._csv(request, "expansions", expansions),
        )

    @staticmethod
    def _int_param(request: SimRequest, name: str, default: int, low: int, high: int) -> int:
        raw = request.query.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise invalid_request(
                name, raw, f"The `{name}` query parameter value [{raw}] is not between {low} and {high}"
            )
        return int(raw)

    @staticmethod
    def _id_param(request: SimRequest, name: str) -> int | None:
        raw = request.query.get(name)
        if raw is None:
            return None
        if not raw.isdigit():
            raise invalid_request(name, raw, f"The `{name}` query parameter value [{raw}] is not valid")
        return int(raw)

    @staticmethod
    def _time_param(request: SimRequest, name: str) -> datetime | None:
        raw = request.query.get(name)
        if raw is None:
            return None
        try:
            return parse_utc(raw)
        except ValueError:
            raise invalid_request(
                name, raw, f"Invalid '{name}':'{raw}'. '{name}' must be a valid ISO 8601 time"
            ) from None

    @staticmethod
    def _token_param(request: SimRequest, name: str) -> int | None:
        raw = request.query.get(name)
        if raw is None:
            return None
        try:
            padded = raw.upper() + "=" * (-len(raw) % 8)
            decoded = base64.b32decode(padded).decode()
            if not decoded.startswith("after:"):
                raise ValueError(decoded)
            return int(decoded.removeprefix("after:"))
        except (ValueError, binascii.Error):
            raise invalid_request(
                name, raw, f"The `{name}` query parameter value [{raw}] is not valid"
            ) from None

    @staticmethod
    def _make_token(last_id: int) -> str:
        return base64.b32encode(f"after:{last_id}".encode()).decode().rstrip("=").lower()

    # -- internals: answers ------------------------------------------------------------------

    def _lookup_answer(self, found: Sequence[_Tweet], shape: _Shape, *, single: bool,
                       errors: Sequence[dict[str, Any]] = ()) -> SimResponse:
        """A lookup answer: ``data`` (one tweet or a list), ``includes``, ``errors``."""
        body: dict[str, Any] = {}
        if found:
            data = [tweet.wire(shape.tweet_fields) for tweet in found]
            body["data"] = data[0] if single else data
            includes = self._includes(found, shape)
            if includes:
                body["includes"] = includes
        if errors:
            body["errors"] = list(errors)
        return SimResponse(200, body)

    def _includes(self, tweets: Sequence[_Tweet], shape: _Shape) -> dict[str, Any]:
        includes: dict[str, Any] = {}
        users: dict[str, _User] = {}
        referenced: dict[str, _Tweet] = {}
        for tweet in tweets:
            if "author_id" in shape.expansions:
                users.setdefault(tweet.author_id, self._users[tweet.author_id])
            if "in_reply_to_user_id" in shape.expansions and tweet.in_reply_to_user_id:
                users.setdefault(tweet.in_reply_to_user_id, self._users[tweet.in_reply_to_user_id])
            if tweet.replied_to_id and tweet.replied_to_id in self._tweets and (
                "referenced_tweets.id" in shape.expansions
                or "referenced_tweets.id.author_id" in shape.expansions
            ):
                parent = self._tweets[tweet.replied_to_id]
                if "referenced_tweets.id" in shape.expansions:
                    referenced.setdefault(parent.id, parent)
                if "referenced_tweets.id.author_id" in shape.expansions:
                    users.setdefault(parent.author_id, self._users[parent.author_id])
        if users:
            includes["users"] = [user.wire(shape.user_fields) for user in users.values()]
        if referenced:
            includes["tweets"] = [tweet.wire(shape.tweet_fields) for tweet in referenced.values()]
        return includes

    def _page(
        self,
        request: SimRequest,
        candidates: Iterable[_Tweet],
        *,
        token_param: str,
        min_results: int,
        not_before: datetime | None = None,
    ) -> SimResponse:
        """One page of ``candidates`` (newest first) under the request's filters."""
        max_results = self._int_param(request, "max_results", 10, min_results, 100)
        since_id = self._id_param(request, "since_id")
        until_id = self._id_param(request, "until_id")
        after = self._token_param(request, token_param)
        start_time = self._time_param(request, "start_time")
        end_time = self._time_param(request, "end_time")
        if start_time and not_before and start_time < not_before:
            raise invalid_request(
                "start_time", request.query["start_time"],
                f"Invalid 'start_time':'{request.query['start_time']}'. 'start_time' must be "
                f"on or after {format_time(not_before)}",
            )
        shape = self._shape(request, TWEET_EXPANSIONS)
        lower = max(filter(None, (start_time, not_before)), default=None)
        matching = [
            tweet for tweet in sorted(candidates, key=lambda tweet: tweet.number, reverse=True)
            if (since_id is None or tweet.number > since_id)
            and (until_id is None or tweet.number < until_id)
            and (after is None or tweet.number < after)
            and (lower is None or tweet.created_at >= lower)
            and (end_time is None or tweet.created_at < end_time)
        ]
        page = matching[:max_results]
        meta: dict[str, Any] = {"result_count": len(page)}
        body: dict[str, Any] = {}
        if page:
            body["data"] = [tweet.wire(shape.tweet_fields) for tweet in page]
            includes = self._includes(page, shape)
            if includes:
                body["includes"] = includes
            meta["newest_id"] = page[0].id
            meta["oldest_id"] = page[-1].id
            if len(matching) > max_results:
                meta["next_token"] = self._make_token(page[-1].number)
        body["meta"] = meta
        return SimResponse(200, body)

    def _get_me(self, request: SimRequest, context: str, groups: Sequence[str]) -> SimResponse:
        self._check_params(request, _USER_LOOKUP_PARAMS)
        shape = self._shape(request, USER_EXPANSIONS)
        return SimResponse(200, {"data": self._users[self._brand_id].wire(shape.user_fields)})

    def _get_user_by_username(self, request: SimRequest, context: str,
                              groups: Sequence[str]) -> SimResponse:
        self._check_params(request, _USER_LOOKUP_PARAMS)
        shape = self._shape(request, USER_EXPANSIONS)
        username = groups[0]
        if not _HANDLE.match(username):
            raise invalid_request("username", username,
                                  f"The `username` query parameter value [{username}] does not match "
                                  "^[A-Za-z0-9_]{1,15}$")
        user_id = self._user_ids_by_handle.get(username.lower())
        if user_id is None:
            return SimResponse(200, {"errors": [not_found_error("user", "username", username)]})
        return SimResponse(200, {"data": self._users[user_id].wire(shape.user_fields)})

    def _get_user(self, request: SimRequest, context: str, groups: Sequence[str]) -> SimResponse:
        self._check_params(request, _USER_LOOKUP_PARAMS)
        shape = self._shape(request, USER_EXPANSIONS)
        user = self._users.get(groups[0])
        if user is None:
            return SimResponse(200, {"errors": [not_found_error("user", "id", groups[0])]})
        return SimResponse(200, {"data": user.wire(shape.user_fields)})

    def _get_mentions(self, request: SimRequest, context: str, groups: Sequence[str]) -> SimResponse:
        self._check_params(request, _TIMELINE_PARAMS)
        user = self._users.get(groups[0])
        if user is None:
            return SimResponse(200, {"errors": [not_found_error("user", "id", groups[0])]})
        mention = re.compile(rf"(?<![A-Za-z0-9_])@{re.escape(user.username)}(?![A-Za-z0-9_])",
                             re.IGNORECASE)
        candidates = (tweet for tweet in self._tweets.values() if mention.search(tweet.text))
        return self._page(request, candidates, token_param="pagination_token", min_results=5)

    def _get_user_tweets(self, request: SimRequest, context: str,
                         groups: Sequence[str]) -> SimResponse:
        self._check_params(request, _TIMELINE_PARAMS | {"exclude"})
        user = self._users.get(groups[0])
        if user is None:
            return SimResponse(200, {"errors": [not_found_error("user", "id", groups[0])]})
        excluded = set(request.query.get("exclude", "").split(","))
        candidates = (
            tweet for tweet in self._tweets.values()
            if tweet.author_id == user.id
            and not ("replies" in excluded and tweet.in_reply_to_user_id)
            and not ("retweets" in excluded and tweet.text.startswith("RT @"))
        )
        return self._page(request, candidates, token_param="pagination_token", min_results=5)

    def _search_recent(self, request: SimRequest, context: str,
                       groups: Sequence[str]) -> SimResponse:
        self._check_params(request, _SEARCH_PARAMS)
        raw_query = request.query.get("query", "")
        if not raw_query.strip():
            raise invalid_request("query", raw_query, "The `query` query parameter can not be empty")
        if len(raw_query) > 512:
            raise invalid_request("query", raw_query,
                                  f"The `query` query parameter value is too long: {len(raw_query)} "
                                  "characters, the maximum is 512")
        try:
            query = SearchQuery(raw_query)
        except QueryError as exc:
            raise invalid_request("query", raw_query,
                                  f"There were errors processing your request: {exc}") from None

        def judge(tweet: _Tweet) -> Callable[[str, str], bool | None]:
            def verdict(name: str, value: str) -> bool | None:
                author = self._users[tweet.author_id]
                if name == "lang":
                    return tweet.lang.lower() == value.lower()
                if name == "from":
                    return author.username.lower() == value.lstrip("@").lower()
                if name == "to":
                    target = self._users.get(tweet.in_reply_to_user_id or "")
                    return target is not None and target.username.lower() == value.lstrip("@").lower()
                if name == "is":
                    kinds = {
                        "retweet": tweet.text.startswith("RT @"),
                        "reply": tweet.in_reply_to_user_id is not None,
                        "quote": False,
                        "verified": author.verified,
                    }
                    return kinds.get(value.lower())
                return None
            return verdict

        candidates = (tweet for tweet in self._tweets.values()
                      if query.matches(tweet.text, judge(tweet)))
        return self._page(request, candidates, token_param="next_token", min_results=10,
                          not_before=datetime.now(UTC) - RECENT_SEARCH_WINDOW)

    def _get_tweet(self, request: SimRequest, context: str, groups: Sequence[str]) -> SimResponse:
        self._check_params(request, _TWEET_LOOKUP_PARAMS)
        shape = self._shape(request, TWEET_EXPANSIONS)
        tweet = self._tweets.get(groups[0])
        if tweet is None:
            return SimResponse(200, {"errors": [not_found_error("tweet", "id", groups[0])]})
        return self._lookup_answer([tweet], shape, single=True)

    def _get_tweets(self, request: SimRequest, context: str, groups: Sequence[str]) -> SimResponse:
        self._check_params(request, _TWEET_LOOKUP_PARAMS | {"ids"})
        shape = self._shape(request, TWEET_EXPANSIONS)
        ids = [value for value in request.query.get("ids", "").split(",") if value]
        if not ids or len(ids) > 100 or not all(value.isdigit() for value in ids):
            raise invalid_request("ids", request.query.get("ids", ""),
                                  "The `ids` query parameter value must be 1 to 100 numeric ids")
        found = [self._tweets[value] for value in ids if value in self._tweets]
        errors = [not_found_error("tweet", "ids", value) for value in ids if value not in self._tweets]
        return self._lookup_answer(found, shape, single=False, errors=errors)

    def _post_tweet(self, request: SimRequest, context: str, groups: Sequence[str]) -> SimResponse:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
            raise HttpError(400, {
                "errors": [{"message": "$.text: is missing but it is required"}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": _INVALID_REQUEST,
            })
        text: str = body["text"]
        if len(text) > MAX_TWEET_LENGTH:
            raise HttpError(400, {
                "errors": [{"parameters": {"text": [text[:40]]},
                            "message": f"Tweet text is too long: {len(text)} characters, "
                                       f"the maximum is {MAX_TWEET_LENGTH}"}],
                "title": "Invalid Request",
                "detail": f"Your Tweet text is too long ({len(text)} > {MAX_TWEET_LENGTH} characters).",
                "type": _INVALID_REQUEST,
            })
        parent: _Tweet | None = None
        reply = body.get("reply")
        if reply is not None:
            parent_id = str(reply.get("in_reply_to_tweet_id", "")) if isinstance(reply, dict) else ""
            parent = self._tweets.get(parent_id)
            if parent is None:
                raise HttpError(400, {
                    "errors": [{"parameters": {"reply.in_reply_to_tweet_id": [parent_id]},
                                "message": f"The tweet {parent_id!r} to reply to does not exist"}],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": _INVALID_REQUEST,
                })
        created = datetime.now(UTC)
        tweet = self._store(_Tweet(
            id=self._snowflake(created),
            text=text,
            author_id=self._brand_id,
            created_at=created,
            conversation_id=parent.conversation_id if parent else "",
            lang="en",
            in_reply_to_user_id=parent.author_id if parent else None,
            replied_to_id=parent.id if parent else None,
        ))
        if parent is not None:
            parent.metrics["reply_count"] += 1
        self._posted.append(tweet.id)
        return SimResponse(201, {"data": {"id": tweet.id, "text": tweet.text,
                                          "edit_history_tweet_ids": [tweet.id]}})
