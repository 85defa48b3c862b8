"""Mastodon's text rules: how long a status is, how handles are written, profile links.

The limit is the instance's own (``/api/v2/instance`` →
``configuration.statuses.max_characters``; 500 when the server does not say).  The
server counts every URL as 23 characters however long it is, and a mention of a
remote account (``@user@server``) as only ``@user``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "DEFAULT_MAX_CHARACTERS",
    "HANDLE_PATTERN",
    "PROFILE_URL_PATTERN",
    "URL_LENGTH",
    "display_handle",
    "fits",
    "instance_limit",
    "profile_url",
    "status_length",
]

DEFAULT_MAX_CHARACTERS = 500
URL_LENGTH = 23

HANDLE_PATTERN = re.compile(r"(?<![\w/@])@([a-zA-Z0-9_]{1,30})@((?:[a-zA-Z0-9-]+\.)+[a-zA-Z]{2,})")
"""``@user@server`` in text; groups: user, server."""

PROFILE_URL_PATTERN = re.compile(r"https?://((?:[a-zA-Z0-9-]+\.)+[a-zA-Z]{2,})/@([a-zA-Z0-9_]{1,30})(?![\w@/])")
"""``https://server/@user`` (in a bio or a profile's fields); groups: server, user."""

_URL = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?)\]'}]")
_MENTION = re.compile(r"(?<![\w/])@([a-zA-Z0-9_]+)@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}")


def status_length(text: str) -> int:
    """The length Mastodon counts: URLs as 23, ``@user@server`` as ``@user``."""
    counted = _URL.sub("x" * URL_LENGTH, text)
    counted = _MENTION.sub(lambda match: "@" + match.group(1), counted)
    return len(counted)


def instance_limit(instance: Mapping[str, Any] | None) -> int:
    """``configuration.statuses.max_characters`` of an ``/api/v2/instance`` answer, 500 when absent."""
    try:
        value = instance["configuration"]["statuses"]["max_characters"]  # type: ignore[index]
    except (KeyError, TypeError):
        return DEFAULT_MAX_CHARACTERS
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT_MAX_CHARACTERS


def fits(text: str, limit: int = DEFAULT_MAX_CHARACTERS) -> bool:
    return bool(text.strip()) and status_length(text) <= limit


def display_handle(handle: str) -> str:
    """``@user@server``: how Mastodon writes a handle (``handle`` is ``user@server``)."""
    return "@" + handle.lstrip("@")


def profile_url(handle: str) -> str:
    """``https://server/@user`` for ``user@server``."""
    user, _, server = handle.lstrip("@").partition("@")
    if not server:
        raise ValueError(f"{handle!r} is not user@server")
    return f"https://{server}/@{user}"
