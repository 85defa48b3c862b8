"""The staff web app: server-rendered pages (Jinja2 + HTMX) and a JSON API, one FastAPI application.

:func:`create_app` takes the settings and an engine; ``harken web`` and ``harken run``
serve it with uvicorn (``responders.web.server``). Every response carries the
security headers below; the Content-Security-Policy allows scripts and styles only
from this origin, so a hostile mention text that slipped through escaping still
could not run.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from listener.platforms import display_handle, platform_title
from listener.settings import Settings
from listener.threads import body_of
from responders.digests.render import count, duration, percent, safe_url, signed, volume_change
from responders.roles import Action, can
from responders.versions import StaleReply, StaleVersion
from responders.web.approval_panel import voided_by_an_edit
from responders.web.deps import LARGEST_ID, NotSignedIn
from responders.web.errors import ANSWERED, message_for, status_for
from responders.web.inbox_row import install as install_inbox_row
from responders.web.marks import install as install_marks
from responders.web.openapi import api_schema
from responders.web.pages import form_page_again, is_https, this_page
from responders.web.reply_length import reply_length
from responders.web.routes import ROUTERS
from responders.web.stale import stale_answer, stale_reply_answer
from responders.words import install as install_words

HERE = Path(__file__).parent
STATIC = HERE / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith(("/api/", "/signin", "/admin")) or response.headers.get(
            "content-type", ""
        ).startswith("text/html"):
            response.headers.setdefault("Cache-Control", "no-store")
        if is_https(request):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def _static_version() -> str:
    """Part of every asset URL, so browsers fetch new assets after an upgrade and cache them otherwise."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.suffix in {".js", ".css"} and "vendor" not in path.parts:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    version = _static_version()
    env = templates.env
    env.globals["static"] = lambda name: f"/static/{name}?v={version}"
    env.globals["Action"] = Action
    env.globals["can"] = can
    env.globals["this_page"] = this_page  # every form says which page it is on (pages.PAGE_FIELD)
    # Handles as each platform writes them (@alice, u/alice): templates never name a platform.
    env.globals["handle"] = display_handle
    env.filters["platform_title"] = platform_title  # "Reddit", "X": the platform as people call it
    env.globals["reply_length"] = reply_length  # the reply boxes' counters, first drawn with their text's count
    env.filters["body"] = body_of  # a post's text without the title shown above it
    install_words(env)  # internal names (statuses, audit actions, system actors) in plain words
    install_marks(env)  # a moment, an SLA, a priority, a sentiment: drawn on every row and card
    install_inbox_row(env)  # an inbox row, drawn fifty times a page
    env.globals["voided_by_an_edit"] = voided_by_an_edit  # the queue card's warning before an edit
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    # The digest's own formatting, so the dashboard shows the figures exactly as the email does.
    env.filters.update(count=count, percent=percent, signed=signed, duration=duration, safe_url=safe_url)
    env.globals["volume_change"] = volume_change
    return templates


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    """The whole web app for these settings and this database."""
    app = FastAPI(
        title="Harken",
        summary="Social listening and engagement: mentions, the approval queue, profiles, digests.",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.templates = make_templates()
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.openapi = lambda: api_schema(app)  # type: ignore[method-assign]

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, error: NotSignedIn) -> Response:
        if not wants_json(request) and request.method == "GET" and "hx-request" not in request.headers:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
        return await _error(request, 401, str(error) or "sign in first", {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> Response:
        return await _error(request, error.status_code, str(error.detail), getattr(error, "headers", None))

    async def _answer(request: Request, error: Exception) -> Response:
        status = status_for(error)
        return await _error(request, status, message_for(error, status))

    # Starlette picks a handler by the error's class hierarchy; the table (responders.web.errors) picks the status.
    for answered in ANSWERED:
        app.add_exception_handler(answered, _answer)

    @app.exception_handler(StaleVersion)
    async def _stale(request: Request, error: StaleVersion) -> Response:
        # Someone changed the item meanwhile: say who, and hand the page the item as it is now.
        return stale_answer(request, error) or await _answer(request, error)

    @app.exception_handler(StaleReply)
    async def _stale_reply(request: Request, error: StaleReply) -> Response:
        return stale_reply_answer(request, error) or await _answer(request, error)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, error: Exception) -> Response:
        # SQLite cannot bind an integer of 2**63 or more; PostgreSQL refuses one beyond its column
        # (ids are 32-bit there) or a text with a NUL byte. Bad input, said plainly: never a 500.
        return await _error(request, 422, out_of_range(request, error))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
        message = f"{where}: {first.get('msg', 'invalid input')}" if where else "invalid input"
        if wants_json(request):
            return JSONResponse({"detail": message, "errors": jsonable_errors(error)}, status_code=422)
        return await _error(request, 422, message)

    return app


def out_of_range(request: Request, error: Exception) -> str:
    """What to tell the client when the database refused a value: the parameters that look to blame."""
    reason = str(getattr(error, "orig", None) or error).splitlines()[0] if isinstance(error, DataError) else ""
    if reason and "out of range" not in reason:
        return f"a value in the request cannot be stored: {reason}"
    suspects = [f"{name}={value}"
                for name, value in [*request.path_params.items(), *request.query_params.multi_items()]
                if _beyond_ids(value)]
    where = ", ".join(suspects) if suspects else "a number in the request"
    return f"{where}: out of range: ids and offsets are whole numbers from 0 to {LARGEST_ID}"


def _beyond_ids(value: Any) -> bool:
    digits = str(value).strip().lstrip("+-").lstrip("0")
    # Compared by length first: Python will not even parse an integer of more than 4,300 digits.
    return digits.isdigit() and (len(digits) > len(str(LARGEST_ID)) or int(digits) > LARGEST_ID)


def jsonable_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(item.get("loc", ())), "msg": item.get("msg", "")} for item in error.errors()]


async def _error(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """JSON for the API; just the message for an HTMX swap; for a plain form post the page it was sent from
    again, with the message next to the form and what was typed kept; else a small error page."""
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    templates: Jinja2Templates = request.app.state.templates
    again = await form_page_again(request, status, message) if status != 401 else None
    if again is not None:
        again.headers.update(headers or {})
        return again
    if "hx-request" in request.headers:
        return templates.TemplateResponse(request, "_error.html", {"message": message, "status": status},
                                          status_code=status, headers=headers)
    return templates.TemplateResponse(request, "error.html", {"message": message, "status": status},
                                      status_code=status, headers=headers)
