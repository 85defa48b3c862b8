"""How the web app answers a change made on a stale version (responders.versions.StaleVersion, StaleReply).

Always a 409 naming who changed what. The API adds the item's current state, so a client can show it
without another request. An inbox row's or a queue card's HTMX request gets the message and the item as it
is now: the page (static/errors.js) puts the fresh item in place of the stale one, keeps what the person
typed in it, and shows the message inside it, so they see at once who changed it, where they acted.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlmodel import Session

from listener.models import StaffUser
from responders import workflow
from responders.inbox import items_by_ids
from responders.triage import STATUSES
from responders.versions import StaleReply, StaleVersion
from responders.web.pages import page
from responders.web.routes.approvals import queue_card
from responders.web.views import queue_item_json, reply_json

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


def stale_reply_answer(request: Request, error: StaleReply) -> Response | None:
    """The answer to a stale decision on a reply, or None where the generic error answer fits."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        if request.url.path.startswith("/api/"):
            current = reply_json(workflow.get_reply(session, error.reply_id))
            return JSONResponse({"detail": str(error), "current": current}, status_code=CONFLICT)
        if "hx-request" not in request.headers or request.headers.get("hx-target") != f"reply-{error.reply_id}":
            return None
        return page(request, "_stale_card.html", {"card": queue_card(session, error.reply_id), "message": str(error)},
                    status_code=CONFLICT)
