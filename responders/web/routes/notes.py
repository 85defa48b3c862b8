"""Internal notes on a mention, and the notes that mention you: pages and their JSON API.

The page's forms work with and without scripts. With HTMX the notes panel (``_notes.html``)
is redrawn in place, and a refused note shows its reason in the form, the text still in the
box (errors.js). A plain form post is redirected back to the mention (POST/redirect/GET); a
refused one gets the mention page again with the typed text and the reason in the form.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from listener.models import Mention, StaffUser
from responders.mention_queue import MentionNotFound
from responders.notes import (
    NOTE_LIMIT,
    WRITE_NOTES,
    NoteError,
    NoteView,
    add_note,
    delete_note,
    mentions_of,
    notes_on,
    unread_count,
)
from responders.roles import PermissionDenied
from responders.web.deps import Reader, RecordId, SessionDep, allowed
from responders.web.errors import message_for, status_for
from responders.web.note_panel import note_panel, refused_note
from responders.web.pages import page
from responders.web.routes.inbox import mention_page

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["notes"])

NoteWriter = Annotated[StaffUser, allowed(WRITE_NOTES)]


def _mention(db: Session, mention_id: int) -> Mention:
    mention = db.get(Mention, mention_id)
    if mention is None:
        raise MentionNotFound(f"no mention {mention_id}")
    return mention


def note_json(view: NoteView) -> dict[str, Any]:
    note = view.note
    return {"id": note.id, "mention_id": note.mention_id, "text": note.text,
            "created_at": note.created_at.isoformat(),
            "author": {"name": view.author.name, "email": view.author.email},
            "mentioned": [{"name": user.name, "email": user.email} for user in view.mentioned]}


# -- pages -------------------------------------------------------------------------------------


def _panel_or_back(request: Request, db: Session, mention: Mention, user: StaffUser) -> Response:
    """After a change: HTMX gets the notes panel redrawn; a plain form goes back to the notes (POST/redirect/GET)."""
    if "hx-request" in request.headers:
        return page(request, "_notes.html", {"mention": mention} | note_panel(request, db, mention.id, user))  # type: ignore[arg-type]
    return RedirectResponse(f"/mentions/{mention.id}#notes", status_code=303)


def _refused(request: Request, db: Session, mention_id: int, user: StaffUser, text: str,
             error: Exception) -> Response:
    """A refused plain form post: the mention page again, the text in the box and the reason beside it.
    HTMX requests take the app's usual error answer, which errors.js shows in the form."""
    db.rollback()
    if "hx-request" in request.headers:
        raise error
    status = status_for(error)
    refused_note(request, text, message_for(error, status))
    response = mention_page(request, mention_id, db, user)
    response.status_code = status
    return response


@router.post("/mentions/{mention_id}/notes")
def add_note_page(request: Request, mention_id: RecordId, db: SessionDep, user: NoteWriter,
                  text: Annotated[str, Form()] = "") -> Response:
    mention = _mention(db, mention_id)
    try:
        add_note(db, mention, user, text)
    except NoteError as error:
        return _refused(request, db, mention_id, user, text, error)
    db.commit()
    return _panel_or_back(request, db, mention, user)


@router.post("/mentions/{mention_id}/notes/{note_id}/delete")
def delete_note_page(request: Request, mention_id: RecordId, note_id: RecordId, db: SessionDep,
                     user: Reader) -> Response:
    mention = _mention(db, mention_id)
    try:
        delete_note(db, mention_id, note_id, user)
    except (NoteError, PermissionDenied) as error:
        return _refused(request, db, mention_id, user, "", error)
    db.commit()
    return _panel_or_back(request, db, mention, user)


@router.get("/notes/mentions")
def mentions_of_you_page(request: Request, db: SessionDep, user: Reader) -> Response:
    """The notes in which colleagues mentioned the reader, unread first, each linking to its mention."""
    return page(request, "notes_mentions.html",
                {"nav": "mentions", "found": mentions_of(db, user), "unread": unread_count(db, user)})


# -- JSON API ----------------------------------------------------------------------------------


class NoteDraft(BaseModel):
    text: str = Field(description=f"plain text, at most {NOTE_LIMIT} characters; `@name` or `@email-local-part` "
                                  "mentions an active colleague")


@api.get("/mentions/{mention_id}/notes")
def api_notes(mention_id: RecordId, db: SessionDep, user: Reader) -> dict[str, Any]:
    """The internal notes on a mention, oldest first (staff only; never posted or exported)."""
    _mention(db, mention_id)
    return {"items": [note_json(view) for view in notes_on(db, mention_id)]}


@api.post("/mentions/{mention_id}/notes", status_code=201)
def api_add_note(mention_id: RecordId, draft: NoteDraft, db: SessionDep, user: NoteWriter) -> dict[str, Any]:
    """Add an internal note; the colleagues it @-mentions see it in their mentions."""
    view = add_note(db, _mention(db, mention_id), user, draft.text)
    db.commit()
    return note_json(view)


@api.delete("/mentions/{mention_id}/notes/{note_id}")
def api_delete_note(mention_id: RecordId, note_id: RecordId, db: SessionDep, user: Reader) -> dict[str, Any]:
    """Delete a note: its author may, and an admin. The audit log keeps what it said."""
    _mention(db, mention_id)
    delete_note(db, mention_id, note_id, user)
    db.commit()
    return {"deleted": note_id}


@api.get("/notes/mentions")
def api_mentions_of_me(db: SessionDep, user: Reader) -> dict[str, Any]:
    """The notes that mention the caller, unread first, then newest first; opening the mention on its page
    marks them read."""
    return {"unread": unread_count(db, user),
            "items": [note_json(found.view) | {"read": found.read_at is not None} for found in mentions_of(db, user)]}
