"""What the pages poll to stay current without a reload: new mentions for the inbox's "N new" bar, and the
counts in the navigation."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from listener.models import Reply
from responders.inbox import InboxFilter, search
from responders.notes import unread_count
from responders.web.deps import Reader, SessionDep
from responders.web.routes.inbox import inbox_filter
from responders.workflow import PENDING

router = APIRouter(include_in_schema=False)

MOST_NEW = 100
"""The bar says "100+ new" beyond this: counting further would only cost time."""


@router.get("/inbox/new")
def new_mentions(db: SessionDep, user: Reader, wanted: Annotated[InboxFilter, Depends(inbox_filter)],
                 after: Annotated[int, Query(ge=0, le=2**63 - 1)]) -> dict[str, Any]:
    """How many mentions matching the inbox's filters were stored after mention ``after`` (at most 100)."""
    found = search(db, replace(wanted, after_id=after), me=user, limit=MOST_NEW)
    return {"new": len(found.items), "more": found.has_more,
            "newest": max((item.mention_id for item in found.items), default=after)}


@router.get("/nav/counts")
def nav_counts(db: SessionDep, user: Reader) -> dict[str, int]:
    """The numbers in the navigation: replies waiting for approval, notes mentioning the reader not yet read."""
    waiting = db.scalar(select(func.count()).select_from(Reply).where(Reply.state == PENDING)) or 0
    return {"queue": waiting, "mentions": unread_count(db, user)}
