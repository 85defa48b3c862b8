"""Overdue first within a priority level: the approval queue (web and command line) as the inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Mention, Reply
from responders.mention_queue import list_replies
from responders.web.routes.approvals import cards


def _waiting_reply(session: Session, name: str, priority: float | None, due_in_hours: float | None) -> int:
    now = datetime.now(UTC)
    mention = Mention(platform="x", external_id=name, kind="tweet", text=f"mention {name}", url=f"https://x.test/{name}",
                      created_at=now - timedelta(days=1), raw="{}", status="needs_reply", priority=priority,
                      sla_due_at=None if due_in_hours is None else now + timedelta(hours=due_in_hours))
    session.add(mention)
    session.flush()
    reply = Reply(mention_id=mention.id, state="pending_approval", text=f"reply to {name}")  # type: ignore[arg-type]
    session.add(reply)
    session.flush()
    return reply.id  # type: ignore[return-value]


def test_the_approval_queue_puts_overdue_first_within_a_level(engine: Engine) -> None:
    with Session(engine) as session:
        urgent_later = _waiting_reply(session, "urgent-later", 95.0, 5)
        urgent_overdue = _waiting_reply(session, "urgent-overdue", 72.0, -1)  # lower score, same level: first
        high_later = _waiting_reply(session, "high-later", 69.0, 2)
        high_no_due = _waiting_reply(session, "high-no-due", 60.0, None)
        high_overdue = _waiting_reply(session, "high-overdue", 46.0, -3)
        low_overdue = _waiting_reply(session, "low-overdue", 5.0, -10)  # overdue, but a lower level: after high
        unscored = _waiting_reply(session, "unscored", None, -10)
        session.commit()
        expected = [urgent_overdue, urgent_later, high_overdue, high_later, high_no_due, low_overdue, unscored]
        assert [card.reply.id for card in cards(session, ("pending_approval",), limit=50)] == expected
        assert [reply.id for reply in list_replies(session)] == expected
        # The page's first rows are the first of that order, not the first by score.
        assert [card.reply.id for card in cards(session, ("pending_approval",), limit=3)] == expected[:3]
