"""Readers of Bluesky's raw payloads: a post (from a notification, a thread or Jetstream) as a mention.

Three shapes carry a post, and all are read here:

* a notification or post view (``listNotifications``, ``getPostThread``): ``uri``,
  ``cid``, ``author`` (a profile view), ``record``, ``indexedAt``;
* a Jetstream ``#commit`` event: ``did``, ``collection``, ``rkey``, ``record``,
  ``cid`` (no handle: Jetstream knows only DIDs);
* a profile view from ``getProfiles`` for the author's handle, display name,
  followers and description.

What the record lacks is tolerated where Bluesky itself tolerates it: no ``langs``,
no ``facets``, a ``createdAt`` without fractions or with an offset (the record key,
a TID, encodes the time when ``createdAt`` is unreadable).  What cannot be a mention
(no text, no URI) raises :class:`UnreadablePost` so that the collector quarantines it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from listener.platforms.collector import CollectedAuthor, CollectedMention

__all__ = [
    "PLATFORM",
    "POST_COLLECTION",
    "ReplyRefs",
    "UnreadablePost",
    "at_uri",
    "author_from_profile",
    "commit_to_mention",
    "parse_bluesky_time",
    "post_language",
    "post_to_mention",
    "post_url",
    "reply_refs",
    "reply_refs_for",
    "split_at_uri",
    "tid_time",
]

PLATFORM = "bluesky"
POST_COLLECTION = "app.bsky.feed.post"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


class UnreadablePost(ValueError):
    """A payload that cannot be a mention; the message says what is missing."""


@dataclass(frozen=True)
class ReplyRefs:
    """The strong references (uri and cid) a reply to a post must carry."""

    root_uri: str
    root_cid: str
    parent_uri: str
    parent_cid: str


def at_uri(did: str, rkey: str, collection: str = POST_COLLECTION) -> str:
    return f"at://{did}/{collection}/{rkey}"


def split_at_uri(uri: str) -> tuple[str, str, str]:
    """``at://did/collection/rkey`` -> ``(did, collection, rkey)``; raises :class:`UnreadablePost`."""
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise UnreadablePost(f"{uri!r} is not an AT-URI")
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3 or not all(parts):
        raise UnreadablePost(f"{uri!r} is not the AT-URI of a record")
    return parts[0], parts[1], parts[2]


def post_url(uri: str, handle: str | None = None) -> str:
    """The post's bsky.app link, by handle when known (it reads better), else by DID."""
    did, _, rkey = split_at_uri(uri)
    return f"https://bsky.app/profile/{handle or did}/post/{rkey}"


