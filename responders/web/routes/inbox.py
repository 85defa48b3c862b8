"""The inbox and the mention page: find, triage and answer mentions. Pages and their JSON API.

Every action here is the same call to ``responders.triage`` / ``responders.workflow``
from the page and from the API, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session

from listener.models import Mention, StaffUser
from listener.platforms import platform_names
from listener.settings import PRIORITY_LEVELS
from responders import workflow
from responders.inbox import (
    SENTIMENTS,
    InboxFilter,
    InboxPage,
    InvalidFilter,
    items_by_ids,
    mentions_by_ids,
    newest_mention_id,
    search,
)
from responders.mention_queue import MentionNotFound, QueueItem, mention_detail
from responders.roles import Action
from responders.saved_views import filters_query, views_of
from responders.staff import find_user
from responders.triage import NEEDS_ANSWER, STATUSES, assign, correct_sentiment, set_status
from responders.versions import StaleVersion
from responders.web.deps import BodyId, Offset, Reader, RecordId, SessionDep, SettingsDep, Triager, allowed
from responders.web.note_panel import note_panel
from responders.web.pages import after_post, back, page
from responders.web.views import detail_json, mention_context, queue_item_json, reply_json

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["mentions"])

Drafter = Annotated[StaffUser, allowed(Action.SUBMIT)]
# Longer than any post; SQLite refuses a LIKE pattern of 50,000 bytes, and such a search is no search.
MAX_SEARCH = 1000


def inbox_filter(
    status: Annotated[list[str] | None, Query(description="any of the statuses, or `all`")] = None,
    platform: str | None = None,
    sentiment: str | None = None,
    priority: str | None = None,
    assignee: Annotated[str | None, Query(description="a staff email, `me` or `unassigned`")] = None,
    since: Annotated[str | None, Query(description="YYYY-MM-DD, posted on or after")] = None,
    until: Annotated[str | None, Query(description="YYYY-MM-DD, posted on or before")] = None,
    q: Annotated[str | None, Query(max_length=MAX_SEARCH, description="words in the mention, or @handle")] = None,
    source: Annotated[str | None, Query(description="a source's name, e.g. x:search:brand")] = None,
    overdue: Annotated[bool, Query(description="only mentions past their SLA due time")] = False,
) -> InboxFilter:
    """The inbox's filters from the query string, as the page's form and the API send them."""
    statuses = tuple(s for s in (status or []) if s) or NEEDS_ANSWER
    if "all" in statuses:
        statuses = STATUSES
    return InboxFilter(statuses, platform or None, sentiment or None, priority or None, assignee or None,
                       _day(since, "since"), _day(until, "until"), q or None, source or None,
                       overdue=overdue).check()


# After the permission parameter in a route, so that a stranger's bad filter is a 401, not a 409.
Wanted = Annotated[InboxFilter, Depends(inbox_filter)]


def _day(value: str | None, name: str) -> date | datetime | None:
    """A date filter: a day, or an exact ISO 8601 moment (as the digest's links give); empty means no limit."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise InvalidFilter(f"{name}: {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from None


def _get_mention(db: Session, mention_id: int) -> Mention:
    mention = db.get(Mention, mention_id)
    if mention is None:
        raise MentionNotFound(f"no mention {mention_id}")
    return mention


def _assignee(db: Session, value: str | None, me: StaffUser) -> StaffUser | None:
    value = (value or "").strip()
    if not value:
        return None
    return me if value == "me" else find_user(db, value)


def _staff(db: Session) -> list[StaffUser]:
    return list(db.execute(select(StaffUser).where(StaffUser.active).order_by(StaffUser.name)).scalars())  # type: ignore[arg-type]


def _newest_id(db: Session) -> int:
    """The highest mention id when the page was drawn: the "N new" bar counts what comes after it."""
    return newest_mention_id(db)


def _without_offset(request: Request) -> str:
    """The page's query string without its offset, ending in ``&`` when not empty (for the pager's links)."""
    kept = [(key, value) for key, value in request.query_params.multi_items() if key != "offset"]
    return urlencode(kept) + "&" if kept else ""


# -- pages -------------------------------------------------------------------------------------


@router.get("/inbox")
def inbox_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    user: Reader,
    wanted: Wanted,
    offset: Offset = 0,
) -> Response:
    result = search(db, wanted, me=user, limit=settings.web.page_size, offset=offset)
    context = {"nav": "inbox", "page": result, "wanted": wanted, "staff": _staff(db), "statuses": STATUSES,
               "platforms": platform_names(), "sentiments": SENTIMENTS, "levels": PRIORITY_LEVELS,
               "query": request.url.query, "base_query": _without_offset(request),
               "newest_id": _newest_id(db), "saved_views": views_of(db, user),
               "filters_query": filters_query(request.url.query)}
    if request.headers.get("hx-target") == "inbox-results":
        return page(request, "_inbox_results.html", context)
    return page(request, "inbox.html", context)


