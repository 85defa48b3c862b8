"""Saved views of the inbox: save the current filters under a name, rename, delete. Page actions and JSON API.

Each person's own: the inbox lists them as links (one click gives the filters back), and a view
of another person's is answered as missing, whoever asks.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from listener.models import SavedView
from responders.inbox import InvalidFilter
from responders.saved_views import MAX_NAME, delete_view, filters_query, rename_view, save_view, views_of
from responders.web.deps import Reader, RecordId, SessionDep
from responders.web.pages import after_post
from responders.web.routes.inbox import MAX_SEARCH, inbox_filter

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["saved views"])


def checked_query(query: str) -> str:
    """The filters of ``query`` (an inbox query string), refused as the inbox would refuse them."""
    kept = filters_query(query)
    values = parse_qs(kept)
    text = values.get("q", [""])[0]
    if len(text) > MAX_SEARCH:
        raise InvalidFilter(f"the search text is at most {MAX_SEARCH} characters")
    one = {key: found[0] for key, found in values.items() if key not in ("status", "overdue")}
    inbox_filter(status=values.get("status"), overdue=values.get("overdue", [""])[0] in ("true", "1", "on"), **one)
    return kept


def view_json(view: SavedView) -> dict[str, Any]:
    return {"id": view.id, "name": view.name, "query": view.query, "url": f"/inbox?{view.query}",
            "created_at": view.created_at.isoformat()}


# -- page actions (htmx forms on the inbox; plain forms without script) -------------------------------


@router.post("/inbox/views")
def save_page_view(request: Request, db: SessionDep, user: Reader, name: Annotated[str, Form()] = "",
                   query: Annotated[str, Form()] = "") -> Response:
    view = save_view(db, user, name, checked_query(query))
    db.commit()
    return after_post(request, "/inbox", to=f"/inbox?{view.query}")


@router.post("/inbox/views/{view_id}/rename")
def rename_page_view(request: Request, view_id: RecordId, db: SessionDep, user: Reader,
                     name: Annotated[str, Form()] = "") -> Response:
    rename_view(db, user, view_id, name)
    db.commit()
    return after_post(request, "/inbox")


@router.post("/inbox/views/{view_id}/delete")
def delete_page_view(request: Request, view_id: RecordId, db: SessionDep, user: Reader) -> Response:
    delete_view(db, user, view_id)
    db.commit()
    return after_post(request, "/inbox")


# -- JSON API --------------------------------------------------------------------------------------


class NewView(BaseModel):
    name: str = Field(description=f"what the view is called (at most {MAX_NAME} characters; unique among yours)")
    query: str = Field("", description="the inbox's filters as a query string, e.g. `platform=x&sentiment=negative`"
                                       " (as in the inbox's address; the page is left out)")


class ViewName(BaseModel):
    name: str = Field(description=f"the new name (at most {MAX_NAME} characters; unique among yours)")


@api.get("/views")
def api_views(db: SessionDep, user: Reader) -> dict[str, Any]:
    """Your saved views of the inbox, by name."""
    return {"items": [view_json(view) for view in views_of(db, user)]}


@api.post("/views", status_code=201)
def api_save_view(new: NewView, db: SessionDep, user: Reader) -> dict[str, Any]:
    """Save inbox filters under a name."""
    view = save_view(db, user, new.name, checked_query(new.query))
    db.commit()
    return view_json(view)


@api.patch("/views/{view_id}")
def api_rename_view(view_id: RecordId, change: ViewName, db: SessionDep, user: Reader) -> dict[str, Any]:
    """Rename one of your views."""
    view = rename_view(db, user, view_id, change.name)
    db.commit()
    return view_json(view)


@api.delete("/views/{view_id}", status_code=204)
def api_delete_view(view_id: RecordId, db: SessionDep, user: Reader) -> Response:
    """Delete one of your views."""
    delete_view(db, user, view_id)
    db.commit()
    return Response(status_code=204)
