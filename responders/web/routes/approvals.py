"""The approval queue: replies waiting for an approver, each decided in one action. Page and JSON API.

Approve, edit-then-approve (the edited text is sent with the approval: one request,
one transaction), reject with a reason, retry a failed send. Below the queue, the
replies on their way show their sending status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import defer
from sqlmodel import Session

from listener.db import indexed_by, utcnow
from listener.links import http_url
from listener.models import Author, CustomerProfile, Mention, Reply, StaffUser, Suggestion
from responders import workflow
from responders.inbox import overdue_first_order
from responders.roles import Action
from responders.web.approval_panel import ApprovalLine, approval_lines
from responders.web.deps import Reader, RecordId, SessionDep, SettingsDep, allowed
from responders.web.pages import page
from responders.web.views import reply_json, suggestion_json

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["replies"])

Approver = Annotated[StaffUser, allowed(Action.APPROVE)]
Rejecter = Annotated[StaffUser, allowed(Action.REJECT)]
Retrier = Annotated[StaffUser, allowed(Action.RETRY)]

ON_ITS_WAY = (workflow.APPROVED, workflow.SENDING, workflow.FAILED, workflow.SENT)
RECENT_REPLIES = indexed_by(Reply, "ix_replies_updated", "recent_replies")


@dataclass
class QueueCard:
    reply: Reply
    mention: Mention
    author: Author | None
    profile: CustomerProfile | None
    alternatives: list[Suggestion]
    submitted_by: str | None
    approvals: int
    # Who approved which revision (the approval panel), oldest first.
    approval_lines: list[ApprovalLine] = field(default_factory=list)


def cards(db: Session, states: tuple[str, ...], limit: int, recent_first: bool = False) -> list[QueueCard]:
    """Replies in ``states`` with their mention, author, profile and the mention's other suggestions.

    Two steps in one statement: the page's reply ids (narrow rows: the sort never
    carries mention texts and payloads), then those replies with everything shown.
    Most recently updated first walks ``ix_replies_updated`` from its newest entry
    (on SQLite by name, as for the inbox: ``listener.db.indexed_by``) instead of
    sorting every reply ever sent; otherwise the replies of the most urgent mentions
    first (overdue first within a priority level), a sort of the replies in ``states`` only (those waiting
    for approval).
    """
    if recent_first:
        ids = (
            select(RECENT_REPLIES.id)
            .where(RECENT_REPLIES.state.in_(states))
            .order_by(RECENT_REPLIES.updated_at.desc(), RECENT_REPLIES.id.desc())
        )
        order: tuple[Any, ...] = (Reply.updated_at.desc(), Reply.id.desc())  # type: ignore[attr-defined]
    else:
        # The same moment for the page's ids and its rows.
        order = _most_urgent_first(utcnow())
        ids = _ids_most_urgent_first(states, order)
    page = ids.limit(limit).subquery("page")
    submitter = select(StaffUser.id, StaffUser.email).subquery()
    statement = (
        select(Reply, Mention, Author, CustomerProfile, submitter.c.email)
        .select_from(page)
        .join(Reply, Reply.id == page.c.id)
        .join(Mention, Mention.id == Reply.mention_id)
        .outerjoin(Author, Author.id == Mention.author_id)
        .outerjoin(CustomerProfile, CustomerProfile.id == Mention.profile_id)
        .outerjoin(submitter, submitter.c.id == Reply.submitted_by_id)
        .order_by(*order)
        # The platform's raw payload (a kilobyte or more a mention) is never shown on a card: not read.
        .options(defer(Mention.raw))  # type: ignore[arg-type]
    )
    # The replies on their way are a status table: no alternatives, no approval panel to read for them.
    return as_cards(db, db.execute(statement).all(), decisions=not recent_first)


def _most_urgent_first(now: datetime) -> tuple[Any, ...]:
    """The queue's order: a mention's priority level, overdue first within it (as in the inbox), then score."""
    return (*overdue_first_order(Mention.priority, Mention.sla_due_at, now),
            Mention.priority.desc().nulls_last(), Reply.id)  # type: ignore[union-attr]


def _ids_most_urgent_first(states: tuple[str, ...], order: tuple[Any, ...]) -> Select[Any]:
    return (
        select(Reply.id)
        .join(Mention, Mention.id == Reply.mention_id)
        .where(Reply.state.in_(states))  # type: ignore[attr-defined]
        .order_by(*order)
    )


def waiting_ids(db: Session, limit: int) -> list[int]:
    """The ids of the first ``limit`` replies waiting for approval, in the order the queue page shows them."""
    return list(db.execute(_ids_most_urgent_first((workflow.PENDING,), _most_urgent_first(utcnow()))
                           .limit(limit)).scalars())


def waiting_count(db: Session) -> int:
    """How many replies wait for approval: all of them, also those beyond the page's first cards."""
    return db.scalar(select(func.count()).select_from(Reply).where(Reply.state == workflow.PENDING)) or 0  # type: ignore[arg-type]


