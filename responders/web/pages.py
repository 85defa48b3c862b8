"""What every route answers with: a rendered page, the way back after a form post, the client's address.

The routes and the app (``responders.web.app``) both import this module; the app imports the routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS. Behind a reverse proxy uvicorn has already taken the
    scheme from X-Forwarded-Proto, believing it only from ``[web] trusted_proxies`` (server.py, cli.py)."""
    return request.url.scheme == "https"


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


def back(request: Request, fallback: str) -> RedirectResponse:
    """After a plain (script-less) form post: back to the page it came from, if ours."""
    referer = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    target = local_path(referer[len(origin):]) if referer.startswith(origin + "/") else None
    return RedirectResponse(target or fallback, status_code=303)


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
