"""The inbox: mentions filtered the way support teams slice them, most urgent first.

Filters combine (all must hold): status, platform, sentiment, priority level,
assignee (an email, ``me``, or ``unassigned``), a date range on when the mention was
posted, and free text over the mention, its title and its author's handle. The order
is the queue's (``responders.queue``): priority, then SLA due time, then age.

A page asks for one row more than it shows, to know whether there is a next page,
instead of counting every match (a count over 100,000 rows costs more than the page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from listener.models import Author, CustomerProfile, Mention, Reply, StaffUser
from listener.settings import PRIORITY_LEVELS
from responders.queue import QueueItem
from responders.triage import NEEDS_ANSWER, STATUSES, UnknownStatus
from responders.workflow import OPEN_STATES

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive", "unscored")
PLATFORMS: tuple[str, ...] = ("x", "reddit")


class InvalidFilter(ValueError):
    pass


@dataclass(frozen=True)
class InboxFilter:
    statuses: tuple[str, ...] = NEEDS_ANSWER
    platform: str | None = None
    sentiment: str | None = None
    priority_level: str | None = None
    assignee: str | None = None  # an email, "me" or "unassigned"
    since: date | None = None
    until: date | None = None  # inclusive
    text: str | None = None

    def check(self) -> InboxFilter:
        for status in self.statuses:
            if status not in STATUSES:
                raise UnknownStatus(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
        if self.platform and self.platform not in PLATFORMS:
            raise InvalidFilter(f"unknown platform {self.platform!r}: one of {', '.join(PLATFORMS)}")
        if self.sentiment and self.sentiment not in SENTIMENTS:
            raise InvalidFilter(f"unknown sentiment {self.sentiment!r}: one of {', '.join(SENTIMENTS)}")
        if self.priority_level and self.priority_level not in PRIORITY_LEVELS:
            raise InvalidFilter(f"unknown priority {self.priority_level!r}: one of {', '.join(PRIORITY_LEVELS)}")
        if self.since and self.until and self.since > self.until:
            raise InvalidFilter("the date range ends before it starts")
        return self


@dataclass
class InboxPage:
    items: list[QueueItem]
    offset: int
    limit: int
    has_more: bool
    filter: InboxFilter = field(default_factory=InboxFilter)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def search(session: Session, wanted: InboxFilter, me: StaffUser | None = None, limit: int = 50,
           offset: int = 0) -> InboxPage:
    """One page of the inbox for ``wanted``; ``me`` resolves the ``me`` assignee filter."""
    wanted.check()
    statement, assignee = _rows()
    if wanted.statuses and set(wanted.statuses) != set(STATUSES):
        statement = statement.where(Mention.status.in_(list(wanted.statuses)))  # type: ignore[attr-defined]
    if wanted.platform:
        statement = statement.where(Mention.platform == wanted.platform)
    if wanted.sentiment == "unscored":
        statement = statement.where(Mention.sentiment_label.is_(None) | (Mention.sentiment_label == "unscored"))  # type: ignore[union-attr]
    elif wanted.sentiment:
        statement = statement.where(Mention.sentiment_label == wanted.sentiment)
    if wanted.priority_level:
        statement = statement.where(Mention.priority_level == wanted.priority_level)
    if wanted.assignee == "unassigned":
        statement = statement.where(Mention.assignee_id.is_(None))  # type: ignore[union-attr]
    elif wanted.assignee == "me":
        statement = statement.where(Mention.assignee_id == (me.id if me is not None else -1))
    elif wanted.assignee:
        statement = statement.where(assignee.email == wanted.assignee.strip().lower())
    if wanted.since:
        statement = statement.where(Mention.created_at >= _day_start(wanted.since))
    if wanted.until:
        statement = statement.where(Mention.created_at < _day_start(wanted.until + timedelta(days=1)))
    if wanted.text and wanted.text.strip():
        words = wanted.text.strip().lower()
        if words.startswith("@"):  # an author: search handles only
            statement = statement.where(func.lower(func.coalesce(Author.handle, "")).like(_contains(words[1:]),
                                                                                         escape="\\"))
        else:
            needle = _contains(words)
            statement = statement.where(or_(
                func.lower(Mention.text).like(needle, escape="\\"),
                func.lower(func.coalesce(Mention.title, "")).like(needle, escape="\\"),
                func.lower(func.coalesce(Author.handle, "")).like(needle, escape="\\"),
            ))
    statement = statement.order_by(
        Mention.priority.desc().nulls_last(), Mention.sla_due_at.asc().nulls_last(),  # type: ignore[union-attr]
        Mention.created_at, Mention.id,
    ).limit(limit + 1).offset(offset)
    items = _items(session.execute(statement))
    return InboxPage(items[:limit], offset, limit, len(items) > limit, wanted)


def _contains(words: str) -> str:
    """A LIKE pattern for text containing ``words`` literally (its own % and _ are escaped, not wildcards)."""
    return "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _rows() -> tuple[Select[Any], Any]:
    """Mentions with what a row of the inbox shows: author, customer tier, assignee, open reply."""
    assignee = aliased(StaffUser)
    open_reply = (
        select(Reply.mention_id, Reply.id.label("reply_id"), Reply.state.label("reply_state"))  # type: ignore[attr-defined]
        .where(Reply.state.in_(OPEN_STATES))  # type: ignore[attr-defined]
        .subquery()
    )
    statement = (
        select(Mention, Author.handle, Author.followers, CustomerProfile.tier, assignee.email,
               open_reply.c.reply_id, open_reply.c.reply_state)
        .outerjoin(Author, Author.id == Mention.author_id)
        .outerjoin(CustomerProfile, CustomerProfile.id == Mention.profile_id)
        .outerjoin(assignee, assignee.id == Mention.assignee_id)
        .outerjoin(open_reply, open_reply.c.mention_id == Mention.id)
    )
    return statement, assignee


def _items(rows: Any) -> list[QueueItem]:
    return [
        QueueItem(mention.id, mention.platform, mention.status, mention.priority, mention.priority_level,
                  mention.sla_due_at, mention.created_at, mention.text, mention.url, mention.sentiment_label, handle,
                  followers, tier, assignee_mail, reply_id, reply_state)
        for mention, handle, followers, tier, assignee_mail, reply_id, reply_state in rows
    ]


def items_by_ids(session: Session, ids: Sequence[int]) -> list[QueueItem]:
    """Inbox rows for these mentions (for re-rendering one row after an action)."""
    statement, _ = _rows()
    return _items(session.execute(statement.where(Mention.id.in_(list(ids)))))  # type: ignore[union-attr]


def mentions_by_ids(session: Session, ids: Sequence[int]) -> list[Mention]:
    """The mentions with these ids (missing ones are left out), in the order asked."""
    found = {m.id: m for m in session.execute(select(Mention).where(Mention.id.in_(list(ids)))).scalars()}  # type: ignore[union-attr]
    return [found[i] for i in ids if i in found]
