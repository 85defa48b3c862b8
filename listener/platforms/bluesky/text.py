"""Bluesky's text rules: how long a post is, how handles and links are written, and facets.

A post's ``text`` may hold at most 300 graphemes (user-perceived characters: a family
emoji is one) and 3,000 UTF-8 bytes.  Links and mentions are plain text in ``text``;
what makes them clickable is a *facet*: a UTF-8 byte range of the text with a
``#link`` (the URI), ``#mention`` (the DID) or ``#tag`` feature.  A mention whose
handle cannot be resolved to a DID gets no facet: it stays plain text, as the
Bluesky app does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import regex

__all__ = [
    "HANDLE_PATTERN",
    "MAX_POST_BYTES",
    "MAX_POST_GRAPHEMES",
    "OWN_DOMAIN_LINK_PATTERN",
    "PROFILE_URL_PATTERN",
    "build_facets",
    "display_handle",
    "fits",
    "post_length",
    "profile_handles",
    "profile_url",
]

MAX_POST_GRAPHEMES = 300
MAX_POST_BYTES = 3000

HANDLE_PATTERN = re.compile(
    r"(?<![\w@.])@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
)
"""``@alice.bsky.social`` or ``@alice.example.com`` in text; group 1 is the handle."""

PROFILE_URL_PATTERN = re.compile(
    r"https?://(?:www\.)?bsky\.app/profile/((?:[a-zA-Z0-9-]+\.)+[a-zA-Z][a-zA-Z0-9-]*|did:plc:[a-z2-7]{24})",
)
"""A bsky.app profile link (in a bio, say); group 1 is the handle or DID."""

OWN_DOMAIN_LINK_PATTERN = re.compile(
    r"https?://(?:www\.)?((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63})/?(?=$|[\s,;)\]])"
)
"""A link to a bare domain (``https://alice.example.com``): on Bluesky a domain can be its owner's handle."""

_GRAPHEME = regex.compile(r"\X")
_URL = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?)\]'}]")
_TAG = regex.compile(r"(?<![\p{L}\p{N}_&#])#(\p{L}[\p{L}\p{N}_]{0,63})")
_TRAILING_HANDLE_DOT = ".-"


def profile_handles(text: str) -> list[str]:
    """Bluesky handles a bio points at: bsky.app profile links, and links to a bare domain (a possible handle)."""
    found = [match.group(1).lower() for match in PROFILE_URL_PATTERN.finditer(text)]
    found += [match.group(1).lower() for match in OWN_DOMAIN_LINK_PATTERN.finditer(text)
              if match.group(1).lower() not in ("bsky.app", "bsky.social")]
    return list(dict.fromkeys(found))


def post_length(text: str) -> int:
    """The length Bluesky counts: graphemes."""
    return len(_GRAPHEME.findall(text))


def fits(text: str) -> bool:
    """Whether a post with this text is accepted (graphemes and bytes both within the limits)."""
    return post_length(text) <= MAX_POST_GRAPHEMES and len(text.encode("utf-8")) <= MAX_POST_BYTES


def display_handle(handle: str) -> str:
    """``@alice.bsky.social``: how Bluesky writes a handle."""
    return "@" + handle.lstrip("@")


def profile_url(handle: str) -> str:
    return f"https://bsky.app/profile/{handle.lstrip('@')}"


def _byte_range(text: str, start: int, end: int) -> dict[str, int]:
    byte_start = len(text[:start].encode("utf-8"))
    return {"byteStart": byte_start, "byteEnd": byte_start + len(text[start:end].encode("utf-8"))}


def build_facets(text: str, resolve_handle: Callable[[str], str | None] | None = None) -> list[dict[str, Any]]:
    """The facets of ``text``: links, mentions (when ``resolve_handle`` gives a DID) and hashtags.

    ``resolve_handle`` maps a handle (without ``@``) to its DID or None; without it,
    mentions get no facet.  Offsets are UTF-8 bytes, as the record format requires.
    """
    facets: list[dict[str, Any]] = []
    taken: list[tuple[int, int]] = []
    for match in _URL.finditer(text):
        facets.append({"index": _byte_range(text, match.start(), match.end()),
                       "features": [{"$type": "app.bsky.richtext.facet#link", "uri": match.group(0)}]})
        taken.append((match.start(), match.end()))

    def inside_link(start: int) -> bool:
        return any(low <= start < high for low, high in taken)

    if resolve_handle is not None:
        for match in HANDLE_PATTERN.finditer(text):
            if inside_link(match.start()):
                continue
            handle = match.group(1).rstrip(_TRAILING_HANDLE_DOT).lower()
            did = resolve_handle(handle)
            if did:
                end = match.start() + 1 + len(handle)
                facets.append({"index": _byte_range(text, match.start(), end),
                               "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}]})
    for match in _TAG.finditer(text):
        if inside_link(match.start()):
            continue
        facets.append({"index": _byte_range(text, match.start(), match.end()),
                       "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": match.group(1)}]})
    return sorted(facets, key=lambda facet: facet["index"]["byteStart"])
