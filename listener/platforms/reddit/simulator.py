"""A Reddit OAuth API simulator that the real ``praw.Reddit`` can be pointed at.

One server plays both of Reddit's hosts: ``reddit_url`` (the token endpoint,
``POST /api/v1/access_token``) and ``oauth_url`` (the API).  Pass its
:attr:`base_url` as ``oauth_url``, ``reddit_url`` and ``short_url`` to praw, with
``check_for_updates=False``.

What it reproduces, because collectors depend on it: Listing JSON newest first with
``after`` cursors anchored on a fullname (stable while new items arrive), inbox
mentions with their inbox-only fields, subreddit search, posting a comment with
Reddit's ``json.errors`` list for rejected text, 401 with ``www-authenticate`` for a
bad token (prawcore needs that header to pick its exception), a 302 to the
subreddit search for unknown subreddits (prawcore's ``Redirect``), and the three
``x-ratelimit-*`` headers that prawcore paces itself by.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from listener.simulators.corpus import CorpusItem
from listener.simulators.errors import UnknownAccountError, UnknownItemError
from listener.simulators.faults import Fault
from listener.simulators.query import QueryError, SearchQuery
from listener.simulators.server import HttpError, SimRequest, SimResponse, SimulatorServer, status_phrase

__all__ = ["MAX_COMMENT_LENGTH", "RedditSimulator"]

MAX_COMMENT_LENGTH = 10_000
DEFAULT_SUBREDDITS = ("LumenMobile", "cellphones")
_TIME_FILTERS = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=31),
    "year": timedelta(days=366),
}
_INVALID_TOKEN = 'Bearer realm="reddit", error="invalid_token"'


def reddit_error(status: int) -> dict[str, Any]:
    """Reddit's plain error body, e.g. ``{"message": "Forbidden", "error": 403}``."""
    return {"message": status_phrase(status), "error": status}


def to_base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if number == 0:
            return text


def _slug(title: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", title.casefold()).strip("_")
    return words[:50].rstrip("_") or "post"


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "on", "true", "yes")


# -- state ------------------------------------------------------------------------------


@dataclass
class _Redditor:
    name: str
    id: str
    created_utc: float
    karma: int
    followers: int
    bio: str = ""

    @property
    def fullname(self) -> str:
        return f"t2_{self.id}"

    def wire(self) -> dict[str, Any]:
        link_karma = self.karma // 4
        return {
            "name": self.name,
            "id": self.id,
            "created_utc": self.created_utc,
            "created": self.created_utc,
            "link_karma": link_karma,
            "comment_karma": self.karma - link_karma,
            "total_karma": self.karma,
            "awardee_karma": 0,
            "awarder_karma": 0,
            "is_gold": False,
            "is_mod": False,
            "is_employee": False,
            "verified": True,
            "has_verified_email": True,
            "icon_img": "",
            "subreddit": {
                "display_name": f"u_{self.name}",
                "display_name_prefixed": f"u/{self.name}",
                "subscribers": self.followers,
                "public_description": self.bio,
                "title": self.name,
                "url": f"/user/{self.name}/",
                "subreddit_type": "user",
            },
        }


@dataclass
class _Subreddit:
    name: str
    id: str
    subscribers: int

    def wire(self) -> dict[str, Any]:
        return {
            "display_name": self.name,
            "display_name_prefixed": f"r/{self.name}",
            "id": self.id,
            "name": f"t5_{self.id}",
            "subscribers": self.subscribers,
            "title": self.name,
            "public_description": "",
            "url": f"/r/{self.name}/",
            "subreddit_type": "public",
            "over18": False,
            "created_utc": 1262304000.0,
        }