@router.post("/mentions/{mention_id}/status")
def change_status(request: Request, mention_id: RecordId, db: SessionDep, user: Triager,
                  status: Annotated[str, Form()], note: Annotated[str, Form()] = "",
                  version: Annotated[int | None, Form()] = None) -> Response:
    mention = _get_mention(db, mention_id)
    set_status(db, mention, status, user, note.strip() or None, seen_version=version)
    db.commit()
    return _row_or_back(request, db, mention_id)


@router.post("/mentions/{mention_id}/assign")
def change_assignee(request: Request, mention_id: RecordId, db: SessionDep, user: Triager,
                    assignee: Annotated[str, Form()] = "", version: Annotated[int | None, Form()] = None) -> Response:
    mention = _get_mention(db, mention_id)
    assign(db, mention, _assignee(db, assignee, user), user, seen_version=version)
    db.commit()
    return _row_or_back(request, db, mention_id)


def _row_or_back(request: Request, db: Session, mention_id: int, fallback: str = "/inbox") -> Response:
    """An inbox row's HTMX request gets the row as it is now; a plain form goes back where it came from."""
    if request.headers.get("hx-request") and request.headers.get("hx-target", "").startswith("mention-row-"):
        item = _one_item(db, mention_id)
        return page(request, "_inbox_row.html", {"item": item, "staff": _staff(db), "statuses": STATUSES})
    return after_post(request, fallback)


def _one_item(db: Session, mention_id: int) -> QueueItem:
    items = items_by_ids(db, [mention_id])
    if not items:
        raise MentionNotFound(f"no mention {mention_id}")
    return items[0]


@router.post("/inbox/bulk")
def bulk(request: Request, db: SessionDep, user: Triager,
         ids: Annotated[list[int] | None, Form()] = None,  # none ticked: apply_bulk says so, not a bare 422
         status: Annotated[str, Form()] = "", assignee: Annotated[str, Form()] = "",
         versions: Annotated[list[str] | None, Form()] = None) -> Response:
    apply_bulk(db, user, ids or [], status or None, assignee or None, _versions(versions or []))
    db.commit()
    if request.headers.get("hx-request"):
        response = Response(status_code=204)
        response.headers["HX-Trigger"] = "inbox-changed"
        return response
    return back(request, "/inbox")


def _versions(pairs: list[str]) -> dict[int, int]:
    """The inbox rows' ``id:version`` pairs (one per row shown, ticked or not) as {mention id: version}."""
    found = {}
    for pair in pairs:
        mention_id, _, version = pair.partition(":")
        if not (mention_id.isdigit() and version.isdigit()):
            raise ValueError(f"versions: {pair!r} is not a mention id and its version (id:version)")
        found[int(mention_id)] = int(version)
    return found


def apply_bulk(db: Session, user: StaffUser, ids: list[int], status: str | None, assignee: str | None,
               versions: dict[int, int] | None = None) -> int:
    """Assign and/or set the status of many mentions in one transaction: all of them, or none.

    ``versions`` ({mention id: version seen}) refuses the whole change if any of them changed meanwhile.
    """
    if not ids:
        raise ValueError("select at least one mention")
    if status is None and assignee is None:
        raise ValueError("choose a status or an assignee for the selected mentions")
    ids = list(dict.fromkeys(ids))  # a mention selected twice is still one mention, changed once
    mentions = mentions_by_ids(db, ids)
    if len(mentions) != len(ids):
        raise MentionNotFound("some selected mentions no longer exist")
    target = _assignee(db, assignee, user) if assignee not in (None, "none") else None
    for mention in mentions:
        # Each change claims the version it was made on (the caller rolls the whole transaction back on a
        # refusal); the status change after an assignment is made on the version that assignment left.
        seen = (versions or {}).get(mention.id)  # type: ignore[arg-type]
        try:
            if assignee is not None:
                assign(db, mention, target, user, seen_version=seen)
                seen = mention.version
            if status is not None:
                set_status(db, mention, status, user, seen_version=seen)
        except StaleVersion as stale:  # among many, say which one
            raise StaleVersion(f"mention {mention.id}: {stale}", stale.mention_id) from None
    return len(mentions)


@router.get("/mentions/{mention_id}")
def mention_page(request: Request, mention_id: RecordId, db: SessionDep, user: Reader) -> Response:
    context = mention_context(db, mention_id)
    context.update({"nav": "inbox", "staff": _staff(db), "statuses": STATUSES, "labels": SENTIMENTS[:3]})
    context.update(note_panel(request, db, mention_id, user))
    return page(request, "mention.html", context)


@router.post("/mentions/{mention_id}/sentiment")
def change_sentiment(request: Request, mention_id: RecordId, db: SessionDep, settings: SettingsDep, user: Triager,
                     label: Annotated[str, Form()], version: Annotated[int | None, Form()] = None) -> Response:
    """Correct the label from the mention page or an inbox row (whose row comes back, changed, in place)."""
    mention = _get_mention(db, mention_id)
    correct_sentiment(db, mention, label, user, settings, version)
    db.commit()
    return _row_or_back(request, db, mention_id, fallback=f"/mentions/{mention_id}")