def tid_time(rkey: str) -> datetime | None:
    """The time a TID record key encodes (microseconds in its top bits), or None if it is not a TID."""
    if len(rkey) != 13 or any(char not in _TID_ALPHABET for char in rkey):
        return None
    number = 0
    for char in rkey:
        number = number * 32 + _TID_ALPHABET.index(char)
    micros = number >> 10
    try:
        return datetime.fromtimestamp(micros / 1_000_000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_bluesky_time(value: Any) -> datetime:
    """An atproto datetime (``2024-05-01T12:00:00.123Z``, fractions and offset optional) in UTC."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"time {value!r} is not a string")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def post_language(record: Mapping[str, Any]) -> str | None:
    """The first language the author declared (``langs``), lower-cased; None when there is none."""
    langs = record.get("langs")
    if isinstance(langs, list) and langs and isinstance(langs[0], str) and langs[0].strip():
        return langs[0].strip().lower().split("-")[0]
    return None


def reply_refs(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(root_uri, parent_uri)`` of a reply record; ``(None, None)`` for a top-level post."""
    reply = record.get("reply")
    if not isinstance(reply, Mapping):
        return None, None
    root, parent = reply.get("root"), reply.get("parent")
    root_uri = root.get("uri") if isinstance(root, Mapping) else None
    parent_uri = parent.get("uri") if isinstance(parent, Mapping) else None
    return (root_uri if isinstance(root_uri, str) else None, parent_uri if isinstance(parent_uri, str) else None)


def reply_refs_for(raw: Mapping[str, Any]) -> ReplyRefs:
    """The root and parent references an answer to the stored post ``raw`` must carry.

    The parent is the post itself; the root is its thread's root, or the post when it
    starts the thread.  Raises :class:`UnreadablePost` when ``raw`` lacks uri or cid.
    """
    uri, cid = raw.get("uri"), raw.get("cid")
    if not isinstance(uri, str) or not isinstance(cid, str):
        raise UnreadablePost("the post has no uri and cid to reply to")
    record = raw.get("record") if isinstance(raw.get("record"), Mapping) else {}
    reply = record.get("reply") if isinstance(record, Mapping) else None
    root = reply.get("root") if isinstance(reply, Mapping) else None
    if isinstance(root, Mapping) and isinstance(root.get("uri"), str) and isinstance(root.get("cid"), str):
        return ReplyRefs(root["uri"], root["cid"], uri, cid)
    return ReplyRefs(uri, cid, uri, cid)


def author_from_profile(profile: Mapping[str, Any]) -> CollectedAuthor:
    """A profile view (basic or detailed) as an author; only ``did`` and ``handle`` are required."""
    did, handle = profile.get("did"), profile.get("handle")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise UnreadablePost(f"author did {did!r} is not a DID")
    followers = profile.get("followersCount")
    display_name = profile.get("displayName")
    bio = profile.get("description")
    return CollectedAuthor(
        platform=PLATFORM,
        platform_user_id=did,
        handle=handle if isinstance(handle, str) and handle and handle != "handle.invalid" else did,
        display_name=(display_name.strip() or None) if isinstance(display_name, str) else None,
        followers=followers if isinstance(followers, int) else None,
        bio=bio if isinstance(bio, str) and bio else None,
    )


def _text_with_full_links(record: Mapping[str, Any]) -> str:
    """The record's text, with each link facet's shortened label replaced by the link itself.

    Bluesky apps write ``example.com/very/lo...`` into the text and keep the real URL
    in a facet; staff and the classifiers should see the URL.  Facet offsets are
    UTF-8 byte offsets.
    """
    text = record.get("text")
    if not isinstance(text, str):
        raise UnreadablePost("the post record has no text")
    facets = record.get("facets")
    if not isinstance(facets, list) or not facets:
        return text
    data = text.encode("utf-8")
    replacements: list[tuple[int, int, bytes]] = []
    for facet in facets:
        if not isinstance(facet, Mapping):
            continue
        index = facet.get("index") if isinstance(facet.get("index"), Mapping) else {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(data):
            continue  # a facet pointing outside the text: ignore it, keep the text
        for feature in facet.get("features") or ():
            if not isinstance(feature, Mapping) or feature.get("$type") != "app.bsky.richtext.facet#link":
                continue
            link = feature.get("uri")
            label = data[start:end].decode("utf-8", "replace")
            if isinstance(link, str) and link != label and link.split("://", 1)[-1] != label:
                replacements.append((start, end, link.encode("utf-8")))
    for start, end, link in sorted(replacements, reverse=True):
        if any(s < end and start < e for s, e, _ in replacements if (s, e) != (start, end)):
            continue  # overlapping facets: leave both labels as written
        data = data[:start] + link + data[end:]
    return data.decode("utf-8", "replace")


def _created_at(record: Mapping[str, Any], fallback: Any, rkey: str) -> datetime:
    for value in (record.get("createdAt"), fallback):
        try:
            return parse_bluesky_time(value)
        except (ValueError, TypeError):
            continue
    moment = tid_time(rkey)
    if moment is None:
        raise UnreadablePost("the post has no readable createdAt and its key is not a TID")
    return moment


def _mention(uri: str, record: Mapping[str, Any], author: CollectedAuthor | None, indexed_at: Any,
             raw: dict[str, Any]) -> CollectedMention:
    _, collection, rkey = split_at_uri(uri)
    if collection != POST_COLLECTION:
        raise UnreadablePost(f"{uri} is a {collection} record, not a post")
    text = _text_with_full_links(record)
    root_uri, parent_uri = reply_refs(record)
    handle = author.handle if author is not None and not author.handle.startswith("did:") else None
    return CollectedMention(
        platform=PLATFORM,
        external_id=uri,
        kind="reply" if parent_uri else "post",
        text=text,
        url=post_url(uri, handle),
        created_at=_created_at(record, indexed_at, rkey),
        raw=raw,
        author=author,
        in_reply_to_external_id=parent_uri,
        conversation_external_id=root_uri or uri,
    )


def post_to_mention(view: Any, profiles: Mapping[str, Mapping[str, Any]] | None = None) -> CollectedMention:
    """A notification or post view as a mention; ``profiles`` (by DID) fill in the author's reach."""
    if not isinstance(view, Mapping):
        raise UnreadablePost("the post is not a JSON object")
    uri, record = view.get("uri"), view.get("record")
    if not isinstance(record, Mapping):
        raise UnreadablePost(f"post {uri!r} has no record")
    author_view = view.get("author")
    did = author_view.get("did") if isinstance(author_view, Mapping) else split_at_uri(str(uri))[0]
    profile = (profiles or {}).get(did) if isinstance(did, str) else None
    source = profile or (author_view if isinstance(author_view, Mapping) else None)
    author = author_from_profile(source) if source is not None else None
    return _mention(str(uri), record, author, view.get("indexedAt"), dict(view))


def commit_to_mention(event: Any, profiles: Mapping[str, Mapping[str, Any]] | None = None) -> CollectedMention:
    """A Jetstream ``#commit`` event creating a post as a mention (author by DID until a profile is known)."""
    if not isinstance(event, Mapping):
        raise UnreadablePost("the event is not a JSON object")
    did, rkey, record = event.get("did"), event.get("rkey"), event.get("record")
    if event.get("operation", "create") != "create":
        raise UnreadablePost(f"a {event.get('operation')} event is not a new post")
    if not isinstance(did, str) or not isinstance(rkey, str) or not did.startswith("did:"):
        raise UnreadablePost("the event has no did and rkey")
    if not isinstance(record, Mapping):
        raise UnreadablePost(f"event {did}/{rkey} has no record")
    collection = event.get("collection") if isinstance(event.get("collection"), str) else POST_COLLECTION
    uri = at_uri(did, rkey, collection)
    profile = (profiles or {}).get(did)
    author = author_from_profile(profile) if profile is not None else CollectedAuthor(
        platform=PLATFORM, platform_user_id=did, handle=did)
    raw = {"uri": uri, "cid": event.get("cid"), "record": dict(record), "author": {"did": did},
           "seq": event.get("seq"), "time": event.get("time")}
    return _mention(uri, record, author, event.get("time"), raw)