@dataclass
class _Post:
    id: str
    title: str
    selftext: str
    author: _Redditor
    subreddit: _Subreddit
    created_utc: float
    score: int = 1
    num_comments: int = 0

    @property
    def fullname(self) -> str:
        return f"t3_{self.id}"

    @property
    def permalink(self) -> str:
        return f"/r/{self.subreddit.name}/comments/{self.id}/{_slug(self.title)}/"

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.fullname,
            "title": self.title,
            "selftext": self.selftext,
            "author": self.author.name,
            "author_fullname": self.author.fullname,
            "created_utc": self.created_utc,
            "created": self.created_utc,
            "subreddit": self.subreddit.name,
            "subreddit_id": f"t5_{self.subreddit.id}",
            "subreddit_name_prefixed": f"r/{self.subreddit.name}",
            "subreddit_type": "public",
            "permalink": self.permalink,
            "url": f"https://www.reddit.com{self.permalink}",
            "domain": f"self.{self.subreddit.name}",
            "num_comments": self.num_comments,
            "score": self.score,
            "ups": self.score,
            "upvote_ratio": 1.0,
            "is_self": True,
            "over_18": False,
            "spoiler": False,
            "locked": False,
            "stickied": False,
            "archived": False,
            "edited": False,
            "distinguished": None,
            "link_flair_text": None,
        }


@dataclass
class _Comment:
    id: str
    body: str
    author: _Redditor
    post: _Post
    parent_id: str
    created_utc: float
    score: int = 1
    unread: bool = True
    replies: list[str] = field(default_factory=list)

    @property
    def fullname(self) -> str:
        return f"t1_{self.id}"

    @property
    def permalink(self) -> str:
        return f"{self.post.permalink}{self.id}/"

    def wire(self) -> dict[str, Any]:
        subreddit = self.post.subreddit
        return {
            "id": self.id,
            "name": self.fullname,
            "body": self.body,
            "author": self.author.name,
            "author_fullname": self.author.fullname,
            "created_utc": self.created_utc,
            "created": self.created_utc,
            "subreddit": subreddit.name,
            "subreddit_id": f"t5_{subreddit.id}",
            "subreddit_name_prefixed": f"r/{subreddit.name}",
            "subreddit_type": "public",
            "link_id": self.post.fullname,
            "link_title": self.post.title,
            "link_author": self.post.author.name,
            "link_permalink": f"https://www.reddit.com{self.post.permalink}",
            "num_comments": self.post.num_comments,
            "parent_id": self.parent_id,
            "permalink": self.permalink,
            "score": self.score,
            "ups": self.score,
            "downs": 0,
            "controversiality": 0,
            "is_submitter": self.author is self.post.author,
            "replies": "",
            "distinguished": None,
            "stickied": False,
            "edited": False,
            "archived": False,
            "locked": False,
            "likes": None,
            "saved": False,
        }

    def inbox_wire(self, recipient: str) -> dict[str, Any]:
        """The comment as an inbox item: inbox-only fields, no ``link_permalink``."""
        data = self.wire()
        data.pop("link_permalink")
        data.update({
            "subject": "username mention",
            "was_comment": True,
            "type": "username_mention",
            "context": f"{self.permalink}?context=3",
            "new": self.unread,
            "dest": recipient,
            "first_message": None,
            "first_message_name": None,
        })
        return data


@dataclass
class _Token:
    username: str | None
    expires_at: float


@dataclass
class _Window:
    started: float
    used: int = 0


Thing = _Post | _Comment


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[[SimRequest, _Token, Sequence[str]], SimResponse]
    needs_user: bool = False


# -- the simulator ------------------------------------------------------------------


