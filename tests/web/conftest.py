"""Shared set-up of the web-app tests: a migrated database, a team with passwords, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import make_engine
from listener.models import StaffUser
from listener.settings import Settings
from responders.web.app import create_app
from responders.web.security import set_password
from tests.responders.helpers import make_settings

PASSWORD = "correct horse battery staple"
TEAM = {"agent": "ana@lumen.test", "approver": "pat@lumen.test", "manager": "max@lumen.test",
        "admin": "ada@lumen.test"}


def add_staff(session: Session, email: str, name: str, role: str, **fields: Any) -> StaffUser:
    """A staff user with :data:`PASSWORD`, flushed (so it has an id) but not committed."""
    user = StaffUser(email=email, name=name, role=role, **fields)
    session.add(user)
    session.flush()
    set_password(session, user, PASSWORD, "system:test")
    return user


def add_team(engine: Engine) -> dict[str, StaffUser]:
    """One active staff user per role, each with :data:`PASSWORD`."""
    users = {}
    with Session(engine, expire_on_commit=False) as session:
        for role, email in TEAM.items():
            users[role] = add_staff(session, email, email.split("@")[0].title(), role)
        session.commit()
    return users


def csrf_of(html: str) -> str:
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/inbox") -> Any:
    """Sign in through the real form; returns the final response (the form again on failure)."""
    form = client.get("/signin")
    token = re.search(r'name="signin_token" value="([^"]+)"', form.text)
    assert token, form.text
    return client.post("/signin", data={"email": email, "password": password, "signin_token": token.group(1),
                                        "next": next_path}, follow_redirects=False)


@dataclass
class Site:
    settings: Settings
    engine: Engine
    app: FastAPI
    team: dict[str, StaffUser]

    def client(self, role: str | None = None) -> TestClient:
        """A browser-like client, signed in as the team member with ``role``, or as the staff user with that
        email (anonymous for None).

        Its ``csrf`` attribute holds the session's CSRF token, and it sends it with every request.
        """
        client = TestClient(self.app, base_url="http://testserver")
        client.csrf = None  # type: ignore[attr-defined]
        if role is not None:
            response = sign_in(client, TEAM.get(role, role))
            assert response.status_code == 303, response.text
            client.csrf = csrf_of(client.get("/inbox").text)  # type: ignore[attr-defined]
            client.headers["X-CSRF-Token"] = client.csrf  # type: ignore[attr-defined]
        return client


@pytest.fixture
def site_factory(db_url: str) -> Iterator[Callable[..., Site]]:
    engines: list[Engine] = []

    def build(**sections: Any) -> Site:
        sections.setdefault("web", {}).setdefault("secure_cookies", "never")
        settings = make_settings(db_url, **sections)
        engine = make_engine(db_url)
        engines.append(engine)
        team = add_team(engine)
        return Site(settings, engine, create_app(settings, engine), team)

    yield build
    for engine in engines:
        engine.dispose()


@pytest.fixture
def site(site_factory: Callable[..., Site]) -> Site:
    return site_factory()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The demo site on a port of its own, once for a browser test module (one that needs more defines its own)."""
    from tests.web.browser import demo_site  # tests.web.browser imports this module

    with demo_site(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])) as site:
        yield site


@pytest.fixture(scope="module")
def browser(live: Any) -> Iterator[Any]:
    """Debian's Chromium, once for a browser test module, started after its site and closed before it."""
    from tests.web.browser import chromium

    with chromium() as browser:
        yield browser
