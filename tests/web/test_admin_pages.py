"""The admin page and its API: accounts and roles, sources and their errors, API tokens."""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from listener.db import utcnow
from listener.models import Source, StaffUser
from tests.digests import seed
from tests.web.conftest import PASSWORD, TEAM, Site, sign_in
from tests.web.pages_helpers import HOSTILE, post_form, site_on

NEW_PASSWORD = "a much longer new passphrase"


@pytest.fixture
def web(sqlite_url: str) -> Iterator[Site]:
    with site_on(sqlite_url) as site:
        yield site


def _user_id(site: Site, role: str) -> int:
    return site.team[role].id  # type: ignore[return-value]


def _signs_in(site: Site, email: str, password: str = PASSWORD) -> bool:
    return sign_in(site.client(), email, password).status_code == 303


def test_the_page_lists_accounts_sources_and_tokens(web: Site) -> None:
    now = utcnow()
    quiet = seed.source(web.engine, "x:search:brand")
    failing = seed.source(web.engine, "reddit:r/brand", "reddit")
    with web.engine.begin() as connection:
        connection.execute(update(Source).where(Source.id == quiet).values(  # type: ignore[arg-type]
            last_run_at=now, last_success_at=now, mentions_collected=1234))
        connection.execute(update(Source).where(Source.id == failing).values(  # type: ignore[arg-type]
            last_run_at=now, last_error="HTTP 503 from reddit.com", consecutive_failures=3,
            paused_until=now + timedelta(minutes=8), pause_reason="failing"))
    seed.mentions(web.engine, [seed.MentionRow(now - timedelta(hours=h), source_id=quiet) for h in (1, 2, 30)])
    admin = web.client("admin")

    page = admin.get("/admin").text
    for email in TEAM.values():
        assert email in page
    row = page[page.index('data-source="reddit:r/brand"'):]
    assert "paused (failing)" in row[:600] and "HTTP 503 from reddit.com" in row[:800]
    row = page[page.index('data-source="x:search:brand"'):]
    assert ">ok<" in row[:600] and "1,234" in row[:1200] and "<td>2</td>" in row[:1200]  # two in the last day

    sources = {s["name"]: s for s in admin.get("/api/v1/sources").json()["items"]}
    assert sources["reddit:r/brand"]["consecutive_failures"] == 3 and "cursor" not in sources["reddit:r/brand"]
    assert (sources["x:search:brand"]["mentions_last_day"], sources["x:search:brand"]["state"]) == (2, "ok")
    users = admin.get("/api/v1/users").json()["items"]
    assert {u["email"] for u in users} == set(TEAM.values())
    assert all("password_hash" not in u and u["has_password"] for u in users)


def test_only_admins_reach_the_admin_page(web: Site) -> None:
    for role in ("agent", "approver", "manager"):
        client = web.client(role)
        assert client.get("/admin").status_code == 403, role
        assert client.get("/api/v1/users").status_code == 403, role
        assert client.get("/api/v1/tokens").status_code == 403, role
        assert 'href="/admin"' not in client.get("/profiles").text
    assert 'href="/admin"' in web.client("admin").get("/admin").text


