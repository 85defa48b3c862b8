"""How the web app answers a change made on a stale version (responders.versions.StaleVersion).

Always a 409 naming who changed what. The API adds the item's current state, so a client can show it
without another request. An inbox row's HTMX request gets the message and the row as it is now: the
page (static/errors.js) puts the fresh row in place of the stale one and the message inside it, so the
person sees at once who took the mention, where they acted.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlmodel import Session

from listener.models import StaffUser
from responders.inbox import items_by_ids
from responders.triage import STATUSES
from responders.versions import StaleVersion
from responders.web.pages import page
from responders.web.views import queue_item_json

CONFLICT = 409


def stale_answer(request: Request, error: StaleVersion) -> Response | None:
    """The answer to a stale change, or None where the generic error answer fits (a plain form post)."""
    with Session(request.app.state.engine) as session:
        items = items_by_ids(session, [error.mention_id])
        if request.url.path.startswith("/api/"):
            current = queue_item_json(items[0]) if items else None
            return JSONResponse({"detail": str(error), "current": current}, status_code=CONFLICT)
        target = request.headers.get("hx-target", "")
        if not items or "hx-request" not in request.headers or target != f"mention-row-{error.mention_id}":
            return None
        staff = list(session.execute(
            select(StaffUser).where(StaffUser.active).order_by(StaffUser.name)  # type: ignore[arg-type]
        ).scalars())
        return page(request, "_stale_row.html",
                    {"item": items[0], "staff": staff, "statuses": STATUSES, "message": str(error)},
                    status_code=CONFLICT)
