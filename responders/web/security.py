"""Who is asking: passwords, browser sessions, API tokens and sign-in throttling.

Passwords are argon2id hashes (argon2-cffi's defaults, rehashed when those change).
Session cookies and API tokens are random strings of which only the SHA-256 is
stored, so neither the database nor its backups can be replayed. A failed sign-in
is recorded; too many for one account, or from one address, within the window
refuse further attempts (even with the right password) until the window has passed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, insert, literal, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from listener.db import UTCDateTime, utcnow
from listener.errors import HarkenError
from listener.models import ApiToken, SignInFailure, StaffUser, WebSession
from listener.settings import WebSettings
from responders import audit
from responders.roles import Action, require
from responders.staff import find_user, normal_email

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that an unknown account takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no such account")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "hk_"


class SignInError(HarkenError):
    """Wrong email or password (deliberately not saying which)."""


class SignInThrottled(SignInError):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(f"Too many failed sign-ins. Try again in about {minutes} minute{'s' if minutes > 1 else ''}.")
        self.retry_after = retry_after


class WeakPassword(HarkenError, ValueError):
    pass


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def set_password(session: Session, user: StaffUser, password: str, by: StaffUser | str) -> None:
    """Give ``user`` a new password (audited without the hash) and end their other sessions."""
    user.password_hash = hash_password(password)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))  # type: ignore[arg-type]
    audit.record(session, by, "user.password", user, {}, {"changed": True})


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class SignedIn:
    user: StaffUser
    cookie_token: str
    csrf_token: str


def _throttle_wait(session: Session, settings: WebSettings, email: str, address: str, now: datetime) -> int:
    """Seconds until this email and address may try again (0: now)."""
    since = now - timedelta(minutes=settings.sign_in_window_minutes)
    waits = []
    for column, value, limit in ((SignInFailure.email, email, settings.sign_in_max_failures),
                                 (SignInFailure.address, address, settings.sign_in_max_failures * 4)):
        count, oldest = session.execute(
            select(func.count(), func.min(SignInFailure.at)).where(column == value, SignInFailure.at >= since)
        ).one()
        if count >= limit and oldest is not None:
            # The lock lifts when the oldest counted failure leaves the window.
            waits.append(int((oldest - since).total_seconds()) + 1)
    return max(waits, default=0)


def _lock_key(kind: str, value: str) -> int:
    """A PostgreSQL advisory lock key (a signed 64-bit number) for one account or one address."""
    digest = hashlib.sha256(f"harken:sign-in:{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _count_attempt(session: Session, settings: WebSettings, email: str, address: str, now: datetime) -> bool:
    """Count this attempt as a failure before its password is checked, or refuse it: one atomic step.

    Read first and write after the (slow) password check, parallel attempts would all read
    the same count and all be checked. Here the limit check and the insert are one
    statement, which SQLite runs holding its single write lock; on PostgreSQL it runs
    holding transaction locks on the account and the address, so the next attempt's count
    includes this one. A right password deletes the row again. Commits.
    """
    session.commit()  # start from a fresh transaction: SQLite then takes the newest snapshot with its write lock
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted({_lock_key("email", email), _lock_key("address", address)}):  # one order: no deadlock
            session.execute(select(func.pg_advisory_xact_lock(key)))
    since = now - timedelta(minutes=settings.sign_in_window_minutes)

    def failures(column: Any, value: str) -> Any:
        return (select(func.count()).select_from(SignInFailure)
                .where(column == value, SignInFailure.at >= since).scalar_subquery())

    allowed = select(literal(email), literal(address), literal(now, UTCDateTime)).where(
        failures(SignInFailure.email, email) < settings.sign_in_max_failures,
        failures(SignInFailure.address, address) < settings.sign_in_max_failures * 4,
    )
    counted = session.execute(
        insert(SignInFailure).from_select(["email", "address", "at"], allowed)  # type: ignore[arg-type]
        .returning(SignInFailure.id)
    ).first()
    session.commit()
    return counted is not None


def sign_in(session: Session, settings: WebSettings, email: str, password: str, address: str) -> SignedIn:
    """Check the password and open a session; raises :class:`SignInError` or :class:`SignInThrottled`."""
    now = utcnow()
    email = email.strip().lower()
    if not _count_attempt(session, settings, email, address, now):
        raise SignInThrottled(max(_throttle_wait(session, settings, email, address, now), 1))
    user = session.execute(select(StaffUser).where(StaffUser.email == email)).scalar_one_or_none()
    stored = user.password_hash if user is not None else None
    if user is None or not user.active or not _verify(stored, password):
        raise SignInError("Wrong email or password.")  # the attempt is already counted
    if _hasher.check_needs_rehash(stored or ""):
        user.password_hash = _hasher.hash(password)
    session.execute(delete(SignInFailure).where(SignInFailure.email == email))  # type: ignore[arg-type]
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_digest(token), user_id=user.id, csrf_token=csrf,  # type: ignore[arg-type]
                           created_at=now, last_seen_at=now,
                           expires_at=now + timedelta(hours=settings.session_idle_hours)))
    audit.record(session, user, "user.sign_in", user, {}, {"address": address})
    session.commit()
    return SignedIn(user, token, csrf)


@dataclass(frozen=True)
class CurrentSession:
    user: StaffUser
    session_id: int
    csrf_token: str


def session_for(session: Session, settings: WebSettings, cookie_token: str) -> CurrentSession | None:
    """The live session behind a cookie, sliding its expiry (written at most once a minute)."""
    now = utcnow()
    row = session.execute(
        select(WebSession, StaffUser)
        .join(StaffUser, StaffUser.id == WebSession.user_id)
        .where(WebSession.token_hash == _digest(cookie_token))
    ).first()
    if row is None:
        return None
    web_session, user = row
    if web_session.expires_at <= now or not user.active:
        return None
    if now - web_session.last_seen_at > timedelta(minutes=1):
        session.execute(
            update(WebSession).where(WebSession.id == web_session.id)  # type: ignore[arg-type]
            .values(last_seen_at=now, expires_at=now + timedelta(hours=settings.session_idle_hours))
        )
        session.commit()
    return CurrentSession(user, web_session.id, web_session.csrf_token)  # type: ignore[arg-type]


def sign_out(session: Session, session_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.id == session_id))  # type: ignore[arg-type]
    session.commit()


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and secrets.compare_digest(expected.encode(), (given or "").encode())


# -- API tokens ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str
    """Shown once, when created; only its hash is kept."""


def create_token(session: Session, name: str, for_email: str, by: StaffUser) -> NewToken:
    """An API token for the staff user ``for_email``, made by ``by``.

    Anyone active may make a token for themselves: it has their role. Only an admin may make
    one for someone else, and such a token stays the admin's: it acts as the admin, limited to
    what both may do, and never approves or edits a reply (see :func:`token_holder`).
    """
    require(by, Action.READ)
    name = name.strip()
    if not name:
        raise ValueError("a token needs a name that says what uses it")
    user = find_user(session, normal_email(for_email))
    if user.id != by.id:
        require(by, Action.MANAGE_USERS)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, prefix=secret[:10], token_hash=_digest(secret), user_id=user.id,  # type: ignore[arg-type]
                     created_by_id=by.id)
    session.add(token)
    session.flush()
    audit.record(session, by, "token.create", token, {}, {"name": name, "user": user.email, "prefix": token.prefix})
    return NewToken(token, secret)


def token_just_made(session: Session, secret: str, by: StaffUser) -> NewToken | None:
    """The live token ``by`` made whose secret this is (to show it that once), or None for any other secret."""
    token = session.execute(
        select(ApiToken).where(ApiToken.token_hash == _digest(secret), ApiToken.created_by_id == by.id,
                               ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
    ).scalar_one_or_none()
    return NewToken(token, secret) if token is not None else None


def revoke_token(session: Session, token_id: int, by: StaffUser) -> ApiToken:
    require(by, Action.MANAGE_USERS)
    token = session.get(ApiToken, token_id)
    if token is None:
        raise LookupError(f"no API token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, by, "token.revoke", token, {"revoked": False}, {"revoked": True})
    return token


@dataclass(frozen=True)
class TokenHolder:
    """Whom a bearer token is for, and who made it when that was someone else (an admin)."""

    user: StaffUser
    made_by: StaffUser | None = None


def token_holder(session: Session, secret: str) -> TokenHolder | None:
    """Who is behind a bearer token, or None (unknown, revoked, or its user or maker inactive)."""
    maker = aliased(StaffUser)
    row = session.execute(
        select(ApiToken, StaffUser, maker)
        .join(StaffUser, StaffUser.id == ApiToken.user_id)
        .outerjoin(maker, maker.id == ApiToken.created_by_id)
        .where(ApiToken.token_hash == _digest(secret), ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
    ).first()
    if row is None or not row[1].active:
        return None
    token, user, made_by = row
    if made_by is not None and made_by.id == user.id:
        made_by = None
    if made_by is not None and not made_by.active:
        return None  # the admin who really acts through it has left
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))  # type: ignore[arg-type]
        session.commit()
    return TokenHolder(user, made_by)