def test_an_added_account_signs_in_with_its_role(site: Site) -> None:
    """On SQLite and PostgreSQL, through the plain form."""
    admin = site.client("admin")
    response = post_form(admin, "/admin/users", {"name": "Robin Reply", "email": "Robin@Lumen.test",
                                                  "role": "approver", "password": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    assert "robin@lumen.test" in admin.get("/admin").text
    robin = site.client()
    assert sign_in(robin, "robin@lumen.test", NEW_PASSWORD).status_code == 303
    assert robin.get("/queue").status_code == 200 and robin.get("/admin").status_code == 403

    weak = post_form(admin, "/admin/users", {"name": "Weak", "email": "weak@lumen.test", "role": "agent",
                                             "password": "short"})
    assert weak.status_code == 409 and "at least 10 characters" in weak.text
    taken = admin.post("/api/v1/users", json={"email": "robin@lumen.test", "role": "agent"})
    assert taken.status_code == 409 and "already has an account" in taken.json()["detail"]
    assert admin.post("/api/v1/users", json={"email": "x@lumen.test", "role": "owner"}).status_code == 409
    bot = admin.post("/api/v1/users", json={"email": "crm-bot@lumen.test", "name": "CRM sync", "role": "agent"})
    assert bot.status_code == 201 and bot.json()["has_password"] is False  # an account for API tokens only


def test_a_refused_form_comes_back_on_its_page_with_what_was_typed_but_never_a_password(web: Site) -> None:
    admin = web.client("admin")
    typed = {"name": "Second Ana", "email": TEAM["agent"], "role": "approver", "password": "a secret passphrase"}
    refused = post_form(admin, "/admin/users", typed, headers={"Referer": "http://testserver/admin"})
    assert refused.status_code == 409
    assert "<h1>Admin</h1>" in refused.text and "Back to the inbox" not in refused.text  # the page, not a dead end
    note = re.search(r'data-form-error="/admin/users" data-form-page="/admin" data-typed=\'([^\']+)\'>([^<]+)</p>',
                     refused.text)
    assert note, "no error for the add-user form"
    assert "already has an account" in note.group(2)
    assert json.loads(html_lib.unescape(note.group(1))) == {"name": ["Second Ana"], "email": [TEAM["agent"]],
                                                             "role": ["approver"]}
    assert "a secret passphrase" not in refused.text
    with Session(web.engine) as session:
        assert session.execute(select(StaffUser).where(StaffUser.name == "Second Ana")).first() is None


def test_changing_a_role_and_resetting_a_password(web: Site) -> None:
    agent_id = _user_id(web, "agent")
    agent = web.client("agent")
    admin = web.client("admin")

    assert post_form(admin, f"/admin/users/{agent_id}/role", {"role": "approver"}).status_code == 303
    with Session(web.engine) as session:
        assert session.get(StaffUser, agent_id).role == "approver"  # type: ignore[union-attr]
    assert admin.post(f"/api/v1/users/{agent_id}/role", json={"role": "agent"}).json()["role"] == "agent"

    assert post_form(admin, f"/admin/users/{agent_id}/password", {"password": NEW_PASSWORD}).status_code == 303
    assert agent.get("/inbox", follow_redirects=False).status_code == 303  # the old session has ended
    assert not _signs_in(web, TEAM["agent"]) and _signs_in(web, TEAM["agent"], NEW_PASSWORD)
    short = admin.post(f"/api/v1/users/{agent_id}/password", json={"password": "short"})
    assert short.status_code == 409
    assert admin.post("/api/v1/users/999999/password", json={"password": NEW_PASSWORD}).status_code == 404


def test_a_deactivated_user_cannot_sign_in_until_reactivated(web: Site) -> None:
    manager_id = _user_id(web, "manager")
    manager = web.client("manager")
    admin = web.client("admin")

    assert post_form(admin, f"/admin/users/{manager_id}/active", {"active": "false"}).status_code == 303
    assert "inactive" in admin.get("/admin").text
    assert manager.get("/inbox", follow_redirects=False).headers["location"].startswith("/signin")
    refused = sign_in(web.client(), TEAM["manager"])
    assert refused.status_code == 401 and "Wrong email or password." in refused.text

    back = admin.post(f"/api/v1/users/{manager_id}/active", json={"active": True}).json()
    assert back["active"] is True and _signs_in(web, TEAM["manager"])


def test_the_last_admin_stays(web: Site) -> None:
    admin_id = _user_id(web, "admin")
    admin = web.client("admin")
    refused = post_form(admin, f"/admin/users/{admin_id}/active", {"active": "false"})
    assert refused.status_code == 409 and "last active admin" in refused.text
    assert admin.post(f"/api/v1/users/{admin_id}/role", json={"role": "manager"}).status_code == 409

    admin.post(f"/api/v1/users/{_user_id(web, 'approver')}/role", json={"role": "admin"})
    assert admin.post(f"/api/v1/users/{admin_id}/role", json={"role": "manager"}).json()["role"] == "manager"
    assert admin.get("/admin").status_code == 403  # the change applies at once, to oneself too


def test_a_new_token_works_once_shown_and_stops_when_revoked(site: Site) -> None:
    """On SQLite and PostgreSQL: made on the page, used by an integration, revoked on the page."""
    admin = site.client("admin")
    response = post_form(admin, "/admin/tokens", {"name": "CRM sync", "email": TEAM["agent"]})
    assert response.status_code == 303 and response.headers["location"] == "/admin"  # a reload posts nothing
    assert "hk_" not in response.text
    admin.cookies.update(response.cookies)  # what the browser keeps from the redirect
    shown = admin.get("/admin")
    assert shown.headers["cache-control"] == "no-store" and "shown only this once" in shown.text
    secret = re.search(r'value="(hk_[^"]+)"', shown.text).group(1)  # type: ignore[union-attr]

    integration = site.client()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert integration.get("/api/v1/mentions", headers=bearer).status_code == 200
    assert integration.get("/api/v1/users", headers=bearer).status_code == 403  # it acts as the agent
    page = admin.get("/admin").text
    assert secret not in page and secret[:10] in page and "CRM sync" in page
    # The page shows only a secret its admin has just made: not one another admin made, nor a made-up one.
    site.client("admin").post(f"/api/v1/users/{_user_id(site, 'approver')}/role", json={"role": "admin"})
    other_admin = site.client("approver")
    for shown_secret in (secret, "hk_made_up"):
        other_admin.cookies.set("harken_new_token", shown_secret, path="/admin")
        assert shown_secret not in other_admin.get("/admin").text
    listed = admin.get("/api/v1/tokens").json()["items"]
    token = next(t for t in listed if t["name"] == "CRM sync")
    assert token["user"] == TEAM["agent"] and token["last_used_at"] and "token_hash" not in token

    assert post_form(admin, f"/admin/tokens/{token['id']}/revoke").status_code == 303
    assert integration.get("/api/v1/mentions", headers=bearer).status_code == 401
    assert admin.get("/api/v1/tokens").json()["items"][-1]["revoked_at"] is not None


def test_tokens_through_the_api(web: Site) -> None:
    admin = web.client("admin")
    made = admin.post("/api/v1/tokens", json={"name": "dashboard", "user": TEAM["manager"]})
    assert made.status_code == 201 and made.json()["secret"].startswith("hk_")
    bearer = {"Authorization": f"Bearer {made.json()['secret']}"}
    assert web.client().get("/api/v1/digest", headers=bearer).status_code == 200
    revoked = admin.post(f"/api/v1/tokens/{made.json()['id']}/revoke").json()
    assert revoked["revoked_at"] is not None and "secret" not in revoked
    assert web.client().get("/api/v1/digest", headers=bearer).status_code == 401
    assert admin.post("/api/v1/tokens", json={"name": " ", "user": TEAM["manager"]}).status_code == 409
    assert admin.post("/api/v1/tokens", json={"name": "x", "user": "nobody@lumen.test"}).status_code == 404


def test_hostile_names_and_errors_are_escaped(web: Site) -> None:
    failing = seed.source(web.engine, "x:search:evil")
    with web.engine.begin() as connection:
        connection.execute(update(Source).where(Source.id == failing).values(last_error=HOSTILE))  # type: ignore[arg-type]
    admin = web.client("admin")
    admin.post("/api/v1/users", json={"email": "evil@lumen.test", "name": HOSTILE, "role": "agent"})
    admin.post("/api/v1/tokens", json={"name": HOSTILE, "user": "evil@lumen.test"})
    page = admin.get("/admin").text
    assert HOSTILE not in page and page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3
