"""What the pages poll to stay current without a reload: new mentions for the inbox's "N new" bar, the counts
in the navigation, the approval queue's cards (new ones, and those someone else changed), and who is at work
on which mention right now (presence: the pages' heartbeats come here too)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from listener.models import Mention, Reply
from responders import presence
from responders.inbox import InboxFilter, search
from responders.mention_queue import MentionNotFound
from responders.notes import unread_count
from responders.versions import last_reply_change
from responders.web.deps import LARGEST_ID, Reader, RecordId, SessionDep, SettingsDep
from responders.web.pages import page
from responders.web.routes.approvals import queue_card, waiting_count, waiting_ids
from responders.web.routes.inbox import inbox_filter

router = APIRouter(include_in_schema=False)

MOST_NEW = 100
"""The bar says "100+ new" beyond this: counting further would only cost time."""

MOST_WATCHED = 200
"""More cards or mentions than a page shows are not asked about in one poll."""


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
    return {"queue": waiting_count(db), "mentions": unread_count(db, user)}


def _seen_cards(pairs: list[str]) -> dict[int, int]:
    """The queue page's ``reply id:version`` pairs as {reply id: version}."""
    seen = {}
    for pair in pairs[:MOST_WATCHED]:
        reply_id, _, version = pair.partition(":")
        if not (reply_id.isdigit() and version.isdigit()) or int(reply_id) > LARGEST_ID:
            raise ValueError(f"seen: {pair!r} is not a reply id and its version (id:version)")
        seen[int(reply_id)] = int(version)
    return seen


@router.get("/queue/live")
def queue_live(db: SessionDep, settings: SettingsDep, user: Reader,
               seen: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
    """What changed in the approval queue since the page drew the cards in ``seen`` (``reply id:version``):
    the replies now waiting that the page lacks (in the queue's order), and the page's cards someone changed,
    each with who changed it and how."""
    shown = _seen_cards(seen or [])
    # The queue page's first cards, in its order: a reply among them that the page lacks is new to it.
    waiting = waiting_ids(db, settings.web.queue_size)
    current = dict(db.execute(
        select(Reply.id, Reply.version).where(Reply.id.in_(list(shown)))  # type: ignore[union-attr]
    ).all()) if shown else {}
    changed = [{"id": reply_id, "version": current[reply_id], "by": last_reply_change(db, reply_id, by_a_person=True)}
               for reply_id, version in shown.items() if reply_id in current and current[reply_id] != version]
    return {"waiting": waiting_count(db), "new": [reply_id for reply_id in waiting if reply_id not in shown],
            "changed": changed}


@router.get("/queue/cards/{reply_id}")
def queue_card_page(request: Request, reply_id: RecordId, db: SessionDep, user: Reader) -> Response:
    """One queue card as it is now: the queue page adds it, or puts it in place of an older one."""
    return page(request, "_queue_card.html", {"card": queue_card(db, reply_id)})


# -- presence --------------------------------------------------------------------------------------------


class Heartbeat(BaseModel):
    mention_id: int = Field(ge=1, le=LARGEST_ID)
    activity: str = "replying"


class Stop(BaseModel):
    mention_id: int = Field(ge=1, le=LARGEST_ID)


@router.get("/presence")
def who_is_here(db: SessionDep, user: Reader,
                mention: Annotated[list[int] | None, Query(max_length=MOST_WATCHED)] = None) -> dict[str, Any]:
    """Who else is replying to or editing each of these mentions now: {"present": {id: ["Dana is replying"]}}."""
    return {"present": {str(mention_id): lines
                        for mention_id, lines in presence.present(db, mention or [], besides=user).items()}}


@router.post("/presence", status_code=204)
def beat(body: Heartbeat, db: SessionDep, user: Reader) -> Response:
    """This person is at work on the mention (the page sends it every few seconds while they type)."""
    if db.get(Mention, body.mention_id) is None:
        raise MentionNotFound(f"no mention {body.mention_id}")
    presence.heartbeat(db, user, body.mention_id, body.activity)
    db.commit()
    return Response(status_code=204)


@router.post("/presence/stop", status_code=204)
def stop(body: Stop, db: SessionDep, user: Reader) -> Response:
    """This person left the field or the page: the others stop seeing them at once."""
    presence.stop(db, user, body.mention_id)
    db.commit()
    return Response(status_code=204)
