"""A staff member's own settings: the time zone the web app shows their times in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from listener.models import StaffUser
from responders.audit import record
from responders.web.clock import UnknownTimeZone, time_zones, zone_named
from responders.web.deps import Reader, SessionDep, SettingsDep
from responders.web.pages import page

router = APIRouter(include_in_schema=False)


def _context(settings: Any, user: StaffUser, chosen: str | None, **more: Any) -> dict[str, Any]:
    return {"nav": "account", "zones": time_zones(), "chosen": chosen or "", "team_zone": settings.digest.timezone,
            "me": user} | more


@router.get("/account")
def account_page(request: Request, settings: SettingsDep, user: Reader, saved: bool = False) -> Response:
    return page(request, "account.html",
                _context(settings, user, user.timezone, notice="Time zone saved." if saved else None))


@router.post("/account/timezone")
def set_time_zone(request: Request, db: SessionDep, settings: SettingsDep, user: Reader,
                  timezone: Annotated[str, Form()] = "") -> Response:
    chosen = timezone.strip()
    if chosen:
        try:
            zone_named(chosen)
        except UnknownTimeZone as error:
            # The form again, with what was typed and why it was refused: nothing is lost.
            return page(request, "account.html", _context(settings, user, chosen, error=str(error)), status_code=422)
    before = {"timezone": user.timezone}
    user.timezone = chosen or None
    db.add(user)
    record(db, user, "staff.timezone", user, before, {"timezone": user.timezone})
    db.commit()
    return RedirectResponse("/account?saved=1", status_code=303)  # post/redirect/get: a reload posts nothing
