"""Readers of Mastodon's raw payloads: a status (from a notification or a tag timeline) as a mention.

A status's ``content`` is HTML written by whichever server the author is on.  It is
made into plain text here with the standard library's tokenizer, never by running
or rendering it: paragraphs become blank lines, ``<br>`` a line break, a link its
full address (Mastodon shows a shortened one with invisible spans), a mention
``@user@server``, a hashtag ``#tag``; every other tag is dropped and its text kept,
except ``<script>``/``<style>`` whose content is dropped too.  Character references
are decoded once, so ``&lt;b&gt;`` stays the visible text ``<b>``.

Optional fields (``url``, ``language``, ``account.note``, ``followers_count`` …) may
be absent or null, as they are from older or smaller servers.  What cannot be a
mention (no id, no content, no account) raises :class:`UnreadableStatus`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from listener.platforms.collector import CollectedAuthor, CollectedMention

__all__ = [
    "PLATFORM",
    "UnreadableStatus",
    "account_to_author",
    "full_handle",
    "html_to_text",
    "notification_to_mention",
    "parse_mastodon_time",
    "status_language",
    "status_to_mention",
    "status_visibility",
]

PLATFORM = "mastodon"
VISIBILITIES = ("public", "unlisted", "private", "direct")
_BLOCKS = {"p", "div", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"}
_DROPPED = {"script", "style", "template"}


class UnreadableStatus(ValueError):
    """A payload that cannot be a mention; the message says what is missing."""


class _TextMaker(HTMLParser):
    """Collects the visible text of Mastodon's status HTML (see the module docstring)."""

    def __init__(self, mention_accts: Mapping[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.mention_accts = mention_accts
        self.parts: list[str] = []
        self._dropping = 0
        self._invisible_depth = 0
        self._span_stack: list[bool] = []
        self._link: dict[str, Any] | None = None

    def _emit(self, text: str) -> None:
        if self._link is not None:
            self._link["text"].append(text)
        else:
            self.parts.append(text)

    def _paragraph_break(self) -> None:
        if self._link is not None:
            return
        joined = "".join(self.parts)
        if joined and not joined.endswith("\n\n"):
            self.parts.append("\n\n" if not joined.endswith("\n") else "\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self._dropping += 1
            return
        attributes = {name: value or "" for name, value in attrs}
        if tag == "br":
            self._emit("\n")
        elif tag in _BLOCKS:
            self._paragraph_break()
        elif tag == "li":
            if not "".join(self.parts).endswith("\n"):
                self._emit("\n")
            self._emit("- ")
        elif tag == "a" and self._link is None:
            self._link = {"href": attributes.get("href", ""), "class": attributes.get("class", ""), "text": []}
        elif tag == "span":
            invisible = "invisible" in attributes.get("class", "").split()
            self._span_stack.append(invisible)
            self._invisible_depth += invisible

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self._dropping = max(0, self._dropping - 1)
        elif tag in _BLOCKS:
            self._paragraph_break()
        elif tag == "span" and self._span_stack:
            self._invisible_depth -= self._span_stack.pop()
        elif tag == "a" and self._link is not None:
            link, self._link = self._link, None
            self.parts.append(self._link_text(link))

    def handle_data(self, data: str) -> None:
        if self._dropping or (self._invisible_depth and self._link is None):
            return
        if self._link is not None:
            self._link.setdefault("all", []).append(data)
            if self._invisible_depth:
                return
        self._emit(data)

    def _link_text(self, link: dict[str, Any]) -> str:
        shown = "".join(link["text"]).strip()
        every = "".join(link.get("all", [])).strip()
        href = link["href"]
        classes = link["class"].split()
        if "mention" in classes and "hashtag" not in classes and shown.startswith("@"):
            return "@" + self.mention_accts.get(href, shown[1:])
        if "hashtag" in classes or shown.startswith("#"):
            return shown
        if not href.startswith(("http://", "https://")):
            return shown  # a javascript: or relative link: keep only what was shown
        without_scheme = href.split("://", 1)[1]
        if every in (href, without_scheme) or (shown.rstrip("…") and without_scheme.startswith(shown.rstrip("…"))):
            return href  # the label is the address, perhaps shortened: write the full one
        return f"{shown} ({href})" if shown else href

    def text(self) -> str:
        joined = "".join(self.parts).replace("\r\n", "\n")
        joined = re.sub(r"[ \t]+\n", "\n", joined)
        return re.sub(r"\n{3,}", "\n\n", joined).strip()


def html_to_text(content: str, mentions: list[Mapping[str, Any]] | None = None) -> str:
    """Plain text of a status's HTML: links, mentions (as ``@user@server``) and line breaks kept."""
    accts = {}
    for mention in mentions or ():
        if isinstance(mention, Mapping) and isinstance(mention.get("url"), str) and isinstance(
                mention.get("acct"), str):
            accts[mention["url"]] = mention["acct"]
    maker = _TextMaker(accts)
    maker.feed(content)
    maker.close()
    return maker.text()


def parse_mastodon_time(value: Any) -> datetime:
    if isinstance(value, datetime):  # Mastodon.py has parsed it already
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        raise ValueError(f"created_at {value!r} is not a time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"created_at {value!r} is not an ISO 8601 time") from error
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def full_handle(account: Mapping[str, Any]) -> str:
    """``user@server`` for any account: a local account's ``acct`` lacks the server, its ``url`` has it."""
    acct = account.get("acct") or account.get("username")
    if not isinstance(acct, str) or not acct:
        raise UnreadableStatus("the account has no acct")
    if "@" in acct:
        return acct
    host = urlsplit(str(account.get("url") or "")).hostname
    return f"{acct}@{host}" if host else acct


def account_to_author(account: Any) -> CollectedAuthor:
    if not isinstance(account, Mapping) or account.get("id") in (None, ""):
        raise UnreadableStatus("the status has no account with an id")
    note = account.get("note")
    followers = account.get("followers_count")
    display_name = account.get("display_name")
    return CollectedAuthor(
        platform=PLATFORM,
        platform_user_id=str(account["id"]),
        handle=full_handle(account),
        display_name=(display_name.strip() or None) if isinstance(display_name, str) else None,
        followers=followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
        bio=(html_to_text(note) or None) if isinstance(note, str) else None,
    )


def status_language(status: Mapping[str, Any]) -> str | None:
    language = status.get("language")
    return language.lower().split("-")[0] if isinstance(language, str) and language else None


def status_visibility(status: Mapping[str, Any]) -> str:
    """The status's visibility (a reply to a direct or private status must keep it); missing reads as public."""
    visibility = status.get("visibility")
    return visibility if visibility in VISIBILITIES else "public"


def status_to_mention(status: Any) -> CollectedMention:
    """A status as a mention; a boost is read as the status it boosts."""
    if not isinstance(status, Mapping):
        raise UnreadableStatus("the status is not a JSON object")
    if isinstance(status.get("reblog"), Mapping):
        status = status["reblog"]
    status_id, content = status.get("id"), status.get("content")
    if status_id in (None, ""):
        raise UnreadableStatus("the status has no id")
    if not isinstance(content, str):
        raise UnreadableStatus(f"status {status_id} has no content")
    mentions = status.get("mentions") if isinstance(status.get("mentions"), list) else []
    text = html_to_text(content, mentions)
    spoiler = status.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"CW: {spoiler.strip()}\n\n{text}"
    author = account_to_author(status.get("account"))
    try:
        created_at = parse_mastodon_time(status.get("created_at"))
    except ValueError as error:
        raise UnreadableStatus(f"status {status_id}: {error}") from error
    url = status.get("url") or status.get("uri")
    if not isinstance(url, str) or not url:
        raise UnreadableStatus(f"status {status_id} has neither url nor uri")
    reply_to = status.get("in_reply_to_id")
    return CollectedMention(
        platform=PLATFORM,
        external_id=str(status_id),
        kind="reply" if reply_to else "status",
        text=text,
        url=url,
        created_at=created_at,
        raw=dict(status),
        author=author,
        in_reply_to_external_id=str(reply_to) if reply_to else None,
        conversation_external_id=None,  # Mastodon does not say; /context finds the thread
    )


def notification_to_mention(notification: Any) -> CollectedMention:
    """A ``mention`` notification as a mention of its status."""
    if not isinstance(notification, Mapping) or not isinstance(notification.get("status"), Mapping):
        raise UnreadableStatus("the notification has no status")
    return status_to_mention(notification["status"])
