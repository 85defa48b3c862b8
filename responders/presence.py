"""Who is at work on a mention right now: "Dana is replying", "Sam is editing".

A page where someone drafts a reply to a mention (the mention page) or edits its reply (a queue card)
sends a heartbeat every few seconds while the field has their focus, and a stop when it loses it. The
heartbeat is a row of ``presence`` (listener.models.Presence), one per person and mention, kept in the
database so every web process sees it. A row whose last heartbeat is older than :data:`EXPIRES_AFTER`
no longer counts: a closed tab or a lost connection disappears on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from listener.db import utcnow
from listener.errors import HarkenError
from listener.models import Presence, StaffUser

EXPIRES_AFTER = timedelta(seconds=15)
"""Three missed heartbeats (static/live.js sends one every 5 seconds) and the person is no longer shown."""

ACTIVITIES = {"replying": "is replying", "editing": "is editing"}
"""What a person can be doing on a mention, and how the others read it."""


class UnknownActivity(HarkenError, ValueError):
    """A heartbeat named an activity other than those in :data:`ACTIVITIES`."""


def heartbeat(session: Session, user: StaffUser, mention_id: int, activity: str, now: datetime | None = None) -> None:
    """``user`` is ``activity`` on mention ``mention_id`` now (one upsert; expired rows go at the same time)."""
    if activity not in ACTIVITIES:
        raise UnknownActivity(f"unknown activity {activity!r}: one of {', '.join(ACTIVITIES)}")
    now = now or utcnow()
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Presence).values(staff_user_id=user.id, mention_id=mention_id, activity=activity, seen_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=["staff_user_id", "mention_id"], set_={"activity": activity, "seen_at": now}))
    # Expired rows of anyone: the table holds only who is at work now, so it stays small.
    session.execute(delete(Presence).where(Presence.seen_at < now - EXPIRES_AFTER))  # type: ignore[arg-type]


def stop(session: Session, user: StaffUser, mention_id: int) -> None:
    """``user`` stopped working on mention ``mention_id`` (left the field, or the page)."""
    session.execute(delete(Presence).where(Presence.staff_user_id == user.id,  # type: ignore[arg-type]
                                           Presence.mention_id == mention_id))


def present(session: Session, mention_ids: Iterable[int], besides: StaffUser,
            now: datetime | None = None) -> dict[int, list[str]]:
    """Who else is at work on each of these mentions now, as people read it: {mention id: ["Dana is replying"]}."""
    ids = list(dict.fromkeys(mention_ids))
    if not ids:
        return {}
    cutoff = (now or utcnow()) - EXPIRES_AFTER
    found: dict[int, list[str]] = {}
    for mention_id, name, activity in session.execute(
        select(Presence.mention_id, StaffUser.name, Presence.activity)
        .join(StaffUser, StaffUser.id == Presence.staff_user_id)
        .where(Presence.mention_id.in_(ids), Presence.seen_at >= cutoff,  # type: ignore[attr-defined]
               Presence.staff_user_id != besides.id)
        .order_by(StaffUser.name)
    ):
        found.setdefault(mention_id, []).append(f"{name} {ACTIVITIES.get(activity, 'is here')}")
    return found
