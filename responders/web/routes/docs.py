"""The API's documentation page: Swagger UI, vendored, reading /api/openapi.json (no CDN, no inline script)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from responders.web.pages import page

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
def api_docs(request: Request) -> Response:
    return page(request, "api_docs.html", {})