def as_cards(db: Session, rows: Sequence[Any], decisions: bool = True) -> list[QueueCard]:
    """Cards from rows of (reply, mention, author, profile, submitter's email): each with the mention's
    other suggestions and the approvals its current revision has, read for all rows at once (``decisions``;
    without, cards with none of them: the sending-status table shows neither)."""
    alternatives: dict[int, list[Suggestion]] = {}
    if rows and decisions:
        for suggestion in db.execute(
            select(Suggestion).where(Suggestion.mention_id.in_([mention.id for _, mention, *_ in rows]))  # type: ignore[attr-defined]
            .order_by(Suggestion.rank)  # type: ignore[arg-type]
        ).scalars():
            alternatives.setdefault(suggestion.mention_id, []).append(suggestion)
    lines = approval_lines(db, [reply for reply, *_ in rows]) if decisions else {}
    return [
        QueueCard(reply, mention, author, profile,
                  [s for s in alternatives.get(mention.id, []) if s.text != reply.text], email,
                  # The approvals that count: those of the current revision (an edit voided the others).
                  sum(line.counts for line in lines.get(reply.id, [])), lines.get(reply.id, []))  # type: ignore[arg-type]
        for reply, mention, author, profile, email in rows
    ]


def _card(db: Session, reply_id: int) -> QueueCard:
    reply = workflow.get_reply(db, reply_id)
    mention = db.get(Mention, reply.mention_id)
    assert mention is not None  # a foreign key guarantees it
    submitter = db.get(StaffUser, reply.submitted_by_id) if reply.submitted_by_id else None
    row = (reply, mention, db.get(Author, mention.author_id) if mention.author_id else None,
           db.get(CustomerProfile, mention.profile_id) if mention.profile_id else None,
           submitter.email if submitter else None)
    return as_cards(db, [row])[0]


queue_card = _card  # one reply's card as it is now (a stale decision's answer shows it: responders.web.stale)


def _after(request: Request, db: Session, reply_id: int) -> Response:
    if request.headers.get("hx-request"):
        return page(request, "_queue_card.html", {"card": _card(db, reply_id)})
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue")
def queue_page(request: Request, db: SessionDep, settings: SettingsDep, user: Reader) -> Response:
    waiting = cards(db, (workflow.PENDING,), settings.web.queue_size)
    moving = cards(db, ON_ITS_WAY, 20, recent_first=True)
    # The page shows the most urgent first; the count is of every reply waiting, shown or not.
    total = waiting_count(db) if len(waiting) == settings.web.queue_size else len(waiting)
    return page(request, "queue.html", {"nav": "queue", "waiting": waiting, "waiting_total": total,
                                        "moving": moving})


@router.get("/queue/status")
def queue_status(request: Request, db: SessionDep, user: Reader) -> Response:
    """The sending-status table alone, polled by the page so a send shows up without a reload."""
    return page(request, "_queue_moving.html", {"moving": cards(db, ON_ITS_WAY, 20, recent_first=True)})


