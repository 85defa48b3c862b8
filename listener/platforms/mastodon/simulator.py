"""A Mastodon simulator that the real ``Mastodon.py`` client can be pointed at.

It serves the REST calls Harken makes, in Mastodon's wire format:
``/api/v1/accounts/verify_credentials``, ``/api/v2/instance`` (with
``configuration.statuses.max_characters``, left out when the instance does not say),
``/api/v1/notifications`` (``types[]=mention``), ``/api/v1/timelines/tag/:tag``,
``/api/v1/statuses/:id`` and ``/:id/context``, and ``POST /api/v1/statuses`` (the
instance's limit, every URL counted as 23 characters, ``@user@domain`` counted as
``@user``).  Lists page by id the Mastodon way: newest first, ``max_id`` /
``since_id`` / ``min_id``, and a ``Link`` header with ``rel="next"`` (older) and
``rel="prev"`` (newer).  Every answer carries ``X-RateLimit-Limit/-Remaining/-Reset``
(300 requests per 5 minutes per token by default); a spent budget answers 429.

A status's ``content`` is HTML as Mastodon renders it: paragraphs, ``<br />``, links
with invisible spans, ``h-card`` mentions and hashtag links.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

from listener.simulators.corpus import CorpusItem
from listener.simulators.errors import UnknownAccountError, UnknownItemError
from listener.simulators.faults import Fault
from listener.simulators.server import HttpError, SimRequest, SimResponse, SimulatorServer, status_phrase

__all__ = ["DEFAULT_MAX_CHARACTERS", "URL_LENGTH", "MastodonSimulator", "counted_length"]

DEFAULT_MAX_CHARACTERS = 500
URL_LENGTH = 23
VISIBILITIES = ("public", "unlisted", "private", "direct")
_URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'}]")
_MENTION = re.compile(r"(?<![\w/])@([a-zA-Z0-9_]+)(?:@([a-zA-Z0-9.-]+\.[a-zA-Z]{2,}))?")
_HASHTAG = re.compile(r"(?<![\w/&])#(\w+)")
_USERNAME = re.compile(r"^[a-zA-Z0-9_]{1,30}$")


def counted_length(text: str) -> int:
    """Mastodon's count: every URL is 23 characters, a remote mention counts only ``@user``."""
    text = _URL.sub("x" * URL_LENGTH, text)
    text = _MENTION.sub(lambda match: "@" + match.group(1), text)
    return len(text)


