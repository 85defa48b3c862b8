"""Who approved which revision of a reply, for the queue card's approval panel.

An edit bumps a reply's revision and voids the approvals of earlier revisions
(``responders.workflow``): the panel names every approver with the revision they
approved, says which approvals still count, and lets the card warn, before an edit
is saved, whose approval that edit would void.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from listener.models import Reply, ReplyApproval, StaffUser


@dataclass(frozen=True)
class ApprovalLine:
    approver_id: int
    name: str
    revision: int
    at: datetime
    counts: bool  # for the reply's current revision; an earlier revision's approval was voided by an edit


def approval_lines(db: Session, replies: Sequence[Reply]) -> dict[int, list[ApprovalLine]]:
    """Every approval of these replies, oldest first, by reply id (one query)."""
    if not replies:
        return {}
    current = {reply.id: reply.revision for reply in replies}
    lines: dict[int, list[ApprovalLine]] = {}
    for approval, name in db.execute(
        select(ReplyApproval, StaffUser.name)
        .join(StaffUser, StaffUser.id == ReplyApproval.approver_id)
        .where(ReplyApproval.reply_id.in_(list(current)))  # type: ignore[attr-defined]
        .order_by(ReplyApproval.at, ReplyApproval.id)  # type: ignore[arg-type]
    ):
        lines.setdefault(approval.reply_id, []).append(ApprovalLine(
            approval.approver_id, name, approval.revision, approval.at,
            approval.revision == current[approval.reply_id]))
    return lines


def voided_by_an_edit(lines: Sequence[ApprovalLine]) -> str:
    """The warning an edit must show before it is saved, or "" when it voids nothing."""
    counting = [line.name for line in lines if line.counts]
    if not counting:
        return ""
    names = " and ".join(counting)
    return (f"Saving an edit voids {names}'s approval of this text: the edited reply needs "
            f"{'their' if len(counting) > 1 else 'that'} approval again.")
