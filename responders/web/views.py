"""What pages and the API show of the records: one place that turns them into template context and JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from listener.links import http_url
from listener.models import Author, Mention, Reply, Suggestion
from listener.profiles.timeline import profile_timeline
from responders.audit import jsonable
from responders.mention_queue import MentionDetail, QueueItem, mention_detail
from responders.workflow import OPEN_STATES


def queue_item_json(item: QueueItem) -> dict[str, Any]:
    return jsonable(asdict(item) | {"url": http_url(item.url)})


def reply_json(reply: Reply) -> dict[str, Any]:
    return jsonable(reply.model_dump(exclude={"original_text"}) | {"original_text": reply.original_text})


def suggestion_json(suggestion: Suggestion) -> dict[str, Any]:
    return jsonable(suggestion.model_dump(include={"id", "text", "origin", "rank", "score", "rule", "model"}))


def detail_json(detail: MentionDetail) -> dict[str, Any]:
    mention = detail.mention
    return jsonable({
        "mention": mention.model_dump(exclude={"raw"}) | {"url": http_url(mention.url)},
        "author": detail.author.model_dump(exclude={"raw"}) if detail.author else None,
        "profile": detail.profile.model_dump() if detail.profile else None,
        "assignee": detail.assignee.email if detail.assignee else None,
        "suggestions": [suggestion_json(s) for s in detail.suggestions],
        "replies": [reply_json(r) for r in detail.replies],
        "history": [event.model_dump() for event in detail.history],
        "draft_notice": detail.draft_notice,
    })


def thread_of(db: Session, mention: Mention, limit: int = 20) -> list[tuple[Mention, str | None]]:
    """The stored mentions of the same conversation (the post a comment answers, its siblings), oldest first."""
    keys = {k for k in (mention.conversation_external_id, mention.in_reply_to_external_id) if k}
    if not keys:
        return []
    rows = db.execute(
        select(Mention, Author.handle)
        .outerjoin(Author, Author.id == Mention.author_id)
        .where(Mention.platform == mention.platform, Mention.id != mention.id)
        .where(or_(Mention.external_id.in_(keys),  # type: ignore[attr-defined]
                   Mention.conversation_external_id.in_(keys)))  # type: ignore[union-attr]
        .order_by(Mention.created_at, Mention.id)
        .limit(limit)
    ).all()
    return [(m, handle) for m, handle in rows]


def mention_context(db: Session, mention_id: int) -> dict[str, Any]:
    """Everything the mention page shows: the mention, its thread, author, profile history, suggestions."""
    detail = mention_detail(db, mention_id)
    history = []
    if detail.profile is not None and detail.profile.merged_into_id is None:
        history = [entry for entry in profile_timeline(db, detail.profile.id, limit=11)  # type: ignore[arg-type]
                   if entry.mention_id != mention_id][:10]
    open_reply = next((r for r in detail.replies if r.state in OPEN_STATES), None)
    return {"detail": detail, "mention": detail.mention, "thread": thread_of(db, detail.mention),
            "profile_history": history, "open_reply": open_reply}
