"""Signing in and out.

The sign-in form is protected against login CSRF with a double-submit token: a
short-lived cookie and the same value in the form. A successful sign-in sets the
session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) and sends the user on to
the page they asked for, if it is one of ours.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from responders.web import security
from responders.web.deps import SESSION_COOKIE, ActorDep, SessionDep, SettingsDep
from responders.web.pages import client_address, local_path, page, secure_cookies

router = APIRouter(include_in_schema=False)
SIGNIN_COOKIE = "harken_signin"


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    return local_path(target) or "/inbox"


def _signin_page(request: Request, settings, next_path: str, error: str | None = None, email: str = "",
                 status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(request, "signin.html", {"signin_token": token, "next": next_path, "error": error,
                                             "email": email}, status_code=status_code)
    response.set_cookie(SIGNIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=_secure(request, settings), path="/signin")
    return response


def _secure(request: Request, settings) -> bool:
    return secure_cookies(request, settings.web)


@router.get("/signin")
def signin_form(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    return _signin_page(request, settings, _safe_next(next))


@router.post("/signin")
def signin(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    signin_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/inbox",
) -> Response:
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    if not expected or not security.csrf_matches(expected, signin_token):
        return _signin_page(request, settings, _safe_next(next), "The form expired: please sign in again.",
                            email, status_code=403)
    try:
        signed_in = security.sign_in(db, settings.web, email, password, client_address(request))
    except security.SignInThrottled as error:
        response = _signin_page(request, settings, _safe_next(next), str(error), email, status_code=429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except security.SignInError as error:
        return _signin_page(request, settings, _safe_next(next), str(error), email, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, signed_in.cookie_token, httponly=True, samesite="lax",
                        secure=_secure(request, settings), path="/")
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(db: SessionDep, actor: ActorDep) -> Response:
    if actor.session_id is not None:
        security.sign_out(db, actor.session_id)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/inbox", status_code=303)
