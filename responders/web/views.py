"""What pages and the API show of the records: one place that turns them into template context and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from listener.links import http_url
from listener.models import AuditEvent, Reply, StaffUser, Suggestion
from listener.profiles.timeline import profile_timeline
from listener.threads import thread_chain
from responders.audit import jsonable
from responders.mention_queue import MentionDetail, QueueItem, mention_detail
from responders.words import is_system_actor
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


def mention_context(db: Session, mention_id: int) -> dict[str, Any]:
    """Everything the mention page shows: the mention, its thread, author, profile history, suggestions."""
    detail = mention_detail(db, mention_id)
    history = []
    if detail.profile is not None and detail.profile.merged_into_id is None:
        history = [entry for entry in profile_timeline(db, detail.profile.id, limit=11)  # type: ignore[arg-type]
                   if entry.mention_id != mention_id][:10]
    open_reply = next((r for r in detail.replies if r.state in OPEN_STATES), None)
    return {"detail": detail, "mention": detail.mention, "thread": thread_chain(db, detail.mention),
            "profile_history": history, "open_reply": open_reply, "names": staff_names(db, detail.history)}


def staff_names(db: Session, events: Sequence[AuditEvent]) -> dict[str, str]:
    """The names of the staff members who acted in ``events`` by the email the audit log records (one query)."""
    emails = {event.actor for event in events if not is_system_actor(event.actor)}
    if not emails:
        return {}
    rows = db.execute(select(StaffUser.email, StaffUser.name).where(StaffUser.email.in_(emails)))  # type: ignore[attr-defined]
    return {email: name for email, name in rows if name}