@router.post("/replies/{reply_id}/approve")
def approve(request: Request, reply_id: RecordId, db: SessionDep, settings: SettingsDep, user: Approver,
            text: Annotated[str | None, Form()] = None, version: Annotated[int | None, Form()] = None) -> Response:
    reply = workflow.get_reply(db, reply_id)
    edited = text if text is not None and text.strip() != reply.text else None
    workflow.approve(db, settings, reply, user, edit_text=edited, seen_version=version)
    db.commit()
    return _after(request, db, reply_id)


@router.post("/replies/{reply_id}/reject")
def reject(request: Request, reply_id: RecordId, db: SessionDep, user: Rejecter,
           reason: Annotated[str, Form()] = "", version: Annotated[int | None, Form()] = None) -> Response:
    workflow.reject(db, workflow.get_reply(db, reply_id), user, reason, seen_version=version)
    db.commit()
    return _after(request, db, reply_id)


@router.post("/replies/{reply_id}/retry")
def retry(request: Request, reply_id: RecordId, db: SessionDep, user: Retrier,
          version: Annotated[int | None, Form()] = None) -> Response:
    workflow.retry(db, workflow.get_reply(db, reply_id), user, seen_version=version)
    db.commit()
    return _after(request, db, reply_id)


# -- JSON API ----------------------------------------------------------------------------------


VERSION_HELP = ("the reply's `version` this decision was made on; when given and someone changed the reply "
                "since, the decision is refused (409) naming who changed what")


class Approval(BaseModel):
    text: str | None = None
    """Edited text to approve instead of the submitted one (edit-then-approve)."""
    version: int | None = Field(None, description=VERSION_HELP)


class Rejection(BaseModel):
    reason: str
    version: int | None = Field(None, description=VERSION_HELP)


class Retrial(BaseModel):
    version: int | None = Field(None, description=VERSION_HELP)


@api.get("/replies")
def api_replies(db: SessionDep, user: Reader,
                state: Annotated[list[str] | None, Query()] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """Replies in these states (default: waiting for approval), with their mention's other suggestions."""
    states = tuple(state or [workflow.PENDING])
    unknown = [s for s in states if s not in workflow.STATES]
    if unknown:
        raise ValueError(f"unknown reply state {unknown[0]!r}: one of {', '.join(workflow.STATES)}")
    return {"items": [
        reply_json(card.reply) | {"mention_text": card.mention.text, "mention_url": http_url(card.mention.url),
                                  "approvals": card.approvals,
                                  "alternatives": [suggestion_json(s) for s in card.alternatives]}
        for card in cards(db, states, limit)
    ]}


@api.post("/replies/{reply_id}/approve")
def api_approve(reply_id: RecordId, body: Approval, db: SessionDep, settings: SettingsDep,
                user: Approver) -> dict[str, Any]:
    reply = workflow.get_reply(db, reply_id)
    edited = body.text if body.text is not None and body.text.strip() != reply.text else None
    workflow.approve(db, settings, reply, user, edit_text=edited, seen_version=body.version)
    db.commit()
    return reply_json(reply)


@api.post("/replies/{reply_id}/reject")
def api_reject(reply_id: RecordId, body: Rejection, db: SessionDep, user: Rejecter) -> dict[str, Any]:
    reply = workflow.reject(db, workflow.get_reply(db, reply_id), user, body.reason, seen_version=body.version)
    db.commit()
    return reply_json(reply)


@api.post("/replies/{reply_id}/retry")
def api_retry(reply_id: RecordId, db: SessionDep, user: Retrier, body: Retrial | None = None) -> dict[str, Any]:
    """Send a failed reply again (the sender posts it on its next run)."""
    reply = workflow.retry(db, workflow.get_reply(db, reply_id), user, seen_version=body.version if body else None)
    db.commit()
    return reply_json(reply)
