"""What every route answers with: a rendered page, the way back after a form post, the client's address.

The routes and the app (``responders.web.app``) both import this module; the app imports the routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.types import Message

from listener.settings import WebSettings
from responders.web.refill import refill

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NEVER_ECHOED = re.compile(r"password|secret|token", re.IGNORECASE)
"""Fields whose value a page never sends back: passwords, secrets, the CSRF and sign-in tokens."""
_REQUEST_ONLY_HEADERS = frozenset({b"content-type", b"content-length", b"hx-request", b"hx-target", b"hx-trigger",
                                   b"hx-current-url", b"x-csrf-token", b"accept-encoding"})


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS. Behind a reverse proxy uvicorn has already taken the
    scheme from X-Forwarded-Proto, believing it only from ``[web] trusted_proxies`` (server.py, cli.py)."""
    return request.url.scheme == "https"


def secure_cookies(request: Request, settings: WebSettings) -> bool:
    """Whether cookies get the Secure flag: ``[web] secure_cookies`` always, never, or (auto) over HTTPS."""
    mode = settings.secure_cookies
    return mode == "always" or (mode == "auto" and is_https(request))


def client_address(request: Request) -> str:
    """The client's address (from X-Forwarded-For, through uvicorn, when a trusted proxy sent it)."""
    return request.client.host if request.client else "unknown"


def page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render a page or fragment; the template sees the actor (``user``, ``csrf``) when signed in."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: never a way to send the browser elsewhere.

    A browser reads ``//host/x`` and ``/\\host/x`` as another site, and drops tabs and line breaks
    from a URL before reading it (so ``/\t/host`` is ``//host``): none of those is a local path.
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in target):
        return None
    return target


def _on_this_site(request: Request, url: str) -> str | None:
    """The path and query of ``url`` when it is an address of this site (as the request reached it), else None."""
    origin = f"{request.url.scheme}://{request.url.netloc}"
    return local_path(url[len(origin):]) if url.startswith(origin + "/") else None


def sent_from(request: Request) -> str | None:
    """The page (path and query) of this site that the request was sent from, if the browser said so."""
    return _on_this_site(request, request.headers.get("referer", ""))


PAGE_FIELD = "page_path"
"""A hidden field of every form (``_macros.html``'s ``csrf_field``): the page the form is on, for a browser that
sends no Referer (a privacy setting, an extension), so a refused post can still show that page again."""


def this_page(request: Request) -> str:
    """The page (path and query) that what is being drawn will be shown on.

    A fragment drawn for HTMX is on the page HTMX says it is on (``HX-Current-URL``); a page drawn by a POST
    (never one of ours: they redirect) would name its POST path, so nothing is said then.
    """
    if "hx-request" in request.headers:
        return _on_this_site(request, request.headers.get("hx-current-url", "")) or ""
    if request.method != "GET":
        return ""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def posted_from(typed: dict[str, list[str]]) -> str | None:
    """The page a form said it was on (:data:`PAGE_FIELD`), if it is a path on this site."""
    return local_path((typed.get(PAGE_FIELD) or [""])[0])


def back(request: Request, fallback: str) -> RedirectResponse:
    """After a plain (script-less) form post: back to the page it came from, if ours."""
    return RedirectResponse(sent_from(request) or fallback, status_code=303)


def after_post(request: Request, fallback: str, to: str | None = None) -> Response:
    """How a state-changing page POST ends: the page shows the change.

    A plain form is redirected (303) to ``to``, else back to the page it came from;
    an HTMX request gets no body but tells HTMX to go there or reload, since such a
    change (a merge, a new role) touches more of the page than one fragment.
    """
    if "hx-request" in request.headers:
        response = Response(status_code=204)
        if to is not None:
            response.headers["HX-Redirect"] = to
        else:
            response.headers["HX-Refresh"] = "true"
        return response
    return RedirectResponse(to, status_code=303) if to is not None else back(request, fallback)


@dataclass(frozen=True)
class FormError:
    """A plain form post that was refused: which form (the path it posts to), why, and what was typed in it.

    base.html shows the message in the page's message area; static/errors.js moves it next to that form and
    puts the typed values back into its fields.
    """

    action: str
    message: str
    typed: dict[str, list[str]] = field(default_factory=dict)
    page: str = ""
    """The page (path and query) shown again: the browser's address goes back to it, not the POST's."""


def is_plain_form_post(request: Request) -> bool:
    """A browser's own form submission (not HTMX, not the API): the whole page is what it gets back."""
    return (request.method == "POST" and "hx-request" not in request.headers
            and not request.url.path.startswith("/api/")
            and request.headers.get("content-type", "").startswith(FORM_TYPES))


async def typed_values(request: Request) -> dict[str, list[str]]:
    """What the person typed in the posted form, without passwords, secrets and tokens."""
    try:
        form = await request.form()  # read already by the route: Starlette keeps it on the request
    except Exception:  # a body that is not a readable form: nothing to give back
        return {}
    typed: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and not NEVER_ECHOED.search(name):
            typed.setdefault(name, []).append(value)
    return typed


async def form_page_again(request: Request, status: int, message: str) -> Response | None:
    """For a refused plain form post: the page it was sent from, rendered again, with the error and what was typed.

    No dead end and nothing lost: the page is the one the browser had (its GET, asked of this same app
    with the same cookies), answered with the error's status. None where that is not possible (no page
    to go back to, or that page is not a page any more): the caller then shows its error page.
    """
    if not is_plain_form_post(request):
        return None
    typed = await typed_values(request)
    source = sent_from(request) or posted_from(typed)
    if source is None or source.startswith("/api/"):
        return None
    path, _, query = source.partition("?")
    failed = FormError(request.url.path, message, typed, source)
    scope = {
        "type": "http", "asgi": request.scope.get("asgi", {"version": "3.0"}),
        "http_version": request.scope.get("http_version", "1.1"), "method": "GET",
        "scheme": request.url.scheme, "server": request.scope.get("server"), "client": request.scope.get("client"),
        "root_path": request.scope.get("root_path", ""), "path": unquote(path), "raw_path": path.encode(),
        "query_string": query.encode(), "state": {"form_error": failed},
        "headers": [(name, value) for name, value in request.scope["headers"] if name not in _REQUEST_ONLY_HEADERS],
    }
    answer: dict[str, Any] = {"body": []}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer["status"], answer["headers"] = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            answer["body"].append(message.get("body", b""))

    await request.app(scope, receive, send)
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in answer.get("headers", [])}
    if answer.get("status") != 200 or not headers.get("content-type", "").startswith("text/html"):
        return None
    headers.pop("content-length", None)
    html = refill(b"".join(answer["body"]).decode("utf-8"), failed.action, typed, message)
    return Response(html.encode("utf-8"), status_code=status, headers=headers)
