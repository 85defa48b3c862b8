"""Who approved which revision of a reply, for the queue card's approval panel.

An edit bumps a reply's revision and voids the approvals of earlier revisions
(``responders.workflow``): the panel names every approver with the revision they
approved, says which approvals still count, and lets the card warn, before an edit
is saved, whose approval that edit would void, and, after, whose edit voided which approval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from listener.models import AuditEvent, Reply, ReplyApproval, StaffUser


@dataclass(frozen=True)
class ApprovalLine:
    approver_id: int
    name: str
    revision: int
    at: datetime
    counts: bool  # for the reply's current revision; an earlier revision's approval was voided by an edit
    voided_by: str | None = None  # who made the edit that voided it (their name), for one that no longer counts


def approval_lines(db: Session, replies: Sequence[Reply]) -> dict[int, list[ApprovalLine]]:
    """Every approval of these replies, oldest first, by reply id.

    One query; a second (the audit log's edits) only for replies with an approval an edit voided, which is
    rare: most cards of a queue have no approval yet.
    """
    if not replies:
        return {}
    current = {reply.id: reply.revision for reply in replies}
    found = db.execute(
        select(ReplyApproval, StaffUser.name)
        .join(StaffUser, StaffUser.id == ReplyApproval.approver_id)
        .where(ReplyApproval.reply_id.in_(list(current)))  # type: ignore[attr-defined]
        .order_by(ReplyApproval.at, ReplyApproval.id)  # type: ignore[arg-type]
    ).all()
    voided = sorted({approval.reply_id for approval, _ in found if approval.revision != current[approval.reply_id]})
    editors = _editors(db, voided) if voided else {}
    lines: dict[int, list[ApprovalLine]] = {}
    for approval, name in found:
        counts = approval.revision == current[approval.reply_id]
        lines.setdefault(approval.reply_id, []).append(ApprovalLine(
            approval.approver_id, name, approval.revision, approval.at, counts,
            None if counts else editors.get((approval.reply_id, approval.revision))))
    return lines


def _editors(db: Session, reply_ids: list[int]) -> dict[tuple[int, int], str]:
    """Who edited each revision of these replies away: {(reply id, revision edited): editor's name}."""
    names = dict(db.execute(select(StaffUser.email, StaffUser.name)).all())
    edited: dict[tuple[int, int], str] = {}
    for event in db.execute(
        select(AuditEvent).where(AuditEvent.object_type == "reply", AuditEvent.action == "reply.edit",
                                 AuditEvent.object_id.in_([str(reply_id) for reply_id in reply_ids]))  # type: ignore[attr-defined]
    ).scalars():
        revision = event.before.get("revision")
        if isinstance(revision, int):
            edited[(int(event.object_id), revision)] = names.get(event.actor, event.actor)
    return edited


def voided_by_an_edit(lines: Sequence[ApprovalLine]) -> str:
    """The warning an edit must show before it is saved, or "" when it voids nothing."""
    counting = [line.name for line in lines if line.counts]
    if not counting:
        return ""
    names = " and ".join(counting)
    return (f"Saving an edit voids {names}'s approval of this text: the edited reply needs "
            f"{'their' if len(counting) > 1 else 'that'} approval again.")
