"""What every route receives as typed dependencies: the database session, the signed-in actor, the permission.

A route body is only its own logic. Authentication, the CSRF check and the role
check happen here, once:

- no valid session cookie or bearer token: 401 (a page GET is redirected to sign-in);
- a cookie session sending a state-changing request without the session's CSRF
  token (``X-CSRF-Token`` header, as HTMX sends it, or the ``csrf_token`` form field): 403;
- a role that may not take the route's action (``responders.roles``): 403.

Bearer tokens need no CSRF token: a browser never attaches them by itself. A token an
admin made for someone else acts as that admin (the audit names who really acted),
limited to what both roles allow, and never approves or edits a reply: approving
stays with approvers, through sessions and tokens they made themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request
from pydantic import Field
from sqlmodel import Session

from listener.errors import HarkenError
from listener.models import StaffUser
from listener.settings import Settings
from responders.roles import Action, can, roles_allowed
from responders.web import security

SESSION_COOKIE = "harken_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(HarkenError):
    """No valid session or token; pages turn this into a redirect to sign-in, the API into 401."""


def get_db(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


LARGEST_ID = 2**31 - 1
"""No record's id goes beyond this: PostgreSQL's ids are 32-bit integers (SQLite's go further, but
cannot bind 2**63). A larger id or offset is refused as invalid, never sent to the database."""
RecordId = Annotated[int, Path(ge=1, le=LARGEST_ID)]
Offset = Annotated[int, Query(ge=0, le=LARGEST_ID)]
BodyId = Annotated[int, Field(ge=1, le=LARGEST_ID)]

SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


@dataclass(frozen=True)
class Actor:
    """Who is making this request, and how they proved it."""

    user: StaffUser
    via: str  # "session" or "token"
    csrf_token: str | None = None
    session_id: int | None = None
    # The admin who made this token for ``user``: the one who really acts through it.
    made_by: StaffUser | None = None


async def current_actor(request: Request, db: SessionDep, settings: SettingsDep) -> Actor:
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        holder = security.token_holder(db, authorization[7:].strip())
        if holder is None:
            raise NotSignedIn("unknown or revoked API token")
        request.state.actor = Actor(holder.user, "token", made_by=holder.made_by)
        return request.state.actor
    cookie = request.cookies.get(SESSION_COOKIE)
    current = security.session_for(db, settings.web, cookie) if cookie else None
    if current is None:
        raise NotSignedIn("sign in first")
    if request.method not in SAFE_METHODS:
        given = request.headers.get("x-csrf-token")
        if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            given = (await request.form()).get("csrf_token")  # type: ignore[assignment]
        if not security.csrf_matches(current.csrf_token, given if isinstance(given, str) else None):
            raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")
    request.state.actor = Actor(current.user, "session", current.csrf_token, current.session_id)
    return request.state.actor


ActorDep = Annotated[Actor, Depends(current_actor)]


DELEGATED_NEVER = frozenset({Action.APPROVE, Action.EDIT})
"""What a token made for someone else never does, whoever made it: approving is the approver's own act."""


class Permission:
    """The dependency that lets a route through only for roles allowed to take ``action``.

    Routes declare it with :func:`allowed`; the tests walk every route to find it.
    """

    def __init__(self, action: Action) -> None:
        self.action = action

    def __call__(self, actor: ActorDep) -> StaffUser:
        doing = self.action.value.replace("_", " ")
        if not can(actor.user, self.action):
            roles = ", ".join(role.value for role in roles_allowed(self.action)) or "no role"
            raise HTTPException(403, f"{actor.user.role} may not {doing} (allowed: {roles})")
        if actor.made_by is None:
            return actor.user
        if self.action in DELEGATED_NEVER or not can(actor.made_by, self.action):
            raise HTTPException(403, f"this token was made by {actor.made_by.email} for {actor.user.email}: it may "
                                     f"not {doing}; {actor.user.email} can make their own token for that")
        return actor.made_by


def allowed(action: Action) -> Any:
    """``user: Annotated[StaffUser, allowed(Action.APPROVE)]`` in a route's parameters."""
    return Depends(Permission(action))


Reader = Annotated[StaffUser, allowed(Action.READ)]
Triager = Annotated[StaffUser, allowed(Action.TRIAGE)]