@router.post("/mentions/{mention_id}/reply")
def send_for_approval(request: Request, mention_id: RecordId, db: SessionDep, settings: SettingsDep, user: Drafter,
                      text: Annotated[str, Form()], suggestion_id: Annotated[int | None, Form()] = None) -> Response:
    """Draft and submit in one action: the reply goes to the approval queue."""
    mention = _get_mention(db, mention_id)
    reply = workflow.create_draft(db, mention, text, user, suggestion_id, settings)
    workflow.submit(db, settings, reply, user)
    db.commit()
    return after_post(request, f"/mentions/{mention_id}", to=f"/mentions/{mention_id}")


# -- JSON API ----------------------------------------------------------------------------------


VERSION_HELP = ("the mention's `version` this change was made on; when given and someone changed the mention "
                "since, the change is refused (409) naming who changed what")


class StatusChange(BaseModel):
    status: str = Field(description=f"one of {', '.join(STATUSES)}")
    note: str | None = None
    version: int | None = Field(None, description=VERSION_HELP)


class AssigneeChange(BaseModel):
    assignee: str | None = Field(None, description="a staff email, `me`, or null to unassign")
    version: int | None = Field(None, description=VERSION_HELP)


class SentimentChange(BaseModel):
    label: str = Field(description="negative, neutral or positive")
    version: int | None = Field(None, description=VERSION_HELP)


class SeenVersion(BaseModel):
    id: BodyId
    version: int


class BulkChange(BaseModel):
    ids: list[BodyId]
    status: str | None = None
    assignee: str | None = Field(None, description="a staff email, `me`, or `none` to unassign")
    versions: list[SeenVersion] | None = Field(None, description="the `version` of each mention this change was "
                                               "made on; when given, one changed since refuses the whole change (409)")


class ReplyDraft(BaseModel):
    text: str
    suggestion_id: BodyId | None = None


@api.get("/mentions")
def api_mentions(
    db: SessionDep,
    settings: SettingsDep,
    user: Reader,
    wanted: Wanted,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Mentions matching the filters, most urgent first (the inbox)."""
    result: InboxPage = search(db, wanted, me=user, limit=limit, offset=offset)
    return {"items": [queue_item_json(item) for item in result.items], "offset": offset, "limit": limit,
            "has_more": result.has_more}


@api.get("/mentions/{mention_id}")
def api_mention(mention_id: RecordId, db: SessionDep, user: Reader) -> dict[str, Any]:
    """One mention with its author, profile, suggestions, replies and history."""
    return detail_json(mention_detail(db, mention_id))


@api.post("/mentions/{mention_id}/status")
def api_status(mention_id: RecordId, change: StatusChange, db: SessionDep, user: Triager) -> dict[str, Any]:
    mention = _get_mention(db, mention_id)
    set_status(db, mention, change.status, user, change.note, seen_version=change.version)
    db.commit()
    return queue_item_json(_one_item(db, mention_id))


@api.post("/mentions/{mention_id}/assign")
def api_assign(mention_id: RecordId, change: AssigneeChange, db: SessionDep, user: Triager) -> dict[str, Any]:
    mention = _get_mention(db, mention_id)
    assign(db, mention, _assignee(db, change.assignee, user), user, seen_version=change.version)
    db.commit()
    return queue_item_json(_one_item(db, mention_id))


@api.post("/mentions/{mention_id}/sentiment")
def api_sentiment(mention_id: RecordId, change: SentimentChange, db: SessionDep, settings: SettingsDep,
                  user: Triager) -> dict[str, Any]:
    """Correct the mention's sentiment label: kept with who, as training data, and in the audit log."""
    mention = _get_mention(db, mention_id)
    correct_sentiment(db, mention, change.label, user, settings, change.version)
    db.commit()
    return queue_item_json(_one_item(db, mention_id))


@api.post("/mentions/bulk")
def api_bulk(change: BulkChange, db: SessionDep, user: Triager) -> dict[str, Any]:
    seen = {item.id: item.version for item in change.versions} if change.versions is not None else None
    count = apply_bulk(db, user, change.ids, change.status, change.assignee, seen)
    db.commit()
    return {"changed": count}


@api.post("/mentions/{mention_id}/replies", status_code=201)
def api_reply(mention_id: RecordId, draft: ReplyDraft, db: SessionDep, settings: SettingsDep,
              user: Drafter) -> dict[str, Any]:
    """Draft a reply and submit it for approval, in one call."""
    mention = _get_mention(db, mention_id)
    reply = workflow.create_draft(db, mention, draft.text, user, draft.suggestion_id, settings)
    workflow.submit(db, settings, reply, user)
    db.commit()
    return reply_json(reply)
