"""Helpers of the profile, digest and admin page tests: a site on one database, seeding, reading pages.

The shared ``site`` fixture (``tests/web/conftest.py``) runs on SQLite and
PostgreSQL; most page tests need only one database, so :func:`site_on` builds the
same site on the URL it is given. Seeding goes through the domain functions
(profiles, suggestions, the spike check), so the pages show what production shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import make_engine
from listener.profiles.link_suggestions import Reason, add_suggestion
from listener.profiles.store import create_profile, link_identity
from responders.web.app import create_app
from tests.digests import seed
from tests.responders.helpers import make_settings
from tests.web.conftest import Site, add_team

HOSTILE = "<script>alert(1)</script>"
T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


@contextmanager
def site_on(url: str, **sections: Any) -> Iterator[Site]:
    """The web app with the four-person team (see ``conftest.TEAM``) on the database at ``url``."""
    sections.setdefault("web", {}).setdefault("secure_cookies", "never")
    settings = make_settings(url, **sections)
    engine = make_engine(url)
    try:
        yield Site(settings, engine, create_app(settings, engine), add_team(engine))
    finally:
        engine.dispose()


def profile(engine: Engine, name: str, *, tier: str = "standard", prospect: bool = True,
            accounts: tuple[tuple[str, str], ...] = ()) -> int:
    """A profile with these (platform, handle) accounts, made as staff or an import would."""
    with Session(engine, expire_on_commit=False) as session:
        made = create_profile(session, name, tier=tier, is_prospect=prospect)
        for platform, handle in accounts:
            link_identity(session, made.id, platform, handle, provenance="manual", by="test")  # type: ignore[arg-type]
        session.commit()
        return made.id  # type: ignore[return-value]


def said(engine: Engine, profile_id: int, *texts_and_labels: tuple[str, str | None], start: datetime = T0,
         step: timedelta = timedelta(days=1), platform: str = "x") -> list[int]:
    """Mentions of the profile, one per ``step`` from ``start``, oldest first; returns their ids."""
    rows = [seed.MentionRow(start + step * i, label, text, platform=platform, profile_id=profile_id)
            for i, (text, label) in enumerate(texts_and_labels)]
    return seed.mentions(engine, rows)


def suggest(engine: Engine, first: int, second: int, detail: str = "same handle on x and reddit") -> int:
    with Session(engine, expire_on_commit=False) as session:
        suggestion = add_suggestion(session, first, second, [Reason("same_handle", detail, 0.6)])
        session.commit()
        assert suggestion is not None
        return suggestion.id  # type: ignore[return-value]


def csrf_field(html: str) -> str:
    """The hidden ``csrf_token`` of a plain form on the page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def figure(html: str, name: str, within: str | None = None) -> str:
    """The text of the first element marked ``data-figure="name"`` (after ``within``, if given)."""
    start = html.index(within) if within else 0
    found = re.search(rf'data-figure="{re.escape(name)}">([^<]*)<', html[start:])
    assert found, f"no figure {name}"
    return found.group(1).strip()


def post_form(client: TestClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """A plain form post, as a browser without scripts sends it (the CSRF token in the form, not a header)."""
    browser = TestClient(client.app, base_url=str(client.base_url), cookies=client.cookies)
    fields = {"csrf_token": client.csrf, **(data or {})}  # type: ignore[attr-defined]
    return browser.post(path, data=fields, follow_redirects=False, **kwargs)
