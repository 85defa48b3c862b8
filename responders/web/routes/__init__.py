"""One router per resource; :data:`ROUTERS` is what the app includes, in order."""

from __future__ import annotations

from fastapi import APIRouter

from responders.web.routes import (
    account,
    admin,
    approvals,
    auth,
    digest,
    docs,
    inbox,
    lengths,
    live,
    notes,
    profiles,
    saved_views,
    sources,
)

ROUTERS: list[APIRouter] = [
    auth.router, docs.router, inbox.router, inbox.api, approvals.router, approvals.api,
    profiles.router, profiles.api, digest.router, digest.api, admin.router, admin.api, sources.router, sources.api,
    lengths.api,
    account.router, live.router, notes.router, notes.api, saved_views.router, saved_views.api,
]
