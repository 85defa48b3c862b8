"""Collision safety: a change to a mention, a reply or a source states the version it was made on; a stale one
is refused.

Two people looking at the same mention each see a version number (on the page, in the API's JSON). A change
sent with the version its sender saw is applied only if nobody changed the mention since; otherwise it is
refused with who changed it and how, read from the audit log ("Pat assigned this mention to Dana 2 minutes
ago"), so the person can look again instead of silently undoing a colleague's work. Sending no version (older
API clients) skips the check.

The check is the write itself: one ``UPDATE ... SET version = version + 1 WHERE id = :id AND version = :seen``
whose row count decides (:func:`claim_mention_change` here, ``responders.workflow._move`` for replies). Two
people racing the same change both read the same version, but only one UPDATE can match it: the database
makes the second wait for the first (a row lock on PostgreSQL, the write lock on SQLite) and then finds the
version moved on, so the second is refused naming the first, never applied over it.

This module sits below ``responders.triage`` and ``responders.workflow`` (they raise its errors), so it
imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from listener.db import utcnow
from listener.errors import HarkenError
from listener.models import AuditEvent, Mention, Source, StaffUser
from responders.words import ACTION_WORDS, actor_words, is_system_actor, status_word

# The audit actions that change a mention or a reply; their words are responders.words'.
_MENTION_VERBS = {"mention.assign": "assigned", "mention.status": "changed the status of",
                  "mention.sentiment": "corrected the sentiment of"}
_REPLY_VERBS = {action: ACTION_WORDS[action] for action in (
    "reply.revise", "reply.submit", "reply.edit", "reply.approve", "reply.reject", "reply.retry",
    "reply.sending", "reply.sent", "reply.failed", "reply.send_uncertain")}


class VersionConflict(HarkenError):
    """A change was made on an older version of an item than the one stored (answered 409 by the web app)."""


class StaleVersion(VersionConflict):
    """A change was made on an older version of the item than the one stored: someone changed it meanwhile."""

    def __init__(self, message: str, mention_id: int) -> None:
        super().__init__(message)
        self.mention_id = mention_id


class StaleSource(VersionConflict):
    """An admin's change to a source was made on an older version than the one stored: another admin changed it."""

    def __init__(self, message: str, source_id: int) -> None:
        super().__init__(message)
        self.source_id = source_id


class StaleReply(VersionConflict):
    """A change to a reply was made on an older version than the one stored: someone changed it meanwhile."""

    def __init__(self, message: str, reply_id: int) -> None:
        super().__init__(message)
        self.reply_id = reply_id


_NOT_APPLIED = "; your change was made on an older version and was not applied: look again before changing it"


def stale_reply(session: Session, reply_id: int) -> StaleReply:
    """The refusal of a change to reply ``reply_id`` made on an older version, naming who changed it last."""
    return StaleReply(last_reply_change(session, reply_id) + _NOT_APPLIED, reply_id)


def stale_mention(session: Session, mention_id: int) -> StaleVersion:
    """The refusal of a change to mention ``mention_id`` made on an older version, naming who changed it last."""
    return StaleVersion(_last_change(session, mention_id) + _NOT_APPLIED, mention_id)


def check_mention_version(session: Session, mention: Mention, version: int | None) -> None:
    """Refuse a change stated on ``version`` when the mention has moved on; ``None`` means no check.

    Only for a change that writes nothing (the mention already is as asked): a change that writes claims
    the version with :func:`claim_mention_change` instead, where the database decides.
    """
    if version is None or version == mention.version:
        return
    assert mention.id is not None
    raise stale_mention(session, mention.id)


def claim_mention_change(session: Session, mention: Mention, seen: int | None) -> None:
    """Bump ``mention``'s version if it still is ``seen`` (the one stored when read, for ``None``), or refuse.

    One conditional UPDATE whose row count decides (see the module's docstring); call it before changing
    anything else on the mention, in the transaction that makes the change.
    """
    assert mention.id is not None
    if not _claim(session, mention, seen):
        raise stale_mention(session, mention.id)


def claim_source_change(session: Session, source: Source, seen: int | None) -> None:
    """Bump ``source``'s version if it still is ``seen`` (``None``: the one read), or refuse naming who changed it.

    As :func:`claim_mention_change`: call it before changing anything else on the source.
    """
    assert source.id is not None
    if not _claim(session, source, seen):
        raise stale_source(session, source.id)


def _claim(session: Session, item: Mention | Source, seen: int | None) -> bool:
    """One ``UPDATE ... SET version = version + 1 WHERE id = :id AND version = :seen``: whether it matched."""
    table = type(item)
    expected = item.version if seen is None else seen
    result = session.execute(
        update(table).where(table.id == item.id, table.version == expected)  # type: ignore[arg-type]
        .values(version=expected + 1).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(item, "version", expected + 1)  # what is stored now, not a change still to write
    return True


def stale_source(session: Session, source_id: int) -> StaleSource:
    """The refusal of an admin's edit of source ``source_id`` made on an older version, naming who edited it."""
    event = session.execute(_last_event("source", source_id, ("source.edit",))).scalar_one_or_none()
    last = (f"{_person(session, event.actor)} {ACTION_WORDS[event.action]} {_ago(event.at)}"
            if event is not None else "Someone changed this source")
    return StaleSource(last + _NOT_APPLIED, source_id)


def _last_event(object_type: str, object_id: int, actions: Iterable[str]) -> Select[Any]:
    """The newest audit event of one of ``actions`` on the item: who changed it last, and how."""
    return (
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id),
               AuditEvent.action.in_(tuple(actions)))  # type: ignore[attr-defined]
        .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )


def _last_change(session: Session, mention_id: int) -> str:
    event = session.execute(_last_event("mention", mention_id, _MENTION_VERBS)).scalar_one_or_none()
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
    elif event.action == "mention.sentiment":
        what = f"{verb} this mention to {event.after.get('sentiment')}"
    else:
        what = f"set this mention to {status_word(str(event.after.get('status', '')))}"
    return f"{who} {what} {_ago(event.at)}"


def last_reply_change(session: Session, reply_id: int, by_a_person: bool = False) -> str:
    """Who changed reply ``reply_id`` last and how, as colleagues say it ("Sam approved this reply just now").

    ``by_a_person``: the last change a colleague made, past what Harken's sender did after it (a card that
    changed under someone says whose decision it was, not that the sender then posted it).
    """
    statement = _last_event("reply", reply_id, _REPLY_VERBS)
    if by_a_person:
        statement = statement.where(AuditEvent.actor.not_like("system:%"))  # type: ignore[attr-defined]
    event = session.execute(statement).scalar_one_or_none()
    if event is None:
        return "Someone changed this reply"
    what = _REPLY_VERBS[event.action]
    if event.action == "reply.approve" and event.after.get("approvals", 0) < event.after.get("required_approvals", 1):
        what += f" ({event.after.get('approvals')} of {event.after.get('required_approvals')} approvals given)"
    return f"{_person(session, event.actor)} {what} {_ago(event.at)}"


def _person(session: Session, email: str) -> str:
    """A staff member by name (what colleagues call them); Harken itself for its workers (``system:...``)."""
    if is_system_actor(email):
        return actor_words(email)
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
