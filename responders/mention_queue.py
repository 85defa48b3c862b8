"""Reading the queue: what needs an answer, most urgent first, and everything about one mention.

Sorted by priority (highest first; unscored last), then by SLA due time (soonest
first), then by age (oldest first), so that among equals the one closest to
breaking its SLA comes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from listener.errors import HarkenError
from listener.models import (
    AuditEvent,
    Author,
    CustomerProfile,
    DraftRequest,
    Mention,
    Reply,
    ReplyApproval,
    StaffUser,
    Suggestion,
)
from responders.drafts.notice import draft_notice
from responders.inbox import InboxFilter, QueueItem, overdue_first_order, search
from responders.triage import NEEDS_ANSWER, STATUSES, UnknownStatus
from responders.workflow import STATES


class MentionNotFound(HarkenError, LookupError):
    pass


def list_queue(
    session: Session,
    statuses: Sequence[str] = NEEDS_ANSWER,
    assignee_email: str | None = None,
    platform: str | None = None,
    limit: int = 50,
) -> list[QueueItem]:
    """Mentions in ``statuses`` (by default those that still need an answer), most urgent first.

    The web inbox's search (``responders.inbox``) with these filters, so the command line
    reads the same index in the same order.
    """
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise UnknownStatus(f"unknown status {unknown[0]!r}: one of {', '.join(STATUSES)}")
    wanted = InboxFilter(statuses=tuple(statuses), platform=platform, assignee=assignee_email)
    return search(session, wanted, limit=limit).items


def list_replies(session: Session, states: Sequence[str] = ("pending_approval",), limit: int = 50) -> list[Reply]:
    """Replies in ``states``, those for the most urgent mentions first (an approver's inbox)."""
    unknown = [s for s in states if s not in STATES]
    if unknown:
        raise ValueError(f"unknown reply state {unknown[0]!r}: one of {', '.join(STATES)}")
    statement = (
        select(Reply)
        .join(Mention, Mention.id == Reply.mention_id)
        .where(Reply.state.in_(list(states)))  # type: ignore[attr-defined]
        .order_by(*overdue_first_order(Mention.priority, Mention.sla_due_at),  # as the web queue
                  Mention.priority.desc().nulls_last(), Reply.id)  # type: ignore[union-attr]
        .limit(limit)
    )
    return list(session.execute(statement).scalars())


@dataclass
class MentionDetail:
    mention: Mention
    author: Author | None
    profile: CustomerProfile | None
    assignee: StaffUser | None
    suggestions: list[Suggestion]
    replies: list[Reply]
    approvals: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # reply id -> (revision, email)
    history: list[AuditEvent] = field(default_factory=list)
    # Why there is no model draft (endpoint down, slow, discarded by a check), shown above the suggestions.
    draft_notice: str | None = None


def mention_detail(session: Session, mention_id: int) -> MentionDetail:
    """One mention with its author, profile, suggestions, replies, approvals and audit history."""
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise MentionNotFound(f"no mention {mention_id}")
    replies = list(session.execute(
        select(Reply).where(Reply.mention_id == mention_id).order_by(Reply.id)  # type: ignore[arg-type]
    ).scalars())
    approvals: dict[int, list[tuple[int, str]]] = {}
    if replies:
        rows = session.execute(
            select(ReplyApproval.reply_id, ReplyApproval.revision, StaffUser.email)
            .join(StaffUser, StaffUser.id == ReplyApproval.approver_id)
            .where(ReplyApproval.reply_id.in_([r.id for r in replies]))  # type: ignore[attr-defined]
            .order_by(ReplyApproval.id)  # type: ignore[arg-type]
        )
        for reply_id, revision, email in rows:
            approvals.setdefault(reply_id, []).append((revision, email))
    objects = [("mention", str(mention_id))] + [("reply", str(r.id)) for r in replies]
    history: list[AuditEvent] = []
    for object_type, object_id in objects:
        history.extend(session.execute(
            select(AuditEvent).where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        ).scalars())
    history.sort(key=lambda event: event.id or 0)
    return MentionDetail(
        mention=mention,
        author=session.get(Author, mention.author_id) if mention.author_id else None,
        profile=session.get(CustomerProfile, mention.profile_id) if mention.profile_id else None,
        assignee=session.get(StaffUser, mention.assignee_id) if mention.assignee_id else None,
        suggestions=list(session.execute(
            select(Suggestion).where(Suggestion.mention_id == mention_id).order_by(Suggestion.rank)  # type: ignore[arg-type]
        ).scalars()),
        replies=replies,
        approvals=approvals,
        history=history,
        draft_notice=draft_notice(session.get(DraftRequest, mention_id)),
    )
