"""Collision safety: a change to a mention states the version it was made on, and a stale one is refused.

Two people looking at the same mention each see a version number (on the page, in the API's JSON). A change
sent with the version its sender saw is applied only if nobody changed the mention since; otherwise it is
refused with who changed it and how, read from the audit log ("Pat assigned this mention to Dana 2 minutes
ago"), so the person can look again instead of silently undoing a colleague's work. Sending no version (older
API clients) skips the check.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from listener.db import utcnow
from listener.models import AuditEvent, Mention, StaffUser
from responders.triage import TriageError

# The audit actions that change a mention, as a person would say them.
_MENTION_VERBS = {"mention.assign": "assigned", "mention.status": "changed the status of"}


class StaleVersion(TriageError):
    """A change was made on an older version of the item than the one stored: someone changed it meanwhile."""

    def __init__(self, message: str, mention_id: int) -> None:
        super().__init__(message)
        self.mention_id = mention_id


def check_mention_version(session: Session, mention: Mention, version: int | None) -> None:
    """Refuse a change stated on ``version`` when the mention has moved on; ``None`` means no check."""
    if version is None or version == mention.version:
        return
    assert mention.id is not None
    raise StaleVersion(f"{_last_change(session, mention.id)}; this page showed an older version, "
                       "now refreshed: look again before changing it", mention.id)


def _last_change(session: Session, mention_id: int) -> str:
    event = session.execute(
        select(AuditEvent)
        .where(AuditEvent.object_type == "mention", AuditEvent.object_id == str(mention_id),
               AuditEvent.action.in_(tuple(_MENTION_VERBS)))  # type: ignore[attr-defined]
        .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
        .limit(1)
    ).scalar_one_or_none()
    if event is None:
        return "Someone changed this mention"
    who = _person(session, event.actor)
    verb = _MENTION_VERBS[event.action]
    if event.action == "mention.assign":
        to = event.after.get("assignee")
        if not to:
            what = "unassigned this mention"
        elif to == event.actor:
            what = "took this mention"
        else:
            what = f"{verb} this mention to {_person(session, to)}"
    else:
        what = f"set this mention to {str(event.after.get('status', '')).replace('_', ' ')}"
    return f"{who} {what} {_ago(event.at)}"


def _person(session: Session, email: str) -> str:
    """A staff member by name (what colleagues call them), or the recorded actor when not a person."""
    user = session.execute(select(StaffUser).where(StaffUser.email == email)).scalar_one_or_none()
    return user.name if user is not None and user.name else email


def _ago(moment: datetime, now: datetime | None = None) -> str:
    seconds = max(0, int(((now or utcnow()) - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    return f"{hours // 24} days ago"
