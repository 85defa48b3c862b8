"""A mention's thread: the chain of stored messages it answers, from the post down to its parent.

Every platform's payload reader stores the same two keys (``listener.platforms.collector.CollectedMention``):
``in_reply_to_external_id``, the message a mention answers, and ``conversation_external_id``, the post or
first message of the conversation. The chain follows the first from parent to parent, each message once,
and ends with the conversation's first message when the walk could not reach it (a parent never
collected): never the other comments on the same post, which answer someone else.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from listener.models import Author, Mention

CHAIN_LIMIT = 20
"""How far up a thread is followed: deeper threads show their nearest parents and the post."""


def _stored(session: Session, platform: str, external_id: str) -> tuple[Mention, str | None] | None:
    row = session.execute(
        select(Mention, Author.handle)
        .outerjoin(Author, Author.id == Mention.author_id)  # type: ignore[arg-type]
        .where(Mention.platform == platform, Mention.external_id == external_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


def thread_chain(session: Session, mention: Mention, limit: int = CHAIN_LIMIT) -> list[tuple[Mention, str | None]]:
    """The stored messages ``mention`` answers, with their authors' handles, oldest (the post) first."""
    seen = {mention.external_id}
    chain: list[tuple[Mention, str | None]] = []
    parent = mention.in_reply_to_external_id
    while parent and parent not in seen and len(chain) < limit:
        seen.add(parent)
        found = _stored(session, mention.platform, parent)
        if found is None:
            break  # a parent never collected: the walk stops, the post is added below when stored
        chain.append(found)
        parent = found[0].in_reply_to_external_id
    root = mention.conversation_external_id
    if root and root not in seen and len(chain) < limit:
        found = _stored(session, mention.platform, root)
        if found is not None:
            chain.append(found)
    return list(reversed(chain))


def body_of(mention: Mention) -> str:
    """The text without the title a post's text starts with, so the title is shown once, above it."""
    title = (mention.title or "").strip()
    text = mention.text or ""
    if title and text.startswith(title):
        return text[len(title):].lstrip("\n")
    return text
