"""A Bluesky simulator that the real ``atproto.Client`` and ``JetstreamClient`` can be pointed at.

Two servers on 127.0.0.1:

* **XRPC over HTTP** (``atproto.Client(base_url=sim.base_url)``; the client appends
  ``/xrpc``): ``com.atproto.server.createSession`` and ``refreshSession`` (sessions are
  JWTs whose ``exp`` the client reads to decide when to refresh),
  ``app.bsky.actor.getProfile``/``getProfiles``, ``app.bsky.notification.listNotifications``
  (newest first, an opaque cursor that stays put while new notifications arrive),
  ``app.bsky.feed.getPostThread`` and ``com.atproto.repo.createRecord`` for
  ``app.bsky.feed.post`` (300 graphemes, reply references checked).  Errors come in
  XRPC's shape ``{"error": "...", "message": "..."}`` with the PDS's ``ratelimit-*``
  headers.
* **Jetstream v2 over a real websocket** (``JetstreamClient(base_uri=sim.jetstream_url)``),
  ``network.bsky.jetstream.subscribeEvents`` with the ``xrpc.v1.json`` subprotocol: every
  post becomes a ``#commit`` event with a growing ``seq``; ``cursor`` replays inclusively
  from a seq, or from a Unix-microsecond time when it is >= 1e15; posts added while a
  client is connected arrive live.  :meth:`BlueskySimulator.drop_stream_after` cuts the
  next connection's TCP socket mid-stream (no close frame), as a proxy restart does.

The HTTP side shares the fault injection of the X and Reddit simulators
(:class:`~listener.simulators.faults.Fault`: 429 with reset headers, 5xx, malformed
bodies, delays).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import math
import re
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import regex
from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.sync.server import Server, ServerConnection, serve

from listener.simulators.corpus import CorpusItem
from listener.simulators.errors import UnknownAccountError, UnknownItemError
from listener.simulators.faults import Fault
from listener.simulators.server import HOST, HttpError, SimRequest, SimResponse, SimulatorServer

__all__ = ["MAX_POST_GRAPHEMES", "BlueskySimulator"]

MAX_POST_GRAPHEMES = 300
MAX_POST_BYTES = 3000
POST_COLLECTION = "app.bsky.feed.post"
SUBSCRIBE_EVENTS = "network.bsky.jetstream.subscribeEvents"
XRPC_SUBPROTOCOL = "xrpc.v1.json"
NOTIFICATION_REASONS = ("like", "repost", "follow", "mention", "reply", "quote")
_TIMESTAMP_CURSOR_FLOOR = 10**15  # Jetstream reads a cursor this large as Unix microseconds
_BASE32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
_HANDLE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_MENTION = re.compile(r"(?<![\w@])@([a-z0-9][a-z0-9.-]*[a-z0-9])", re.IGNORECASE)


def format_time(moment: datetime) -> str:
    """``2024-05-01T12:00:00.123456Z``: the microsecond ISO time Bluesky writes."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def xrpc_error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> HttpError:
    return HttpError(status, {"error": error, "message": message}, headers)


def grapheme_count(text: str) -> int:
    return len(regex.findall(r"\X", text))


def tid_for(moment: datetime, clock_id: int) -> str:
    """A record key in TID form: 13 sortable base32 characters of microseconds and a clock id."""
    micros = int(moment.timestamp() * 1_000_000)
    number = (micros << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_BASE32_SORTABLE[number & 31])
        number >>= 5
    return "".join(reversed(chars))


def cid_for(content: Any) -> str:
    """A CIDv1 (dag-cbor, sha-256) string, derived from the record so that it is stable."""
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).digest()
    return "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")[:52]