class RedditSimulator(SimulatorServer):
    """Reddit's OAuth API, for praw.

    The script app is ``client_id``/``client_secret``; the account praw logs in as is
    ``username``/``password`` (the brand's support account).  ``client_credentials``
    tokens are read-only: the inbox, ``/api/v1/me`` and posting answer them 403.

    Rate limits: ``rate_limit`` API requests per ``window_seconds``, reported in
    ``x-ratelimit-*`` headers (all three, or none with ``send_ratelimit_headers=False``).
    prawcore spreads requests evenly over its own 600-second window, so Reddit's real
    budget (1000 per 600 s) would make a test that fires 20 requests sleep for
    seconds; the default short window keeps prawcore from pacing.  Pass
    ``window_seconds=600`` to watch real pacing.
    """

    def __init__(
        self,
        corpus_items: Iterable[CorpusItem] | None = None,
        client_id: str = "sim-client",
        client_secret: str = "sim-secret",
        username: str = "lumenmobile_support",
        password: str = "sim-password",
        *,
        rate_limit: int = 1000,
        window_seconds: float = 60,
        send_ratelimit_headers: bool = True,
        token_lifetime: int = 86_400,
        subreddits: Iterable[str] = DEFAULT_SUBREDDITS,
        now: datetime | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.password = password
        self.rate_limit = rate_limit
        self.window_seconds = window_seconds
        self.send_ratelimit_headers = send_ratelimit_headers
        self.token_lifetime = token_lifetime
        self._lock = threading.RLock()
        self._redditors: dict[str, _Redditor] = {}
        self._subreddits: dict[str, _Subreddit] = {}
        self._posts: dict[str, _Post] = {}
        self._comments: dict[str, _Comment] = {}
        self._threads: dict[str, _Post] = {}
        self._tokens: dict[str, _Token] = {}
        self._posted: list[str] = []
        self._window: _Window | None = None
        self._next_post = int("1c0000", 36)
        self._next_comment = int("k00000", 36)
        self._issued = 0
        self._account = self._redditor(username, karma=2_450, followers=310,
                                       bio="Official support for Lumen Mobile customers.")
        for name in subreddits:
            self.add_subreddit(name)
        self._routes = self._build_routes()
        anchor = now or datetime.now(UTC)
        items = [item for item in corpus_items or () if item.platform == "reddit"]
        for item in sorted(items, key=lambda item: item.created_relative_to(anchor)):
            created = item.created_relative_to(anchor)
            subreddit = item.subreddit or DEFAULT_SUBREDDITS[0]
            if item.kind == "post":
                self.add_post(item.title or item.text[:80], item.text, item.author, subreddit,
                              created_at=created, karma=item.karma, followers=item.followers)
            else:
                self.add_comment(item.text, item.author, subreddit, created_at=created,
                                 karma=item.karma, followers=item.followers)

    # -- Python API ---------------------------------------------------------------

    def add_subreddit(self, name: str, subscribers: int = 25_000) -> dict[str, Any]:
        """Make ``r/name`` exist (unknown subreddits answer with a redirect, as on Reddit)."""
        with self._lock:
            return self._subreddit(name, subscribers).wire()

    def add_post(
        self,
        title: str,
        selftext: str,
        author: str,
        subreddit: str,
        created_at: datetime | None = None,
        karma: int | None = None,
        followers: int | None = None,
        score: int = 1,
    ) -> dict[str, Any]:
        """Publish a self post in ``r/subreddit``; safe while serving.

        ``karma`` and ``followers``, when given, become the author's current values.
        """
        with self._lock:
            post = self._new_post(title, selftext, self._redditor(author, karma, followers),
                                  self._subreddit(subreddit), created_at, score)
            return post.wire()

    def add_comment(
        self,
        body: str,
        author: str,
        subreddit: str,
        created_at: datetime | None = None,
        link_id: str | None = None,
        parent_id: str | None = None,
        karma: int | None = None,
        followers: int | None = None,
    ) -> dict[str, Any]:
        """Publish a comment; safe while serving.

        ``karma`` and ``followers``, when given, become the author's current values.

        Without ``link_id`` the comment joins the newest post of the subreddit that is
        older than it, or else the subreddit's pinned discussion thread, so that every
        comment has a submission and a ``link_title`` the way Reddit's do.
        """
        created = (created_at or datetime.now(UTC)).astimezone(UTC)
        with self._lock:
            writer = self._redditor(author, karma, followers)
            if parent_id is not None and link_id is None:
                link_id = self._thing(parent_id).post.fullname if parent_id.startswith("t1_") else parent_id
            if link_id is not None:
                post = self._thing(link_id)
                if not isinstance(post, _Post):
                    raise UnknownItemError(f"{link_id} is not a post")
            else:
                post = self._host_post(self._subreddit(subreddit), created)
            comment = self._new_comment(body, writer, post, parent_id or post.fullname, created)
            return comment.wire()

    @property
    def comments(self) -> list[dict[str, Any]]:
        """Every comment, oldest first (a snapshot)."""
        with self._lock:
            return [comment.wire() for comment in self._sorted(self._comments.values(), newest_first=False)]

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Every post, oldest first (a snapshot)."""
        with self._lock:
            return [post.wire() for post in self._sorted(self._posts.values(), newest_first=False)]

    def posted_replies(self) -> list[dict[str, Any]]:
        """Comments created through ``POST /api/comment``, oldest first."""
        with self._lock:
            return [self._comments[comment_id].wire() for comment_id in self._posted]

    def redditor(self, name: str) -> dict[str, Any]:
        with self._lock:
            found = self._redditors.get(name.removeprefix("u/").lower())
            if found is None:
                raise UnknownAccountError(f"no Reddit account u/{name}")
            return found.wire()

    def thing(self, fullname: str) -> dict[str, Any]:
        """A post (``t3_``) or comment (``t1_``) by fullname."""
        with self._lock:
            return self._thing(fullname).wire()

    def expire_tokens(self) -> None:
        """Invalidate every issued token, so that the next API call answers 401."""
        with self._lock:
            self._tokens.clear()

    # -- internals: storage ------------------------------------------------------------

    def _redditor(self, name: str, karma: int | None = None, followers: int | None = None,
                  bio: str | None = None) -> _Redditor:
        """The account ``name`` (created if new), updated with the values given."""
        key = name.removeprefix("u/").lower()
        found = self._redditors.get(key)
        if found is None:
            seed = zlib.crc32(key.encode())
            found = self._redditors[key] = _Redditor(
                name=name.removeprefix("u/"),
                id=to_base36(int("a0000", 36) + len(self._redditors) * 37 + seed % 37),
                created_utc=float(1_262_304_000 + seed % 400_000_000),
                karma=0,
                followers=0,
            )
        if karma is not None:
            found.karma = karma
        if followers is not None:
            found.followers = followers
        if bio is not None:
            found.bio = bio
        return found

    def _subreddit(self, name: str, subscribers: int = 25_000) -> _Subreddit:
        key = name.removeprefix("r/").lower()
        found = self._subreddits.get(key)
        if found is None:
            found = self._subreddits[key] = _Subreddit(
                name=name.removeprefix("r/"),
                id=to_base36(int("2qh00", 36) + zlib.crc32(key.encode()) % 100_000),
                subscribers=subscribers,
            )
        return found

    def _thing(self, fullname: str) -> Thing:
        kind, _, thing_id = fullname.partition("_")
        found: Thing | None = None
        if kind == "t3":
            found = self._posts.get(thing_id)
        elif kind == "t1":
            found = self._comments.get(thing_id)
        if found is None:
            raise UnknownItemError(f"no post or comment {fullname}")
        return found

    def _new_post(self, title: str, selftext: str, author: _Redditor, subreddit: _Subreddit,
                  created_at: datetime | None, score: int = 1) -> _Post:
        created = (created_at or datetime.now(UTC)).astimezone(UTC)
        post = _Post(id=to_base36(self._next_post), title=title, selftext=selftext, author=author,
                     subreddit=subreddit, created_utc=round(created.timestamp(), 3), score=score)
        self._next_post += 1
        self._posts[post.id] = post
        return post

    def _new_comment(self, body: str, author: _Redditor, post: _Post, parent_id: str,
                     created: datetime) -> _Comment:
        comment = _Comment(id=to_base36(self._next_comment), body=body, author=author, post=post,
                           parent_id=parent_id, created_utc=round(created.timestamp(), 3))
        self._next_comment += 1
        self._comments[comment.id] = comment
        post.num_comments += 1
        return comment

    def _host_post(self, subreddit: _Subreddit, created: datetime) -> _Post:
        """The newest post of ``subreddit`` older than ``created``, or its pinned thread."""
        stamp = created.timestamp()
        older = [post for post in self._posts.values()
                 if post.subreddit is subreddit and post.created_utc <= stamp
                 and post is not self._threads.get(subreddit.name.lower())]
        if older:
            return max(older, key=lambda post: (post.created_utc, int(post.id, 36)))
        thread = self._threads.get(subreddit.name.lower())
        if thread is None:
            automod = self._redditor("AutoModerator", karma=1_000_000)
            thread = self._new_post(
                f"Weekly r/{subreddit.name} discussion and questions thread",
                "Ask anything about plans, coverage and devices here. Be civil.",
                automod, subreddit, created - timedelta(days=30),
            )
            self._threads[subreddit.name.lower()] = thread
        return thread

    @staticmethod
    def _sorted(things: Iterable[Thing], *, newest_first: bool = True) -> list[Thing]:
        return sorted(things, key=lambda thing: (thing.created_utc, int(thing.id, 36)), reverse=newest_first)

    # -- internals: HTTP ------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        def route(method: str, pattern: str,
                  handler: Callable[[SimRequest, _Token, Sequence[str]], SimResponse],
                  needs_user: bool = False) -> _Route:
            return _Route(method, re.compile(pattern), handler, needs_user)

        return [
            route("GET", r"^/api/v1/me$", self._get_me, needs_user=True),
            route("GET", r"^/message/(mentions|unread|inbox)$", self._get_inbox, needs_user=True),
            route("POST", r"^/api/read_message$", self._read_message, needs_user=True),
            route("POST", r"^/api/comment$", self._post_comment, needs_user=True),
            route("GET", r"^/api/info$", self._get_info),
            route("GET", r"^/r/([^/]+)/search$", self._search),
            route("GET", r"^/r/([^/]+)/comments$", self._subreddit_comments),
            route("GET", r"^/r/([^/]+)/new$", self._subreddit_new),
            route("GET", r"^/r/([^/]+)/about$", self._subreddit_about),
            route("GET", r"^/user/([^/]+)/comments$", self._user_comments),
            route("GET", r"^/user/([^/]+)/about$", self._user_about),
        ]

    def handle(self, request: SimRequest) -> SimResponse:
        path = request.path.rstrip("/").removesuffix(".json") or "/"
        if path == "/api/v1/access_token" and request.method == "POST":
            return self._access_token(request)
        token = self._bearer(request)
        if token is None:
            return SimResponse(401, reddit_error(401), {"www-authenticate": _INVALID_TOKEN})
        for route in self._routes:
            match = route.pattern.match(path)
            if match is None or route.method != request.method:
                continue
            with self._lock:
                headers = self._spend()
                if route.needs_user and token.username is None:
                    response = SimResponse(403, reddit_error(403))
                else:
                    try:
                        response = route.handler(request, token, match.groups())
                    except HttpError as error:
                        response = error.response()
            response.headers.update(headers)
            return response
        return SimResponse(404, reddit_error(404))

    def fault_response(self, fault: Fault, request: SimRequest) -> SimResponse:
        status = fault.status or 500
        response = SimResponse(status, reddit_error(status))
        if status == 401:
            response.headers["www-authenticate"] = _INVALID_TOKEN
        if status == 429 and self.send_ratelimit_headers:
            with self._lock:
                used = self._window.used if self._window else 0
            response.headers.update({
                "x-ratelimit-remaining": "0.0",
                "x-ratelimit-used": str(used),
                "x-ratelimit-reset": str(math.ceil(fault.reset_after)),
            })
        return response

    def _access_token(self, request: SimRequest) -> SimResponse:
        """``POST /api/v1/access_token``: HTTP Basic app credentials, then the grant."""
        header = request.header("Authorization") or ""
        try:
            scheme, _, encoded = header.partition(" ")
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, binascii.Error):
            scheme, client_id, secret = "", "", ""
        if scheme.lower() != "basic" or (client_id, secret) != (self.client_id, self.client_secret):
            return SimResponse(401, {"message": "Unauthorized", "error": 401})
        form = request.form()
        grant = form.get("grant_type")
        username: str | None = None
        if grant == "password":
            if form.get("username", "").lower() != self.username.lower() or form.get("password") != self.password:
                return SimResponse(200, {"error": "invalid_grant"})
            username = self.username
        elif grant not in ("client_credentials", "https://oauth.reddit.com/grants/installed_client"):
            return SimResponse(200, {"error": "unsupported_grant_type"})
        with self._lock:
            self._issued += 1
            token = f"sim-{self._issued}-{zlib.crc32(f'{client_id}{self._issued}'.encode()):08x}"
            self._tokens[token] = _Token(username=username, expires_at=time.time() + self.token_lifetime)
        return SimResponse(200, {"access_token": token, "token_type": "bearer",
                                 "expires_in": self.token_lifetime, "scope": "*"})

    def _bearer(self, request: SimRequest) -> _Token | None:
        scheme, _, value = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        with self._lock:
            token = self._tokens.get(value.strip())
            if token is None or token.expires_at <= time.time():
                return None
            return token

    def _spend(self) -> dict[str, str]:
        """Count one API request; 429 (with the headers) once the window's budget is spent."""
        now = time.time()
        if self._window is None or now >= self._window.started + self.window_seconds:
            self._window = _Window(started=now)
        window = self._window
        reset = max(math.ceil(window.started + self.window_seconds - now), 0)
        exhausted = window.used >= self.rate_limit
        if not exhausted:
            window.used += 1
        headers = {}
        if self.send_ratelimit_headers:
            headers = {
                "x-ratelimit-remaining": f"{float(max(self.rate_limit - window.used, 0)):.1f}",
                "x-ratelimit-used": str(window.used),
                "x-ratelimit-reset": str(reset),
            }
        if exhausted:
            raise HttpError(429, reddit_error(429), headers)
        return headers

    # -- internals: answers ------------------------------------------------------------------

    @staticmethod
    def _listing(request: SimRequest, things: Sequence[Any],
                 render: Callable[[Any], dict[str, Any]]) -> SimResponse:
        """A Listing page of ``things`` (already newest first) honouring limit/after/before."""
        try:
            limit = min(max(int(request.query.get("limit", 25)), 1), 100)
        except ValueError:
            limit = 25
        after = request.query.get("after")
        before = request.query.get("before")
        names = [thing.fullname for thing in things]
        if after:
            things = things[names.index(after) + 1:] if after in names else []
        elif before:
            things = things[:names.index(before)][-limit:] if before in names else []
        page = list(things[:limit])
        more = len(things) > limit
        return SimResponse(200, {
            "kind": "Listing",
            "data": {
                "after": page[-1].fullname if page and more else None,
                "before": page[0].fullname if page and after else None,
                "dist": len(page),
                "modhash": None,
                "geo_filter": "",
                "children": [render(thing) for thing in page],
            },
        })

    @staticmethod
    def _child(thing: Thing) -> dict[str, Any]:
        return {"kind": "t3" if isinstance(thing, _Post) else "t1", "data": thing.wire()}

    def _known_subreddits(self, spec: str) -> list[_Subreddit]:
        """``r/a+b`` style names; an unknown one answers 302 to the search, as Reddit does."""
        found = []
        for name in spec.split("+"):
            subreddit = self._subreddits.get(name.lower())
            if subreddit is None:
                raise HttpError(302, None, {
                    "location": f"https://www.reddit.com/subreddits/search.json?q={name}",
                })
            found.append(subreddit)
        return found

    def _get_me(self, request: SimRequest, token: _Token, groups: Sequence[str]) -> SimResponse:
        data = self._account.wire()
        data.update({"has_mail": False, "inbox_count": sum(c.unread for c in self._mentions()),
                     "pref_no_profanity": True, "over_18": False})
        return SimResponse(200, data)

    def _mentions(self) -> list[_Comment]:
        pattern = re.compile(rf"(?<![\w/])/?u/{re.escape(self.username)}(?![\w-])", re.IGNORECASE)
        return [comment for comment in self._sorted(self._comments.values())
                if isinstance(comment, _Comment) and comment.author is not self._account
                and pattern.search(comment.body)]

    def _get_inbox(self, request: SimRequest, token: _Token, groups: Sequence[str]) -> SimResponse:
        mentions = self._mentions()
        if groups[0] == "unread":
            mentions = [comment for comment in mentions if comment.unread]
        return self._listing(request, mentions,
                             lambda comment: {"kind": "t1", "data": comment.inbox_wire(self.username)})

    def _read_message(self, request: SimRequest, token: _Token, groups: Sequence[str]) -> SimResponse:
        for fullname in request.form().get("id", "").split(","):
            comment = self._comments.get(fullname.strip().removeprefix("t1_"))
            if comment is not None:
                comment.unread = False
        return SimResponse(200, {})

    def _get_info(self, request: SimRequest, token: _Token, groups: Sequence[str]) -> SimResponse:
        things: list[Thing] = []
        for fullname in request.query.get("id", "").split(","):
            try:
                things.append(self._thing(fullname.strip()))
            except UnknownItemError:
                continue
        return self._listing(request, things[:100], self._child)

    def _search(self, request: SimRequest, token: _Token, groups: Sequence[str]) -> SimResponse:
        raw = request.query.get("q", "").strip()
        spec = groups[0]
        scope = None if spec.lower() == "all" or not _truthy(request.query.get("restrict_sr")) else (
            self._known_subreddits(spec))
        if not raw:
            return self._listing(request, [], self._child)
        try:
            query = SearchQuery(raw if request.query.get("syntax") != "plain" else raw.replace('"', " "))
        except QueryError:
            return self._listing(request, [], self._child)
        window = _TIME_FILTERS.get(request.query.get("t", "all"))
        oldest = (datetime.now(UTC) - window).timestamp() if window else None

        def judge(post: _Post) -> Callable[[str, str], bool | None]:
            def verdict(name: str, value: str) -> bool | None:
                value = value.strip('"').casefold()
                if name == "author":
                    return post.author.name.casefold() == value
                if name == "subreddit":
                    return post.subreddit.name.casefold() == value
                if name == "title":
                    return SearchQuery(value).matches(post.title)
                if name == "selftext":
                    return SearchQuery(value).matches(post.selftext)
                if name == "self":
                    return value in ("1", "yes", "true")
                return None
            return verdict

        posts = [
            post for post in self._sorted(self._posts.values())
            if isinstance(post, _Post)
            and (scope is None or post.subreddit in scope)
            and (oldest is None or post.created_utc >= oldest)
            and query.matches(f"{post.title}\n{post.selftext}", judge(post))
        ]
        return self._listing(request, posts, self._child)

    def _subreddit_comments(self, request: SimRequest, token: _Token, groups: Sequence[str]) -> SimResponse:
        scope = self._known_subreddits(groups[0])
        comments = [c for c in self._sorted(self._comments.values())
                    if isinstance(c, _Comment) and c.post.subreddit in scope]
        return self._listing(request, comments, self._child)

    def _subreddit_new(self, request: SimRequest, token: _Token, groups: Sequence[str]) -> SimResponse:
        scope = self._known_subreddits(groups[0])
        posts = [p for p in self._sorted(self._posts.values()) if isinstance(p, _Post) and p.subreddit in scope]
        return self._listing(request, posts, self._child)

    def _subreddit_about(self, request: SimRequest, token: _Token, groups: Sequence[str]) -> SimResponse:
        subreddit = self._known_subreddits(groups[0])[0]
        return SimResponse(200, {"kind": "t5", "data": subreddit.wire()})

    def _user(self, name: str) -> _Redditor:
        found = self._redditors.get(name.lower())
        if found is None:
            raise HttpError(404, reddit_error(404))
        return found

    def _user_comments(self, request: SimRequest, token: _Token, groups: Sequence[str]) -> SimResponse:
        user = self._user(groups[0])
        comments = [c for c in self._sorted(self._comments.values())
                    if isinstance(c, _Comment) and c.author is user]
        return self._listing(request, comments, self._child)

    def _user_about(self, request: SimRequest, token: _Token, groups: Sequence[str]) -> SimResponse:
        return SimResponse(200, {"kind": "t2", "data": self._user(groups[0]).wire()})

    def _post_comment(self, request: SimRequest, token: _Token, groups: Sequence[str]) -> SimResponse:
        form = request.form()
        parent_name = form.get("thing_id", "")
        text = form.get("text", "")

        def rejected(code: str, message: str, field_name: str) -> SimResponse:
            return SimResponse(200, {"json": {"errors": [[code, message, field_name]]}})

        if not parent_name:
            return rejected("NO_THING_ID", "id not specified", "parent")
        try:
            parent = self._thing(parent_name)
        except UnknownItemError:
            if parent_name.startswith("t1_"):
                return rejected("DELETED_COMMENT", "that comment has been deleted", "parent")
            return rejected("DELETED_LINK", "the link you are commenting on has been deleted", "parent")
        if not text.strip():
            return rejected("NO_TEXT", "we need something here", "text")
        if len(text) > MAX_COMMENT_LENGTH:
            return rejected("TOO_LONG", f"this is too long (max: {MAX_COMMENT_LENGTH})", "text")
        post = parent if isinstance(parent, _Post) else parent.post
        comment = self._new_comment(text, self._account, post, parent.fullname, datetime.now(UTC))
        if isinstance(parent, _Comment):
            parent.replies.append(comment.id)
        self._posted.append(comment.id)
        return SimResponse(200, {"json": {"errors": [], "data": {"things": [
            {"kind": "t1", "data": comment.wire()},
        ]}}})
