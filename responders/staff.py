"""Staff accounts: who works the queue, in which role. Admins manage them; every change is audited.

Passwords are the web app's concern (its sign-in issue); accounts made here have
none until then. The very first account may be created without an admin acting,
so that a new installation can be bootstrapped from the command line; it must be
an admin, and from then on only an admin adds accounts or changes roles. The last
active admin cannot be demoted or deactivated: no one would be left to undo it.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select
from sqlmodel import Session

from listener.errors import HarkenError
from listener.models import StaffUser, WebSession
from responders import audit
from responders.roles import Action, Role, parse_role, require

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StaffError(HarkenError):
    """Base of the staff-account errors."""


class UnknownUser(StaffError, LookupError):
    pass


class UserExists(StaffError):
    pass


class InvalidEmail(StaffError, ValueError):
    pass


class AdminRequired(StaffError):
    """Only the first account can be made without an admin; after that an admin must act."""


class LastAdmin(StaffError):
    """The change would leave no active admin, and so no one able to manage accounts again."""


def normal_email(email: str) -> str:
    value = email.strip().lower()
    if not _EMAIL.match(value):
        raise InvalidEmail(f"{email!r} is not an email address")
    return value


def find_user(session: Session, email: str) -> StaffUser:
    user = session.execute(select(StaffUser).where(StaffUser.email == email.strip().lower())).scalar_one_or_none()
    if user is None:
        raise UnknownUser(f"no staff user {email}")
    return user


def add_user(session: Session, email: str, name: str, role: str | Role, by: StaffUser | None) -> StaffUser:
    """Create an account; ``by`` is the admin doing it (None only for the very first account)."""
    email = normal_email(email)
    chosen = parse_role(role) if isinstance(role, str) else role
    existing = session.scalar(select(func.count()).select_from(StaffUser)) or 0
    if by is None:
        if existing:
            raise AdminRequired("staff accounts exist already: an admin must add new ones (--as ADMIN_EMAIL)")
        if chosen is not Role.ADMIN:
            raise AdminRequired("the first account must be an admin, who then adds the others")
    else:
        require(by, Action.MANAGE_USERS)
    if session.execute(select(StaffUser.id).where(StaffUser.email == email)).first() is not None:
        raise UserExists(f"{email} already has an account")
    user = StaffUser(email=email, name=name.strip() or email, role=chosen.value)
    session.add(user)
    session.flush()
    audit.record(session, by if by is not None else "system:bootstrap", "user.create", user, {},
                 {"email": email, "name": user.name, "role": user.role, "active": True})
    return user


def set_role(session: Session, user: StaffUser, role: str | Role, by: StaffUser) -> StaffUser:
    require(by, Action.MANAGE_USERS)
    chosen = parse_role(role) if isinstance(role, str) else role
    if chosen.value == user.role:
        return user
    if chosen is not Role.ADMIN:
        _keep_an_admin(session, user)
    before = {"role": user.role}
    user.role = chosen.value
    audit.record(session, by, "user.role", user, before, {"role": user.role})
    return user


def set_active(session: Session, user: StaffUser, active: bool, by: StaffUser) -> StaffUser:
    require(by, Action.MANAGE_USERS)
    if user.active == active:
        return user
    if not active:
        _keep_an_admin(session, user)
    before = {"active": user.active}
    user.active = active
    if not active:
        # Ended for good: switching the account on again must not bring back a browser left signed in.
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))  # type: ignore[arg-type]
    audit.record(session, by, "user.activate" if active else "user.deactivate", user, before, {"active": active})
    return user


def _keep_an_admin(session: Session, user: StaffUser) -> None:
    """Refuse to demote or deactivate the last active admin: no one could undo it from the app."""
    if user.role != Role.ADMIN.value or not user.active:
        return
    others = session.scalar(
        select(func.count()).select_from(StaffUser).where(
            StaffUser.role == Role.ADMIN.value, StaffUser.active, StaffUser.id != user.id  # type: ignore[arg-type]
        )
    ) or 0
    if not others:
        raise LastAdmin(f"{user.email} is the last active admin: make someone else admin first")
