"""Running Harken: staff accounts and roles, the sources being collected, API tokens. Page and JSON API.

Everything here needs ``Action.MANAGE_USERS`` (admins), except making an API token
for oneself, which anyone may (``POST /api/v1/tokens``). Account changes go
through ``responders.staff`` and ``responders.web.security``, which audit them;
the last active admin cannot be demoted or switched off, so the app always keeps
someone who can manage it. A new token's secret is shown once: the API returns it in the
response that created it; the page form redirects (post/redirect/get, so a reload makes no
second token) and the secret rides along once in a short-lived cookie that only the admin
page reads and clears. Only its hash is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from listener.db import utcnow
from listener.models import ApiToken, Mention, Source, StaffUser
from listener.platforms import all_platforms
from responders.audit import jsonable
from responders.roles import Action, Role, can
from responders.source_controls import MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, kind_choices, run_state
from responders.staff import UnknownUser, add_user, set_active, set_role
from responders.web.deps import ActorDep, Reader, RecordId, SessionDep, SettingsDep, allowed
from responders.web.pages import after_post, page, secure_cookies
from responders.web.security import (
    MIN_PASSWORD_LENGTH,
    NewToken,
    create_token,
    revoke_token,
    set_password,
    token_just_made,
)

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["admin"])

Admin = Annotated[StaffUser, allowed(Action.MANAGE_USERS)]
ROLES = tuple(role.value for role in Role)
NEW_TOKEN_COOKIE = "harken_new_token"
NEW_TOKEN_SECONDS = 120  # long enough for the redirect; the page clears it at once anyway


# -- what the page and the API show -----------------------------------------------------------


@dataclass
class SourceRow:
    source: Source
    mentions_last_day: int
    state: str


@dataclass
class TokenRow:
    token: ApiToken
    user_email: str
    created_by: str | None


def staff(db: Session) -> list[StaffUser]:
    """Active accounts first, then by name."""
    statement = select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.name, StaffUser.id)  # type: ignore[attr-defined]
    return list(db.execute(statement).scalars())


def source_state(source: Source, now: datetime) -> str:
    """In a word or three: what the scheduler does with the source now."""
    if not source.enabled:
        return "off (no longer in the settings file)"
    if source.paused_at is not None:
        return "paused by an admin"
    if source.paused_until is not None and source.paused_until > now:
        return f"paused ({source.pause_reason or 'backing off'})"
    if source.consecutive_failures:
        return f"failing ({source.consecutive_failures} in a row)"
    if source.last_run_at is None:
        return "not run yet"
    return "ok"


def sources(db: Session, now: datetime | None = None) -> list[SourceRow]:
    """Every source with its state and the mentions of its last 24 hours (one grouped query)."""
    now = now or utcnow()
    recent = dict(db.execute(
        select(Mention.source_id, func.count())
        .where(Mention.created_at >= now - timedelta(days=1))
        .group_by(Mention.source_id)
    ).all())
    rows = db.execute(select(Source).order_by(Source.name)).scalars()
    return [SourceRow(source, int(recent.get(source.id, 0)), source_state(source, now)) for source in rows]


def tokens(db: Session) -> list[TokenRow]:
    """Every API token, live ones first, newest first, with whom it acts as and who made it."""
    owner, creator = aliased(StaffUser), aliased(StaffUser)
    rows = db.execute(
        select(ApiToken, owner.email, creator.email)
        .join(owner, owner.id == ApiToken.user_id)
        .outerjoin(creator, creator.id == ApiToken.created_by_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())  # type: ignore[union-attr]
    ).all()
    return [TokenRow(token, email, made_by) for token, email, made_by in rows]


def get_user(db: Session, user_id: int) -> StaffUser:
    user = db.get(StaffUser, user_id)
    if user is None:
        raise UnknownUser(f"no staff user {user_id}")
    return user


def add_account(db: Session, email: str, name: str, role: str, password: str | None, by: StaffUser) -> StaffUser:
    """A new account, with a first password unless it is only for API tokens (an integration)."""
    user = add_user(db, email, name, role, by)
    if password:
        set_password(db, user, password, by)
    return user


def _admin_page(request: Request, db: Session, new_token: NewToken | None = None,
                status_code: int = 200) -> Response:
    kinds = kind_choices()
    return page(request, "admin.html", {
        "nav": "admin", "staff": staff(db), "roles": ROLES, "sources": sources(db), "tokens": tokens(db),
        "kind_of": {choice.kind: choice for choice in kinds}, "run_state": run_state,
        "may_manage_sources": can(request.state.actor.user, Action.MANAGE_SETTINGS),
        "new_token": new_token, "min_password": MIN_PASSWORD_LENGTH, "kinds": kinds,
        "platforms": all_platforms(), "interval_bounds": (MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS),
    }, status_code=status_code)


# -- pages -------------------------------------------------------------------------------------


@router.get("/admin")
def admin_page(request: Request, db: SessionDep, user: Admin) -> Response:
    """The admin page; right after making a token, with its secret, that once (the cookie is cleared here)."""
    secret = request.cookies.get(NEW_TOKEN_COOKIE)
    response = _admin_page(request, db, token_just_made(db, secret, user) if secret else None)
    if secret is not None:
        response.delete_cookie(NEW_TOKEN_COOKIE, path="/admin")
    return response


@router.post("/admin/users")
def create_user(request: Request, db: SessionDep, user: Admin, email: Annotated[str, Form()],
                role: Annotated[str, Form()], name: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "") -> Response:
    add_account(db, email, name, role, password or None, user)
    db.commit()
    return after_post(request, "/admin")


@router.post("/admin/users/{user_id}/role")
def change_role(request: Request, user_id: RecordId, db: SessionDep, user: Admin,
                role: Annotated[str, Form()]) -> Response:
    set_role(db, get_user(db, user_id), role, user)
    db.commit()
    return after_post(request, "/admin")


@router.post("/admin/users/{user_id}/active")
def change_active(request: Request, user_id: RecordId, db: SessionDep, user: Admin,
                  active: Annotated[bool, Form()]) -> Response:
    set_active(db, get_user(db, user_id), active, user)
    db.commit()
    return after_post(request, "/admin")


@router.post("/admin/users/{user_id}/password")
def reset_password(request: Request, user_id: RecordId, db: SessionDep, user: Admin,
                   password: Annotated[str, Form()]) -> Response:
    set_password(db, get_user(db, user_id), password, user)
    db.commit()
    return after_post(request, "/admin")


@router.post("/admin/tokens")
def new_token(request: Request, db: SessionDep, settings: SettingsDep, user: Admin, name: Annotated[str, Form()],
              email: Annotated[str, Form()]) -> Response:
    """Post/redirect/get to the admin page, which shows the new secret once: it goes there in a cookie that
    only that page gets (HttpOnly, SameSite=Strict, path /admin, two minutes) and that it clears."""
    created = create_token(db, name, email, user)
    db.commit()
    response = after_post(request, "/admin", to="/admin")
    response.set_cookie(NEW_TOKEN_COOKIE, created.secret, max_age=NEW_TOKEN_SECONDS, httponly=True,
                        samesite="strict", secure=secure_cookies(request, settings.web), path="/admin")
    return response


@router.post("/admin/tokens/{token_id}/revoke")
def revoke(request: Request, token_id: RecordId, db: SessionDep, user: Admin) -> Response:
    revoke_token(db, token_id, user)
    db.commit()
    return after_post(request, "/admin")


# -- JSON API ----------------------------------------------------------------------------------


class NewUser(BaseModel):
    email: str
    name: str = ""
    role: str = Field(description=f"one of {', '.join(ROLES)}")
    password: str | None = Field(None, description=f"at least {MIN_PASSWORD_LENGTH} characters; "
                                                   "none for an account used only through API tokens")


class RoleChange(BaseModel):
    role: str = Field(description=f"one of {', '.join(ROLES)}")


class ActiveChange(BaseModel):
    active: bool


class PasswordChange(BaseModel):
    password: str = Field(description=f"at least {MIN_PASSWORD_LENGTH} characters; ends the user's sessions")


class TokenRequest(BaseModel):
    name: str = Field(description="what uses the token, e.g. 'CRM sync'")
    user: str | None = Field(None, description=(
        "the email of the staff user the token is for (default: yourself, with your role). Only an admin makes "
        "one for someone else; such a token acts as the admin, within both roles, and never approves or edits"))


def user_json(user: StaffUser) -> dict[str, Any]:
    return jsonable(user.model_dump(exclude={"password_hash"}) | {"has_password": user.password_hash is not None})


def source_json(row: SourceRow, with_last_day: bool = True) -> dict[str, Any]:
    # The cursor is the collector's private resume state, not something to show or rely on.
    extra: dict[str, Any] = {"state": row.state, "run": run_state(row.source)}
    if with_last_day:
        extra["mentions_last_day"] = row.mentions_last_day
    return jsonable(row.source.model_dump(exclude={"cursor"}) | extra)


def token_json(token: ApiToken, user_email: str | None = None, created_by: str | None = None) -> dict[str, Any]:
    return jsonable(token.model_dump(exclude={"token_hash"}) | {"user": user_email, "created_by": created_by})


@api.get("/users")
def api_users(db: SessionDep, user: Admin) -> dict[str, Any]:
    """Every staff account, active ones first."""
    return {"items": [user_json(u) for u in staff(db)]}


@api.post("/users", status_code=201)
def api_create_user(body: NewUser, db: SessionDep, user: Admin) -> dict[str, Any]:
    created = add_account(db, body.email, body.name, body.role, body.password, user)
    db.commit()
    return user_json(created)


@api.post("/users/{user_id}/role")
def api_role(user_id: RecordId, body: RoleChange, db: SessionDep, user: Admin) -> dict[str, Any]:
    changed = set_role(db, get_user(db, user_id), body.role, user)
    db.commit()
    return user_json(changed)


@api.post("/users/{user_id}/active")
def api_active(user_id: RecordId, body: ActiveChange, db: SessionDep, user: Admin) -> dict[str, Any]:
    """Switch an account off (its sessions and tokens stop working at once) or on again."""
    changed = set_active(db, get_user(db, user_id), body.active, user)
    db.commit()
    return user_json(changed)


@api.post("/users/{user_id}/password")
def api_password(user_id: RecordId, body: PasswordChange, db: SessionDep, user: Admin) -> dict[str, Any]:
    target = get_user(db, user_id)
    set_password(db, target, body.password, user)
    db.commit()
    return user_json(target)


@api.get("/sources")
def api_sources(db: SessionDep, user: Admin) -> dict[str, Any]:
    """Every source: enabled, last run and success, last error, back-off, mentions collected."""
    return {"items": [source_json(row) for row in sources(db)]}


@api.get("/tokens")
def api_tokens(db: SessionDep, user: Admin) -> dict[str, Any]:
    """Every API token (never its secret): prefix, user, created, last used, revoked."""
    return {"items": [token_json(row.token, row.user_email, row.created_by) for row in tokens(db)]}


@api.post("/tokens", status_code=201)
def api_create_token(body: TokenRequest, db: SessionDep, user: Reader, actor: ActorDep) -> dict[str, Any]:
    """A new token; ``secret`` is in this response only (only its hash is kept)."""
    if actor.made_by is not None:
        # Else a token made for someone else could make its admin a token without those limits.
        raise HTTPException(403, "a token made for someone else cannot make tokens")
    created = create_token(db, body.name, body.user or user.email, user)
    db.commit()
    owner = get_user(db, created.token.user_id)
    return token_json(created.token, owner.email, user.email) | {"secret": created.secret}


@api.post("/tokens/{token_id}/revoke")
def api_revoke(token_id: RecordId, db: SessionDep, user: Admin) -> dict[str, Any]:
    token = revoke_token(db, token_id, user)
    db.commit()
    return token_json(token, get_user(db, token.user_id).email)