def did_for(handle: str) -> str:
    digest = hashlib.sha256(handle.lower().encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower().rstrip("=")[:24]


def _b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# -- state -----------------------------------------------------------------------------------


@dataclass
class _Account:
    did: str
    handle: str
    display_name: str | None
    description: str | None
    followers: int
    follows: int
    created_at: datetime
    posts: int = 0

    def basic(self) -> dict[str, Any]:
        """``app.bsky.actor.defs#profileViewBasic``; display name only when the account set one."""
        view: dict[str, Any] = {"did": self.did, "handle": self.handle, "labels": [],
                                "createdAt": format_time(self.created_at)}
        if self.display_name is not None:
            view["displayName"] = self.display_name
        return view

    def detailed(self) -> dict[str, Any]:
        """``app.bsky.actor.defs#profileViewDetailed``."""
        view = self.basic()
        if self.description is not None:
            view["description"] = self.description
        view.update({
            "followersCount": self.followers,
            "followsCount": self.follows,
            "postsCount": self.posts,
            "indexedAt": format_time(self.created_at),
        })
        return view


@dataclass
class _Post:
    uri: str
    cid: str
    author_did: str
    record: dict[str, Any]
    indexed_at: datetime
    reply_count: int = 0

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[1]

    def ref(self) -> dict[str, str]:
        return {"uri": self.uri, "cid": self.cid}


@dataclass
class _Notification:
    number: int
    uri: str
    cid: str
    author_did: str
    reason: str
    record: dict[str, Any]
    indexed_at: datetime
    reason_subject: str | None = None


@dataclass
class _Event:
    """One Jetstream event: the payload (a ``#commit``) and the moment it was witnessed."""

    seq: int
    time_us: int
    payload: dict[str, Any]


@dataclass
class _Session:
    did: str
    kind: str  # "access" or "refresh"
    expires: float


@dataclass
class _Window:
    started: float
    used: int = 0


@dataclass
class _StreamDrop:
    after_events: int


# -- the simulator ---------------------------------------------------------------------------------


class BlueskySimulator(SimulatorServer):
    """Bluesky's XRPC API (a PDS with the AppView behind it) and a Jetstream instance.

    The brand account is ``brand_handle`` signing in with ``app_password``.  Access
    tokens live ``access_token_seconds`` (the client refreshes 15 minutes before
    expiry, so a value under 900 makes every call refresh first).  ``rate_limit``
    requests per ``window_seconds`` apply to all XRPC calls together, as a PDS counts
    them.  Corpus items with ``platform == "bluesky"`` are published, oldest first,
    re-dated relative to ``now``.
    """

    def __init__(
        self,
        corpus_items: Iterable[CorpusItem] | None = None,
        brand_handle: str = "lumenmobile.bsky.social",
        app_password: str = "sim-app-password",
        *,
        brand_name: str = "Lumen Mobile",
        access_token_seconds: float = 7200,
        rate_limit: int = 3000,
        window_seconds: float = 300,
        now: datetime | None = None,
        port: int = 0,
        jetstream_port: int = 0,
    ) -> None:
        super().__init__(port)
        self.brand_handle = brand_handle
        self.app_password = app_password
        self.access_token_seconds = access_token_seconds
        self.rate_limit = rate_limit
        self.window_seconds = window_seconds
        self._lock = threading.RLock()
        self._events_changed = threading.Condition(self._lock)
        self._accounts: dict[str, _Account] = {}
        self._dids_by_handle: dict[str, str] = {}
        self._posts: dict[str, _Post] = {}
        self._notifications: list[_Notification] = []
        self._events: list[_Event] = []
        self._sessions: dict[str, _Session] = {}
        self._window: _Window | None = None
        self._counter = itertools.count(1)
        self._last_time_us = 0
        self._stream_drops: list[_StreamDrop] = []
        self._jetstream_port = jetstream_port
        self._jetstream: Server | None = None
        self._jetstream_thread: threading.Thread | None = None
        self._stream_connections: set[ServerConnection] = set()
        self.session_creations = 0
        self.session_refreshes = 0
        self.event_interval_seconds = 0.0
        """Pause between two Jetstream events sent, so a test can kill a consumer mid-stream."""
        self.stream_cursors: list[str | None] = []
        """The ``cursor`` each Jetstream connection asked for, in order (None: the live tip)."""
        self.brand_did = self.add_account(
            brand_handle, brand_name, followers=12_400,
            bio=f"Official {brand_name} on Bluesky. Support 8am-10pm ET.",
        )["did"]
        anchor = now or datetime.now(UTC)
        items = [item for item in corpus_items or () if item.platform == "bluesky"]  # type: ignore[comparison-overlap]
        for item in sorted(items, key=lambda item: item.created_relative_to(anchor)):
            self.add_account(item.author, item.display_name, followers=item.followers, bio=item.bio)
            self.add_post(item.text, item.author, created_at=item.created_relative_to(anchor), langs=[item.lang])

    # -- lifecycle: the websocket server starts and stops with the HTTP one --------------------

    def start(self) -> BlueskySimulator:
        if self.running:
            return self
        super().start()
        server = serve(
            self._serve_stream, HOST, self._jetstream_port,
            subprotocols=[XRPC_SUBPROTOCOL],  # type: ignore[list-item]
            process_request=self._check_stream_request,
        )
        self._jetstream = server
        self._jetstream_thread = threading.Thread(
            target=server.serve_forever, name=f"Jetstream:{self.jetstream_port}", daemon=True
        )
        self._jetstream_thread.start()
        return self

    def stop(self) -> None:
        server, self._jetstream = self._jetstream, None
        if server is not None:
            server.shutdown()
            with self._lock:
                connections = list(self._stream_connections)
                self._events_changed.notify_all()
            for connection in connections:
                self._cut(connection)
            if self._jetstream_thread is not None:
                self._jetstream_thread.join(timeout=5)
                self._jetstream_thread = None
        super().stop()

    @property
    def jetstream_port(self) -> int:
        if self._jetstream is None:
            return super().port  # raises SimulatorNotRunningError
        return int(self._jetstream.socket.getsockname()[1])

    @property
    def jetstream_url(self) -> str:
        """``ws://127.0.0.1:PORT/xrpc``: the ``base_uri`` for ``JetstreamClient``."""
        return f"ws://{HOST}:{self.jetstream_port}/xrpc"

    # -- Python API ------------------------------------------------------------------------------

    def add_account(
        self,
        handle: str,
        display_name: str | None = None,
        followers: int | None = None,
        bio: str | None = None,
    ) -> dict[str, Any]:
        """Create the account ``handle`` (or update the values given); return its detailed profile.

        An account created without ``display_name`` or ``bio`` has none, as on Bluesky:
        its profile views then lack ``displayName`` / ``description``.
        """
        handle = handle.lower().lstrip("@")
        if "." not in handle:
            handle = f"{handle}.bsky.social"
        if not _HANDLE.match(handle):
            raise ValueError(f"{handle!r} is not a valid Bluesky handle (a domain name)")
        with self._lock:
            did = self._dids_by_handle.get(handle)
            if did is None:
                did = did_for(handle)
                seed = int(did[-6:], 36) if did[-6:].isalnum() else 0
                account = _Account(did, handle, None, None, 0, 40 + seed % 700,
                                   datetime(2023, 4, 1, tzinfo=UTC))
                self._accounts[did] = account
                self._dids_by_handle[handle] = did
            account = self._accounts[did]
            if display_name is not None:
                account.display_name = display_name
            if followers is not None:
                account.followers = followers
            if bio is not None:
                account.description = bio
            return account.detailed()

    def add_post(
        self,
        text: str,
        author_handle: str,
        *,
        reply_to: str | None = None,
        quote: str | None = None,
        created_at: datetime | None = None,
        langs: Sequence[str] | None = ("en",),
        facets: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Publish a post (it notifies whom it mentions, replies to or quotes; Jetstream sees it).

        ``reply_to`` and ``quote`` are AT-URIs of posts the simulator holds.  Returns the
        post view.  Mentions of handles in ``text`` get mention facets unless ``facets``
        is given.
        """
        with self._lock:
            did = self._did(author_handle)
            record: dict[str, Any] = {
                "$type": POST_COLLECTION,
                "text": text,
                "createdAt": format_time(created_at or datetime.now(UTC)),
            }
            if langs:
                record["langs"] = list(langs)
            built_facets = facets if facets is not None else self._mention_facets(text)
            if built_facets:
                record["facets"] = built_facets
            if reply_to is not None:
                parent = self._post(reply_to)
                root_ref = parent.record.get("reply", {}).get("root") or parent.ref()
                record["reply"] = {"root": root_ref, "parent": parent.ref()}
            if quote is not None:
                record["embed"] = {"$type": "app.bsky.embed.record", "record": self._post(quote).ref()}
            post = self._publish(did, record, created_at)
            return self._post_view(post)

    def add_raw_event(self, payload: dict[str, Any]) -> int:
        """Put any ``#commit`` payload on the stream (``seq`` is assigned); return its seq.

        For records a consumer must survive: no ``text``, a wrong ``createdAt``, a
        collection it did not ask for.
        """
        with self._lock:
            return self._append_event(dict(payload)).seq

    def drop_stream_after(self, events: int) -> None:
        """Cut the next Jetstream connection's socket after it has sent ``events`` events."""
        with self._lock:
            self._stream_drops.append(_StreamDrop(events))

    def expire_sessions(self) -> None:
        """Make every access token expired now, as after a long idle (refresh tokens stay valid)."""
        with self._lock:
            for session in self._sessions.values():
                if session.kind == "access":
                    session.expires = time.time() - 1

    def post(self, uri: str) -> dict[str, Any]:
        with self._lock:
            return self._post_view(self._post(uri))

    def posts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._post_view(post) for post in self._posts.values()]

    def posted_replies(self) -> list[dict[str, Any]]:
        """Posts the brand account made (through ``createRecord``), oldest first."""
        with self._lock:
            return [self._post_view(post) for post in self._posts.values() if post.author_did == self.brand_did]

    def profile(self, handle: str) -> dict[str, Any]:
        with self._lock:
            return self._accounts[self._did(handle)].detailed()

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._events[-1].seq if self._events else 0

    # -- state helpers ------------------------------------------------------------------------------

    def _did(self, handle_or_did: str) -> str:
        key = handle_or_did.lower().lstrip("@")
        if key.startswith("did:"):
            if key not in self._accounts:
                raise UnknownAccountError(f"no Bluesky account {handle_or_did!r}")
            return key
        if "." not in key:
            key = f"{key}.bsky.social"
        did = self._dids_by_handle.get(key)
        if did is None:
            raise UnknownAccountError(f"no Bluesky account {handle_or_did!r}")
        return did

    def _post(self, uri: str) -> _Post:
        post = self._posts.get(uri)
        if post is None:
            raise UnknownItemError(f"no Bluesky post {uri!r}")
        return post

    def _mention_facets(self, text: str) -> list[dict[str, Any]]:
        facets = []
        for match in _MENTION.finditer(text):
            did = self._dids_by_handle.get(match.group(1).lower())
            if did is None:
                continue
            start = len(text[: match.start()].encode("utf-8"))
            end = start + len(match.group(0).encode("utf-8"))
            facets.append({
                "index": {"byteStart": start, "byteEnd": end},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
            })
        return facets

    def _publish(self, did: str, record: dict[str, Any], created_at: datetime | None) -> _Post:
        """Store a post and derive what the network would: counts, notifications, the event."""
        account = self._accounts[did]
        moment = created_at or datetime.now(UTC)
        rkey = tid_for(moment, next(self._counter))
        uri = f"at://{did}/{POST_COLLECTION}/{rkey}"
        post = _Post(uri, cid_for(record | {"uri": uri}), did, record, datetime.now(UTC) if created_at is None
                     else created_at)
        self._posts[uri] = post
        account.posts += 1
        notified: set[tuple[str, str]] = set()

        def notify(target: str, reason: str, subject: str | None = None) -> None:
            if target != self.brand_did or target == did or (target, reason) in notified:
                return  # only the brand's notifications are listed; nobody is notified of themself
            notified.add((target, reason))
            self._notifications.append(_Notification(
                next(self._counter), uri, post.cid, did, reason, record, post.indexed_at, subject,
            ))

        reply = record.get("reply")
        if isinstance(reply, dict):
            parent = self._posts.get(reply.get("parent", {}).get("uri", ""))
            if parent is not None:
                parent.reply_count += 1
                notify(parent.author_did, "reply", parent.uri)
        embed = record.get("embed")
        if isinstance(embed, dict) and isinstance(embed.get("record"), dict):
            quoted = self._posts.get(embed["record"].get("uri", ""))
            if quoted is not None:
                notify(quoted.author_did, "quote", quoted.uri)
        for facet in record.get("facets") or ():
            for feature in facet.get("features", ()):
                if feature.get("$type") == "app.bsky.richtext.facet#mention":
                    notify(feature.get("did", ""), "mention")
        self._append_event({
            "$type": f"{SUBSCRIBE_EVENTS}#commit",
            "did": did,
            "rev": rkey,
            "operation": "create",
            "collection": POST_COLLECTION,
            "rkey": rkey,
            "record": record,
            "cid": post.cid,
        })
        return post

    def _append_event(self, payload: dict[str, Any]) -> _Event:
        now_us = max(int(time.time() * 1_000_000), self._last_time_us + 1)
        self._last_time_us = now_us
        seq = (self._events[-1].seq if self._events else 0) + 1
        payload["seq"] = seq
        payload["time"] = format_time(datetime.fromtimestamp(now_us / 1_000_000, UTC))
        payload.setdefault("$type", f"{SUBSCRIBE_EVENTS}#commit")
        event = _Event(seq, now_us, payload)
        self._events.append(event)
        self._events_changed.notify_all()
        return event

    def _post_view(self, post: _Post) -> dict[str, Any]:
        return {
            "uri": post.uri,
            "cid": post.cid,
            "author": self._accounts[post.author_did].basic(),
            "record": post.record,
            "replyCount": post.reply_count,
            "repostCount": 0,
            "likeCount": 0,
            "quoteCount": 0,
            "indexedAt": format_time(post.indexed_at),
            "labels": [],
        }

    # -- sessions -------------------------------------------------------------------------------------

    def _issue_session(self, did: str) -> dict[str, Any]:
        now = time.time()
        tokens = {}
        for kind, lifetime in (("access", self.access_token_seconds), ("refresh", 90 * 86400)):
            expires = now + lifetime
            number = next(self._counter)
            header = _b64url({"typ": "at+jwt" if kind == "access" else "refresh+jwt", "alg": "HS256"})
            body = _b64url({"scope": "com.atproto.appPass" if kind == "access" else "com.atproto.refresh",
                            "sub": did, "iat": int(now), "exp": math.floor(expires), "jti": f"{kind}-{number}"})
            signature = base64.urlsafe_b64encode(hashlib.sha256(f"{header}.{body}".encode()).digest())
            token = f"{header}.{body}.{signature.decode().rstrip('=')}"
            self._sessions[token] = _Session(did, kind, expires)
            tokens[kind] = token
        account = self._accounts[did]
        return {"accessJwt": tokens["access"], "refreshJwt": tokens["refresh"], "handle": account.handle,
                "did": did, "active": True}

    def _session_for(self, request: SimRequest, kind: str) -> _Session:
        header = (request.header("Authorization") or "").strip()
        token = header.removeprefix("Bearer ").strip()
        session = self._sessions.get(token)
        if not header.startswith("Bearer ") or session is None:
            raise xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        if session.kind != kind:
            raise xrpc_error(400, "InvalidToken", "Token could not be verified")
        if session.expires <= time.time():
            raise xrpc_error(400, "ExpiredToken", "Token has expired")
        return session

    # -- HTTP -------------------------------------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        if not request.path.startswith("/xrpc/"):
            return SimResponse(404, {"error": "NotFound", "message": "Not Found"})
        method = request.path.removeprefix("/xrpc/")
        routes = {
            ("POST", "com.atproto.server.createSession"): self._create_session,
            ("POST", "com.atproto.server.refreshSession"): self._refresh_session,
            ("GET", "app.bsky.actor.getProfile"): self._get_profile,
            ("GET", "app.bsky.actor.getProfiles"): self._get_profiles,
            ("GET", "app.bsky.notification.listNotifications"): self._list_notifications,
            ("GET", "app.bsky.feed.getPostThread"): self._get_post_thread,
            ("POST", "com.atproto.repo.createRecord"): self._create_record,
        }
        route = routes.get((request.method, method))
        if route is None:
            return SimResponse(501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})
        with self._lock:
            headers = self._spend()
            try:
                response = route(request)
            except HttpError as error:
                response = error.response()
        response.headers = {**headers, **response.headers}
        return response

    def fault_response(self, fault: Fault, request: SimRequest) -> SimResponse:
        status = fault.status or 500
        if status == 429:
            return SimResponse(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                               self._rate_headers(0, math.ceil(time.time() + fault.reset_after)))
        names = {500: "InternalServerError", 502: "UpstreamFailure", 503: "NotEnoughResources",
                 504: "UpstreamTimeout"}
        return SimResponse(status, {"error": names.get(status, "InternalServerError"),
                                    "message": "Internal Server Error"})

    def _rate_headers(self, remaining: int, reset: int) -> dict[str, str]:
        return {
            "ratelimit-limit": str(self.rate_limit),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset),
            "ratelimit-policy": f"{self.rate_limit};w={int(self.window_seconds)}",
        }

    def _spend(self) -> dict[str, str]:
        now = time.time()
        window = self._window
        if window is None or now >= window.started + self.window_seconds:
            window = self._window = _Window(started=now)
        reset = math.ceil(window.started + self.window_seconds)
        if window.used >= self.rate_limit:
            raise xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", self._rate_headers(0, reset))
        window.used += 1
        return self._rate_headers(self.rate_limit - window.used, reset)

    @staticmethod
    def _query_list(request: SimRequest, name: str) -> list[str]:
        parsed = parse_qs(request.raw_query, keep_blank_values=True)
        return parsed.get(name, []) + parsed.get(f"{name}[]", [])

    @staticmethod
    def _limit(request: SimRequest, default: int, high: int) -> int:
        raw = request.query.get("limit")
        if raw is None:
            return default
        if not raw.isdigit() or not 1 <= int(raw) <= high:
            raise xrpc_error(400, "InvalidRequest", f"limit must be an integer from 1 to {high}")
        return int(raw)

    def _create_session(self, request: SimRequest) -> SimResponse:
        body = request.json()
        if not isinstance(body, dict) or "identifier" not in body or "password" not in body:
            raise xrpc_error(400, "InvalidRequest", 'Input must have the properties "identifier", "password"')
        identifier = str(body["identifier"]).lower().lstrip("@")
        if identifier not in (self.brand_handle, self.brand_did) or body["password"] != self.app_password:
            raise xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        self.session_creations += 1
        return SimResponse(200, self._issue_session(self.brand_did))

    def _refresh_session(self, request: SimRequest) -> SimResponse:
        session = self._session_for(request, "refresh")
        self.session_refreshes += 1
        return SimResponse(200, self._issue_session(session.did))

    def _actor(self, value: str) -> _Account | None:
        try:
            return self._accounts[self._did(value)]
        except UnknownAccountError:
            return None

    def _get_profile(self, request: SimRequest) -> SimResponse:
        self._session_for(request, "access")
        account = self._actor(request.query.get("actor", ""))
        if account is None:
            raise xrpc_error(400, "InvalidRequest", "Profile not found")
        return SimResponse(200, account.detailed())

    def _get_profiles(self, request: SimRequest) -> SimResponse:
        self._session_for(request, "access")
        actors = self._query_list(request, "actors")
        if not actors:
            raise xrpc_error(400, "InvalidRequest", 'Error: Params must have the property "actors"')
        if len(actors) > 25:
            raise xrpc_error(400, "InvalidRequest", "Error: actors must not have more than 25 elements")
        found = [account.detailed() for account in map(self._actor, actors) if account is not None]
        return SimResponse(200, {"profiles": found})  # unknown actors are left out, not errors

    def _list_notifications(self, request: SimRequest) -> SimResponse:
        session = self._session_for(request, "access")
        limit = self._limit(request, 50, 100)
        reasons = set(self._query_list(request, "reasons"))
        cursor = request.query.get("cursor")
        before: int | None = None
        if cursor is not None:
            if not cursor.isdigit():
                raise xrpc_error(400, "InvalidRequest", "Malformed cursor")
            before = int(cursor)
        mine = [n for n in self._notifications if session.did == self.brand_did]
        chosen = [
            n for n in reversed(mine)
            if (before is None or n.number < before) and (not reasons or n.reason in reasons)
        ][:limit]
        payload: dict[str, Any] = {"notifications": [self._notification_view(n) for n in chosen],
                                   "priority": False}
        if len(chosen) == limit:
            payload["cursor"] = str(chosen[-1].number)
        return SimResponse(200, payload)

    def _notification_view(self, notification: _Notification) -> dict[str, Any]:
        view: dict[str, Any] = {
            "uri": notification.uri,
            "cid": notification.cid,
            "author": self._accounts[notification.author_did].basic(),
            "reason": notification.reason,
            "record": notification.record,
            "isRead": False,
            "indexedAt": format_time(notification.indexed_at),
            "labels": [],
        }
        if notification.reason_subject is not None:
            view["reasonSubject"] = notification.reason_subject
        return view

    def _get_post_thread(self, request: SimRequest) -> SimResponse:
        self._session_for(request, "access")
        uri = request.query.get("uri", "")
        post = self._posts.get(uri)
        if post is None:
            raise xrpc_error(400, "NotFound", f"Post not found: {uri}")
        depth = int(request.query.get("depth", "6") or 6)
        return SimResponse(200, {"thread": self._thread_view(post, depth, with_parent=True)})

    def _thread_view(self, post: _Post, depth: int, *, with_parent: bool) -> dict[str, Any]:
        view: dict[str, Any] = {"$type": "app.bsky.feed.defs#threadViewPost", "post": self._post_view(post)}
        parent_uri = (post.record.get("reply") or {}).get("parent", {}).get("uri")
        if with_parent and parent_uri in self._posts:
            parent = self._thread_view(self._posts[parent_uri], 0, with_parent=True)
            view["parent"] = parent
        if depth > 0:
            view["replies"] = [
                self._thread_view(reply, depth - 1, with_parent=False)
                for reply in self._posts.values()
                if (reply.record.get("reply") or {}).get("parent", {}).get("uri") == post.uri
            ]
        return view

    def _create_record(self, request: SimRequest) -> SimResponse:
        session = self._session_for(request, "access")
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("record"), dict):
            raise xrpc_error(400, "InvalidRequest", 'Input must have the property "record"')
        if body.get("repo") not in (session.did, self._accounts[session.did].handle):
            raise xrpc_error(400, "InvalidRequest", "Input/repo must be the authenticated account")
        if body.get("collection") != POST_COLLECTION:
            raise xrpc_error(400, "InvalidRequest", f"this simulator only writes {POST_COLLECTION}")
        record = dict(body["record"])
        text = record.get("text")
        if not isinstance(text, str) or not isinstance(record.get("createdAt"), str):
            raise xrpc_error(400, "InvalidRecord", 'Record must have the properties "text", "createdAt"')
        if grapheme_count(text) > MAX_POST_GRAPHEMES or len(text.encode("utf-8")) > MAX_POST_BYTES:
            raise xrpc_error(400, "InvalidRecord",
                             f"Invalid app.bsky.feed.post record: Record/text must not be longer than "
                             f"{MAX_POST_GRAPHEMES} graphemes")
        reply = record.get("reply")
        if reply is not None:
            for part in ("root", "parent"):
                ref = reply.get(part) if isinstance(reply, dict) else None
                if not isinstance(ref, dict) or ref.get("uri") not in self._posts:
                    raise xrpc_error(400, "InvalidRecord", f"Invalid app.bsky.feed.post record: reply/{part} "
                                     "must reference an existing post")
        record.setdefault("$type", POST_COLLECTION)
        post = self._publish(session.did, record, None)
        return SimResponse(200, {"uri": post.uri, "cid": post.cid,
                                 "commit": {"cid": cid_for({"commit": post.uri}), "rev": post.rkey},
                                 "validationStatus": "valid"})

    # -- Jetstream ------------------------------------------------------------------------------------

    def _check_stream_request(self, connection: ServerConnection, request: Any) -> Response | None:
        """Refuse what Jetstream refuses before the upgrade (with an XRPC error body)."""
        path = urlsplit(request.path).path
        if path != f"/xrpc/{SUBSCRIBE_EVENTS}":
            # getZstdDictionary lands here too: answering 404 makes the client stream uncompressed
            return self._http_answer(404, "MethodNotImplemented", f"{path} is not served here")
        query = parse_qs(urlsplit(request.path).query)
        cursor = query.get("cursor", [""])[0]
        if cursor and not cursor.isdigit():
            return self._http_answer(400, "InvalidRequest", "cursor must be an integer")
        return None

    @staticmethod
    def _http_answer(status: int, error: str, message: str) -> Response:
        body = json.dumps({"error": error, "message": message}).encode()
        headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return Response(status, "Error", headers, body)

    def _serve_stream(self, connection: ServerConnection) -> None:
        parts = urlsplit(connection.request.path if connection.request else "")
        query = parse_qs(parts.query)
        collections = set(query.get("collections", []))
        cursor_text = query.get("cursor", [""])[0]
        with self._lock:
            self._stream_connections.add(connection)
            self.stream_cursors.append(cursor_text or None)
            drop = self._stream_drops.pop(0) if self._stream_drops else None
            if not cursor_text:
                position = len(self._events)  # no cursor: the live tip
            else:
                cursor = int(cursor_text)
                if cursor >= _TIMESTAMP_CURSOR_FLOOR:
                    position = next((i for i, e in enumerate(self._events) if e.time_us >= cursor), len(self._events))
                else:
                    position = next((i for i, e in enumerate(self._events) if e.seq >= cursor), len(self._events))
        sent = 0
        try:
            while self._jetstream is not None:
                with self._lock:
                    while position >= len(self._events) and self._jetstream is not None:
                        self._events_changed.wait(0.5)
                    batch = self._events[position:]
                    position = len(self._events)
                for event in batch:
                    if collections and event.payload.get("collection") not in collections:
                        continue
                    if drop is not None and sent >= drop.after_events:
                        self._cut(connection)
                        return
                    connection.send(json.dumps({"$type": "message", "payload": event.payload}))
                    sent += 1
                    if self.event_interval_seconds:
                        time.sleep(self.event_interval_seconds)
                if drop is not None and sent >= drop.after_events and batch:
                    self._cut(connection)
                    return
        except Exception:  # the client went away: nothing to do
            return
        finally:
            with self._lock:
                self._stream_connections.discard(connection)

    @staticmethod
    def _cut(connection: ServerConnection) -> None:
        """Drop the TCP connection with no close frame: the client sees an abnormal closure."""
        with contextlib.suppress(OSError):
            connection.socket.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            connection.socket.close()