def format_time(moment: datetime) -> str:
    """``2024-05-01T12:00:00.000Z``, as Mastodon writes ``created_at``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def mastodon_error(status: int, message: str, headers: dict[str, str] | None = None) -> HttpError:
    return HttpError(status, {"error": message}, headers)


# -- state ---------------------------------------------------------------------------------------


@dataclass
class _Account:
    id: str
    username: str
    domain: str | None  # None: on the simulated instance itself
    display_name: str
    note: str
    followers: int
    following: int
    created_at: datetime
    bot: bool = False
    statuses: int = 0
    fields: list[dict[str, str]] = field(default_factory=list)

    def acct(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"

    def url(self, local_domain: str) -> str:
        return f"https://{self.domain or local_domain}/@{self.username}"

    def wire(self, local_domain: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "acct": self.acct(),
            "display_name": self.display_name,
            "locked": False,
            "bot": self.bot,
            "discoverable": True,
            "group": False,
            "created_at": self.created_at.strftime("%Y-%m-%dT00:00:00.000Z"),
            "note": "".join(f"<p>{html.escape(line)}</p>" for line in self.note.split("\n\n") if line),
            "url": self.url(local_domain),
            "uri": f"https://{self.domain or local_domain}/users/{self.username}",
            "avatar": f"https://{local_domain}/avatars/original/missing.png",
            "avatar_static": f"https://{local_domain}/avatars/original/missing.png",
            "header": f"https://{local_domain}/headers/original/missing.png",
            "header_static": f"https://{local_domain}/headers/original/missing.png",
            "followers_count": self.followers,
            "following_count": self.following,
            "statuses_count": self.statuses,
            "last_status_at": None,
            "emojis": [],
            "fields": list(self.fields),
        }


@dataclass
class _Status:
    id: str
    account_id: str
    text: str
    created_at: datetime
    visibility: str
    language: str | None
    in_reply_to_id: str | None
    in_reply_to_account_id: str | None
    spoiler_text: str = ""
    replies: int = 0

    @property
    def number(self) -> int:
        return int(self.id)


@dataclass
class _Notification:
    id: str
    type: str
    account_id: str
    status_id: str | None
    created_at: datetime

    @property
    def number(self) -> int:
        return int(self.id)


@dataclass
class _Window:
    started: float
    used: int = 0


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[[SimRequest, str, Sequence[str]], SimResponse]


# -- the simulator ---------------------------------------------------------------------------------


class MastodonSimulator(SimulatorServer):
    """One Mastodon instance (``domain``) where the brand has an account, for Mastodon.py.

    ``access_token`` acts as the brand (scopes read and write).  ``max_characters``
    is the instance's status limit; ``None`` leaves it out of ``/api/v2/instance``, as
    older servers do (clients then assume 500).  Corpus items with ``platform ==
    "mastodon"`` are published, oldest first, re-dated relative to ``now``; their
    authors may be ``user@other.server``.
    """

    def __init__(
        self,
        corpus_items: Iterable[CorpusItem] | None = None,
        access_token: str = "sim-mastodon-token",
        brand_username: str = "lumenmobile",
        *,
        domain: str = "mastodon.example",
        brand_name: str = "Lumen Mobile",
        max_characters: int | None = DEFAULT_MAX_CHARACTERS,
        rate_limit: int = 300,
        window_seconds: float = 300,
        now: datetime | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.access_token = access_token
        self.domain = domain
        self.max_characters = max_characters
        self.rate_limit = rate_limit
        self.window_seconds = window_seconds
        self._lock = threading.RLock()
        self._accounts: dict[str, _Account] = {}
        self._ids_by_acct: dict[str, str] = {}
        self._statuses: dict[str, _Status] = {}
        self._notifications: list[_Notification] = []
        self._windows: dict[str, _Window] = {}
        self._left_out: dict[str, tuple[str, ...]] = {}
        self._sequence = itertools.count(1)
        self._last_id = 0
        self._routes = self._build_routes()
        self.brand_id = self.add_account(
            brand_username, brand_name, followers=8_300,
            bio=f"Official {brand_name} account. Support 8am-10pm ET.",
        )["id"]
        anchor = now or datetime.now(UTC)
        items = [item for item in corpus_items or () if item.platform == "mastodon"]  # type: ignore[comparison-overlap]
        for item in sorted(items, key=lambda item: item.created_relative_to(anchor)):
            self.add_account(item.author, item.display_name, followers=item.followers, bio=item.bio)
            self.add_status(item.text, item.author, created_at=item.created_relative_to(anchor), language=item.lang)

    # -- Python API ----------------------------------------------------------------------------------

    def add_account(
        self,
        acct: str,
        display_name: str | None = None,
        followers: int | None = None,
        bio: str | None = None,
        *,
        fields: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Create ``user`` (on this instance) or ``user@server`` (remote), or update it; return it."""
        username, _, domain = acct.lstrip("@").partition("@")
        if not _USERNAME.match(username):
            raise ValueError(f"{acct!r} is not a valid Mastodon account (user or user@server)")
        domain_or_none = None if not domain or domain == self.domain else domain.lower()
        key = username.lower() if domain_or_none is None else f"{username.lower()}@{domain_or_none}"
        with self._lock:
            account_id = self._ids_by_acct.get(key)
            if account_id is None:
                account_id = str(109_000_000_000_000_000 + len(self._accounts) * 7919)
                self._accounts[account_id] = _Account(
                    account_id, username, domain_or_none, username, "", 0, 30 + len(key) * 17,
                    datetime(2022, 11, 1, tzinfo=UTC) + timedelta(days=len(self._accounts)),
                )
                self._ids_by_acct[key] = account_id
            account = self._accounts[account_id]
            if display_name is not None:
                account.display_name = display_name
            if followers is not None:
                account.followers = followers
            if bio is not None:
                account.note = bio
            if fields is not None:
                account.fields = fields
            return account.wire(self.domain)

    def add_status(
        self,
        text: str,
        author: str,
        *,
        in_reply_to_id: str | None = None,
        visibility: str = "public",
        language: str | None = "en",
        created_at: datetime | None = None,
        spoiler_text: str = "",
    ) -> dict[str, Any]:
        """Publish a status by ``author`` (``user`` or ``user@server``); mentions notify the brand."""
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}, not {visibility!r}")
        with self._lock:
            account_id = self._account_id(author)
            return self._status_wire(self._publish(account_id, text, in_reply_to_id, visibility, language,
                                                   created_at, spoiler_text))

    def leave_out_fields(self, status_id: str, *fields: str) -> None:
        """Answer the status without these fields from now on (as a broken or odd server might)."""
        with self._lock:
            self._status(status_id)
            self._left_out[status_id] = fields

    def status(self, status_id: str) -> dict[str, Any]:
        with self._lock:
            return self._status_wire(self._status(status_id))

    def statuses(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._status_wire(status) for status in self._statuses.values()]

    def posted_replies(self) -> list[dict[str, Any]]:
        """Statuses the brand posted (through the API), oldest first."""
        with self._lock:
            return [self._status_wire(s) for s in self._statuses.values() if s.account_id == self.brand_id]

    # -- state helpers -------------------------------------------------------------------------------

    def _account_id(self, acct: str) -> str:
        username, _, domain = acct.lstrip("@").partition("@")
        key = username.lower() if not domain or domain == self.domain else f"{username.lower()}@{domain.lower()}"
        account_id = self._ids_by_acct.get(key)
        if account_id is None:
            raise UnknownAccountError(f"no Mastodon account {acct!r}")
        return account_id

    def _status(self, status_id: str) -> _Status:
        status = self._statuses.get(status_id)
        if status is None:
            raise UnknownItemError(f"no Mastodon status {status_id!r}")
        return status

    def _next_id(self, moment: datetime) -> str:
        """Snowflake-like ids: milliseconds shifted 16 bits, kept growing in arrival order."""
        candidate = int(moment.timestamp() * 1000) << 16 | (next(self._sequence) & 0xFFFF)
        self._last_id = max(candidate, self._last_id + 1)
        return str(self._last_id)

    def _publish(self, account_id: str, text: str, in_reply_to_id: str | None, visibility: str,
                 language: str | None, created_at: datetime | None, spoiler_text: str) -> _Status:
        parent = self._status(in_reply_to_id) if in_reply_to_id is not None else None
        moment = created_at or datetime.now(UTC)
        status = _Status(
            self._next_id(moment), account_id, text, moment, visibility, language,
            parent.id if parent else None, parent.account_id if parent else None, spoiler_text,
        )
        self._statuses[status.id] = status
        self._accounts[account_id].statuses += 1
        if parent is not None:
            parent.replies += 1
        mentions_brand = any(account.id == self.brand_id for account in self._mentioned(text))
        if account_id != self.brand_id and mentions_brand:
            self._notifications.append(_Notification(self._next_id(moment), "mention", account_id, status.id,
                                                     moment))
        return status

    def _mentioned(self, text: str) -> list[_Account]:
        found = []
        for match in _MENTION.finditer(text):
            acct = match.group(1) if match.group(2) is None else f"{match.group(1)}@{match.group(2)}"
            with_domain = self._ids_by_acct.get(acct.lower()) or self._ids_by_acct.get(
                match.group(1).lower() if match.group(2) in (None, self.domain) else "")
            if with_domain is not None:
                found.append(self._accounts[with_domain])
        return found

    def _content_html(self, text: str) -> str:
        """Render plain text the way Mastodon does: escaped, linkified, in paragraphs."""
        mentioned = {account.username.lower(): account for account in self._mentioned(text)}

        def render_line(line: str) -> str:
            pieces: list[str] = []
            position = 0
            pattern = re.compile(f"{_URL.pattern}|{_MENTION.pattern}|{_HASHTAG.pattern}")
            for match in pattern.finditer(line):
                pieces.append(html.escape(line[position:match.start()], quote=False))
                token = match.group(0)
                if token.startswith("http"):
                    scheme, _, rest = token.partition("://")
                    shown, hidden = rest[:30], rest[30:]
                    pieces.append(
                        f'<a href="{html.escape(token)}" target="_blank" rel="nofollow noopener" translate="no">'
                        f'<span class="invisible">{scheme}://</span><span class="{"ellipsis" if hidden else ""}">'
                        f'{html.escape(shown)}</span><span class="invisible">{html.escape(hidden)}</span></a>'
                    )
                elif token.startswith("@") and token[1:].split("@")[0].lower() in mentioned:
                    account = mentioned[token[1:].split("@")[0].lower()]
                    pieces.append(
                        f'<span class="h-card" translate="no"><a href="{account.url(self.domain)}" '
                        f'class="u-url mention">@<span>{html.escape(account.username)}</span></a></span>'
                    )
                elif token.startswith("#"):
                    tag = token[1:]
                    pieces.append(f'<a href="https://{self.domain}/tags/{tag.lower()}" class="mention hashtag" '
                                  f'rel="tag">#<span>{html.escape(tag)}</span></a>')
                else:
                    pieces.append(html.escape(token, quote=False))
                position = match.end()
            pieces.append(html.escape(line[position:], quote=False))
            return "".join(pieces)

        paragraphs = [part for part in re.split(r"\n{2,}", text.strip()) if part]
        return "".join("<p>" + "<br />".join(render_line(line) for line in part.split("\n")) + "</p>"
                       for part in paragraphs)

    def _status_wire(self, status: _Status) -> dict[str, Any]:
        account = self._accounts[status.account_id]
        tags = sorted({match.group(1).lower() for match in _HASHTAG.finditer(status.text)})
        host = account.domain or self.domain
        wire = {
            "id": status.id,
            "created_at": format_time(status.created_at),
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": status.in_reply_to_account_id,
            "sensitive": bool(status.spoiler_text),
            "spoiler_text": status.spoiler_text,
            "visibility": status.visibility,
            "language": status.language,
            "uri": f"https://{host}/users/{account.username}/statuses/{status.id}",
            "url": f"https://{host}/@{account.username}/{status.id}",
            "replies_count": status.replies,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "content": self._content_html(status.text),
            "reblog": None,
            "application": None,
            "account": account.wire(self.domain),
            "media_attachments": [],
            "mentions": [
                {"id": mentioned.id, "username": mentioned.username, "acct": mentioned.acct(),
                 "url": mentioned.url(self.domain)}
                for mentioned in self._mentioned(status.text)
            ],
            "tags": [{"name": tag, "url": f"https://{self.domain}/tags/{tag}"} for tag in tags],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        for name in self._left_out.get(status.id, ()):
            wire.pop(name, None)
        return wire

    def _visible(self, status: _Status) -> bool:
        """What the brand may see: public and unlisted, its own, and what mentions it."""
        if status.visibility in ("public", "unlisted") or status.account_id == self.brand_id:
            return True
        return any(account.id == self.brand_id for account in self._mentioned(status.text))

    # -- HTTP ----------------------------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        def route(method: str, pattern: str,
                  handler: Callable[[SimRequest, str, Sequence[str]], SimResponse]) -> _Route:
            return _Route(method, re.compile(pattern), handler)

        return [
            route("GET", r"^/api/v1/accounts/verify_credentials$", self._verify_credentials),
            route("GET", r"^/api/v2/instance$", self._instance),
            route("GET", r"^/api/v1/notifications$", self._get_notifications),
            route("GET", r"^/api/v1/timelines/tag/([^/]+)$", self._tag_timeline),
            route("GET", r"^/api/v1/statuses/(\d+)/context$", self._context),
            route("GET", r"^/api/v1/statuses/(\d+)$", self._get_status),
            route("POST", r"^/api/v1/statuses$", self._post_status),
        ]

    def handle(self, request: SimRequest) -> SimResponse:
        header = (request.header("Authorization") or "").strip()
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        public = request.path.rstrip("/") == "/api/v2/instance" or request.path.startswith("/api/v1/timelines/tag/")
        if token != self.access_token and not (public and token is None):
            return SimResponse(401, {"error": "The access token is invalid"})
        path = request.path.rstrip("/")  # Mastodon.py asks for /api/v2/instance/
        for route in self._routes:
            match = route.pattern.match(path)
            if match is None or route.method != request.method:
                continue
            with self._lock:
                headers = self._spend(token or "anonymous")
                try:
                    response = route.handler(request, token or "", match.groups())
                except HttpError as error:
                    response = error.response()
            response.headers = {**headers, **response.headers}
            return response
        return SimResponse(404, {"error": "Record not found"})

    def fault_response(self, fault: Fault, request: SimRequest) -> SimResponse:
        status = fault.status or 500
        if status == 429:
            return SimResponse(429, {"error": "Too many requests"}, self._rate_headers(
                0, time.time() + fault.reset_after))
        return SimResponse(status, {"error": status_phrase(status)})

    def _rate_headers(self, remaining: int, reset: float) -> dict[str, str]:
        moment = datetime.fromtimestamp(reset, UTC)
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }

    def _spend(self, key: str) -> dict[str, str]:
        now = time.time()
        window = self._windows.get(key)
        if window is None or now >= window.started + self.window_seconds:
            window = self._windows[key] = _Window(started=now)
        reset = math.ceil(window.started + self.window_seconds)
        if window.used >= self.rate_limit:
            raise mastodon_error(429, "Too many requests", self._rate_headers(0, reset))
        window.used += 1
        return self._rate_headers(self.rate_limit - window.used, reset)

    @staticmethod
    def _query_list(request: SimRequest, name: str) -> list[str]:
        parsed = parse_qs(request.raw_query, keep_blank_values=True)
        return parsed.get(f"{name}[]", []) + parsed.get(name, [])

    @staticmethod
    def _id_param(request: SimRequest, name: str) -> int | None:
        raw = request.query.get(name)
        if raw in (None, ""):
            return None
        if not raw.isdigit():
            raise mastodon_error(422, f"{name} must be a status or notification id")
        return int(raw)

    def _page(self, request: SimRequest, items: list[Any], default: int, high: int,
              extra: dict[str, str | list[str]]) -> tuple[list[Any], dict[str, str]]:
        """One page of ``items`` (oldest first, each with ``.number``) the Mastodon way, and its Link."""
        raw_limit = request.query.get("limit")
        limit = default if raw_limit in (None, "") else max(1, min(high, int(raw_limit) if raw_limit.isdigit()
                                                                  else default))
        max_id, since_id, min_id = (self._id_param(request, n) for n in ("max_id", "since_id", "min_id"))
        chosen = [item for item in items
                  if (max_id is None or item.number < max_id) and (since_id is None or item.number > since_id)
                  and (min_id is None or item.number > min_id)]
        # min_id asks for the oldest items just above it; otherwise the newest ones come first
        page = chosen[:limit] if min_id is not None else chosen[-limit:]
        page = list(reversed(page))  # answered newest first
        headers: dict[str, str] = {}
        if page:
            base = f"{self.base_url}{request.path}"

            def link(**ids: str) -> str:
                params: list[tuple[str, str]] = []
                for key, value in extra.items():
                    params.extend((f"{key}[]", v) for v in value) if isinstance(value, list) else params.append(
                        (key, value))
                params.extend(ids.items())
                params.append(("limit", str(limit)))
                return f"{base}?{urlencode(params)}"

            headers["Link"] = (f'<{link(max_id=page[-1].id)}>; rel="next", '
                               f'<{link(min_id=page[0].id)}>; rel="prev"')
        return page, headers

    def _verify_credentials(self, request: SimRequest, token: str, groups: Sequence[str]) -> SimResponse:
        account = self._accounts[self.brand_id].wire(self.domain)
        account["source"] = {"privacy": "public", "sensitive": False, "language": "en", "note": "", "fields": []}
        return SimResponse(200, account)

    def _instance(self, request: SimRequest, token: str, groups: Sequence[str]) -> SimResponse:
        statuses: dict[str, Any] = {"max_media_attachments": 4, "characters_reserved_per_url": URL_LENGTH}
        if self.max_characters is not None:
            statuses["max_characters"] = self.max_characters
        return SimResponse(200, {
            "domain": self.domain,
            "title": "Mastodon (simulated)",
            "version": "4.3.0",
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A simulated Mastodon instance for Harken's tests.",
            "usage": {"users": {"active_month": len(self._accounts)}},
            "languages": ["en"],
            "configuration": {"urls": {"streaming": f"ws://{self.base_url.removeprefix('http://')}"},
                              "statuses": statuses, "accounts": {"max_featured_tags": 10}},
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "contact": {"email": f"admin@{self.domain}", "account": None},
            "rules": [],
        })

    def _get_notifications(self, request: SimRequest, token: str, groups: Sequence[str]) -> SimResponse:
        types = self._query_list(request, "types")
        excluded = set(self._query_list(request, "exclude_types"))
        items = [n for n in self._notifications if (not types or n.type in types) and n.type not in excluded]
        page, headers = self._page(request, items, 40, 80, {"types": types} if types else {})
        return SimResponse(200, [self._notification_wire(n) for n in page], headers)

    def _notification_wire(self, notification: _Notification) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "id": notification.id,
            "type": notification.type,
            "created_at": format_time(notification.created_at),
            "account": self._accounts[notification.account_id].wire(self.domain),
        }
        if notification.status_id is not None:
            wire["status"] = self._status_wire(self._statuses[notification.status_id])
        return wire

    def _tag_timeline(self, request: SimRequest, token: str, groups: Sequence[str]) -> SimResponse:
        tag = groups[0].lower()
        items = [s for s in self._statuses.values() if s.visibility == "public"
                 and tag in {m.group(1).lower() for m in _HASHTAG.finditer(s.text)}]
        items.sort(key=lambda status: status.number)
        page, headers = self._page(request, items, 20, 40, {})
        return SimResponse(200, [self._status_wire(s) for s in page], headers)

    def _visible_status(self, status_id: str) -> _Status:
        status = self._statuses.get(status_id)
        if status is None or not self._visible(status):
            raise mastodon_error(404, "Record not found")
        return status

    def _get_status(self, request: SimRequest, token: str, groups: Sequence[str]) -> SimResponse:
        return SimResponse(200, self._status_wire(self._visible_status(groups[0])))

    def _context(self, request: SimRequest, token: str, groups: Sequence[str]) -> SimResponse:
        status = self._visible_status(groups[0])
        ancestors: list[_Status] = []
        cursor = status
        while cursor.in_reply_to_id is not None and cursor.in_reply_to_id in self._statuses:
            cursor = self._statuses[cursor.in_reply_to_id]
            ancestors.insert(0, cursor)
        descendants: list[_Status] = []
        frontier = [status.id]
        while frontier:
            children = [s for s in self._statuses.values() if s.in_reply_to_id in frontier]
            descendants.extend(children)
            frontier = [child.id for child in children]
        descendants.sort(key=lambda s: s.number)
        return SimResponse(200, {
            "ancestors": [self._status_wire(s) for s in ancestors if self._visible(s)],
            "descendants": [self._status_wire(s) for s in descendants if self._visible(s)],
        })

    def _post_status(self, request: SimRequest, token: str, groups: Sequence[str]) -> SimResponse:
        content_type = (request.header("Content-Type") or "").lower()
        if "json" in content_type:
            body = request.json()
            if not isinstance(body, dict):
                raise mastodon_error(422, "Validation failed: Text can't be blank")
            form = {key: str(value) for key, value in body.items() if value is not None}
        else:
            form = request.form()
        text = form.get("status", "")
        if not text.strip():
            raise mastodon_error(422, "Validation failed: Text can't be blank")
        limit = self.max_characters or DEFAULT_MAX_CHARACTERS
        if counted_length(text) > limit:
            raise mastodon_error(422, f"Validation failed: Text character limit of {limit} exceeded")
        visibility = form.get("visibility") or "public"
        if visibility not in VISIBILITIES:
            raise mastodon_error(422, "Validation failed: Visibility is not included in the list")
        in_reply_to_id = form.get("in_reply_to_id") or None
        if in_reply_to_id is not None and in_reply_to_id not in self._statuses:
            raise mastodon_error(404, "Record not found")
        status = self._publish(self.brand_id, text, in_reply_to_id, visibility, form.get("language") or None,
                               None, form.get("spoiler_text", ""))
        return SimResponse(200, self._status_wire(status))
