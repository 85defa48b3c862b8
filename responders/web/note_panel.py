"""The mention page's notes panel: the notes on the mention, the form to add one, the colleagues to @-mention.

The mention page (``routes/inbox.py``) and the notes routes (``routes/notes.py``) both draw it
from here. A note refused on a plain (script-less) form post comes back in the page itself,
its text in the box and the reason beside it: :func:`refused_note` leaves both on the request
for :func:`note_panel` to find.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlmodel import Session

from listener.models import StaffUser
from responders.notes import NOTE_LIMIT, WRITE_NOTES, colleagues, mark_read, may_delete, notes_on
from responders.roles import can


@dataclass(frozen=True)
class RefusedNote:
    """What was typed into the note form, and why it was refused."""

    text: str
    error: str


def refused_note(request: Request, text: str, error: str) -> None:
    request.state.refused_note = RefusedNote(text, error)


def note_panel(request: Request, db: Session, mention_id: int, reader: StaffUser) -> dict[str, Any]:
    """The template context of ``_notes.html``. Drawing it for the reader marks as read the notes on this
    mention that mention them: they have opened it."""
    if mark_read(db, reader, mention_id):
        db.commit()
    refused: RefusedNote | None = getattr(request.state, "refused_note", None)
    return {
        "notes": notes_on(db, mention_id),
        "note_limit": NOTE_LIMIT,
        "may_write_notes": can(reader, WRITE_NOTES),
        "may_delete_note": lambda note: may_delete(reader, note),
        "colleagues": colleagues(db, exclude=reader),
        "note_text": refused.text if refused else "",
        "note_error": refused.error if refused else None,
    }
