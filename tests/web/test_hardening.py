"""What an attacker's and a careless user's pass over the web app and the API found (issue 18), mended.

Each test drives the app as a client would: the real sign-in form, bearer tokens,
plain form posts with their Referer, the JSON API; sign-ins in parallel go through
uvicorn on a real socket. Most run on SQLite and PostgreSQL (the ``site`` fixture).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

import pytest
import requests
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from listener.models import AuditEvent, Mention, Reply
from listener.platforms.reddit.collectors import thing_to_mention
from responders.roles import PERMISSIONS, Action, Role
from responders.web.routes import ROUTERS
from responders.web.server import WebServer
from tests.responders.helpers import add_mention
from tests.web.conftest import PASSWORD, TEAM, Site, sign_in
from tests.web.pages_helpers import post_form

HUGE = 2**63
WRONG = "not the password at all"


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _audit(site: Site, action: str) -> list[AuditEvent]:
    with Session(site.engine) as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.id)).scalars())  # type: ignore[arg-type]


# -- 1. parallel sign-ins ----------------------------------------------------------------------


def _signin_form(base: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    form = browser.get(f"{base}/signin", timeout=30)
    token = re.search(r'name="signin_token" value="([^"]+)"', form.text)
    assert token, form.text
    return browser, token.group(1)


def test_parallel_wrong_sign_ins_check_at_most_the_limit(site: Site) -> None:
    """Fifteen wrong passwords posted at once for one account: only the limit (5) are checked, the
    others are refused unchecked; afterwards even the right password is refused."""
    attempts = 15
    limit = site.settings.web.sign_in_max_failures
    with WebServer(site.settings, site.engine, host="127.0.0.1", port=0) as web:
        forms = [_signin_form(web.url) for _ in range(attempts)]
        start = threading.Barrier(attempts)
        statuses: list[int] = []

        def attempt(browser: requests.Session, token: str) -> None:
            start.wait()
            response = browser.post(f"{web.url}/signin", data={"email": TEAM["approver"], "password": WRONG,
                                                                "signin_token": token}, allow_redirects=False,
                                     timeout=60)
            statuses.append(response.status_code)

        threads = [threading.Thread(target=attempt, args=form) for form in forms]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        browser, token = _signin_form(web.url)
        right = browser.post(f"{web.url}/signin", data={"email": TEAM["approver"], "password": PASSWORD,
                                                       "signin_token": token}, allow_redirects=False, timeout=60)
    assert Counter(statuses) == {401: limit, 429: attempts - limit}, statuses
    assert right.status_code == 429


# -- 6. tokens made for someone else -----------------------------------------------------------


def _pending_reply(site: Site) -> int:
    mention = add_mention(site.engine, "my eSIM will not activate, please help", handle="esim_eli")
    made = site.client("agent").post(f"/api/v1/mentions/{mention.id}/replies",
                                     json={"text": "Sorry about that, we are on it: check your DMs."})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def test_a_token_an_admin_makes_for_an_approver_never_approves_and_the_audit_names_the_admin(site: Site) -> None:
    reply_id = _pending_reply(site)
    admin = site.client("admin")
    made = admin.post("/api/v1/tokens", json={"name": "approval bot", "user": TEAM["approver"]})
    assert made.status_code == 201 and made.json()["user"] == TEAM["approver"], made.text
    api = TestClient(site.app)
    delegated = _bearer(made.json()["secret"])

    for body in ({}, {"text": "Edited by the admin, approved in the approver's name."}):
        refused = api.post(f"/api/v1/replies/{reply_id}/approve", json=body, headers=delegated)
        assert refused.status_code == 403 and "made by ada@lumen.test" in refused.json()["detail"], refused.text
    with Session(site.engine) as session:
        reply = session.get(Reply, reply_id)
        assert reply is not None and reply.state == "pending_approval" and reply.revision == 1
    # It cannot mint itself a token without those limits either.
    assert api.post("/api/v1/tokens", json={"name": "escape"}, headers=delegated).status_code == 403

    # What it may do (both roles allow triage) is recorded as the admin who really acted.
    mention_id = api.get("/api/v1/replies", headers=delegated).json()["items"][0]["mention_id"]
    changed = api.post(f"/api/v1/mentions/{mention_id}/status", json={"status": "waiting"}, headers=delegated)
    assert changed.status_code == 200, changed.text
    assert [event.actor for event in _audit(site, "mention.status")][-1] == TEAM["admin"]
    assert [event.actor for event in _audit(site, "reply.approve")] == []


def test_a_token_made_for_someone_else_stops_when_its_maker_leaves(site: Site) -> None:
    admin = site.client("admin")
    made = admin.post("/api/v1/tokens", json={"name": "crm sync", "user": TEAM["agent"]}).json()["secret"]
    api = TestClient(site.app)
    assert api.get("/api/v1/mentions", headers=_bearer(made)).status_code == 200
    second = admin.post("/api/v1/users", json={"email": "eve@lumen.test", "name": "Eve", "role": "admin"})
    assert second.status_code == 201, second.text
    with Session(site.engine, expire_on_commit=False) as session:
        from responders import staff

        staff.set_active(session, staff.find_user(session, TEAM["admin"]), False,
                         staff.find_user(session, "eve@lumen.test"))
        session.commit()
    assert api.get("/api/v1/mentions", headers=_bearer(made)).status_code == 401


def test_an_approver_makes_their_own_token_and_approves_with_it(site: Site) -> None:
    reply_id = _pending_reply(site)
    made = site.client("approver").post("/api/v1/tokens", json={"name": "my approval script"})
    assert made.status_code == 201 and made.json()["user"] == TEAM["approver"], made.text
    approved = TestClient(site.app).post(f"/api/v1/replies/{reply_id}/approve", json={},
                                         headers=_bearer(made.json()["secret"]))
    assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text
    assert [event.actor for event in _audit(site, "reply.approve")] == [TEAM["approver"]]
    # Someone else's token is still an admin's business.
    other = site.client("approver").post("/api/v1/tokens", json={"name": "for ana", "user": TEAM["agent"]})
    assert other.status_code == 403, other.text


# -- 7. numbers out of range, a search of 50,000 characters -------------------------------------


def _api_routes() -> list[tuple[str, APIRoute]]:
    return [(method, route) for router in ROUTERS for route in router.routes
            if isinstance(route, APIRoute) and route.path.startswith("/api/v1")
            for method in sorted(route.methods)]


def _role_for(route: APIRoute) -> str:
    """A team member whose role gets past the route's permission, so the request reaches the database."""
    from tests.web.test_web_security import _permission

    action = _permission(route) or Action.READ
    return next(role.value for role in (Role.APPROVER, Role.ADMIN, Role.MANAGER, Role.AGENT)
                if action in PERMISSIONS[role])


BODY_WITH_HUGE_IDS: dict[str, Any] = {
    "ids": [HUGE], "status": "resolved", "into": HUGE, "survivor_id": HUGE, "suggestion_id": HUGE, "text": "hello",
    "reason": "no", "label": "neutral", "assignee": None, "role": "agent", "active": True, "password": PASSWORD,
}


def test_ids_and_offsets_beyond_the_database_are_a_clear_4xx_on_every_endpoint(site: Site) -> None:
    mention = add_mention(site.engine, "a mention, so that searches have rows to read")
    clients = {role: site.client(role) for role in TEAM}
    checked = 0
    for method, route in _api_routes():
        if "{" not in route.path and method == "GET" and route.path not in ("/api/v1/mentions", "/api/v1/profiles"):
            continue
        path = re.sub(r"\{[^}]+\}", str(HUGE), route.path)
        kwargs: dict[str, Any] = {"json": BODY_WITH_HUGE_IDS} if method == "POST" else {"params": {"offset": HUGE}}
        response = clients[_role_for(route)].request(method, path, **kwargs)
        assert 400 <= response.status_code < 500, f"{method} {path}: {response.status_code} {response.text[:200]}"
        assert response.json()["detail"], f"{method} {path}"
        checked += 1
    assert checked >= 20
    # The answer names what is out of range and the largest allowed.
    one = clients["agent"].get(f"/api/v1/mentions/{HUGE}")
    assert one.status_code == 422 and one.json()["detail"].startswith("mention_id: "), one.text
    assert "2147483647" in one.json()["detail"]
    bulk = clients["agent"].post("/api/v1/mentions/bulk", json={"ids": [mention.id, HUGE], "status": "resolved"})
    assert bulk.status_code == 422 and bulk.json()["detail"].startswith("ids.1: "), bulk.text
    # Pages and plain forms too.
    assert clients["agent"].get(f"/mentions/{HUGE}").status_code == 422
    assert clients["agent"].get("/inbox", params={"offset": HUGE}).status_code == 422
    bulk_form = post_form(clients["agent"], "/inbox/bulk", {"ids": [str(HUGE)], "status": "resolved"})
    assert bulk_form.status_code == 422 and "out of range" in bulk_form.text


def test_a_search_of_fifty_thousand_characters_is_refused_clearly(site: Site) -> None:
    add_mention(site.engine, "lumen mobile, a mention for the search to read")
    agent = site.client("agent")
    long = "lumen " * 8_334  # 50,004 characters
    for path in ("/api/v1/mentions", "/api/v1/profiles"):
        response = agent.get(path, params={"q": long})
        assert response.status_code == 422 and response.json()["detail"].startswith("q: "), response.text
    for path in ("/inbox", "/profiles"):
        assert agent.get(path, params={"q": long}).status_code == 422


# -- 8. links to the original post -------------------------------------------------------------


def test_only_http_links_to_the_original_in_pages_and_the_api(site: Site) -> None:
    mention = add_mention(site.engine, "a post whose link was tampered with")
    with Session(site.engine) as session:
        stored = session.get(Mention, mention.id)
        assert stored is not None
        stored.url = "javascript:alert(document.cookie)"
        session.commit()
    agent = site.client("agent")
    page = agent.get(f"/mentions/{mention.id}")
    assert page.status_code == 200 and "javascript:" not in page.text and ">original<" not in page.text
    assert agent.get(f"/api/v1/mentions/{mention.id}").json()["mention"]["url"] is None
    listed = agent.get("/api/v1/mentions").json()["items"]
    assert [item["url"] for item in listed if item["mention_id"] == mention.id] == [None]


@pytest.mark.parametrize("permalink", ["javascript:alert(1)", "https://evil.example/r/x", "r/LumenMobile/x"])
def test_a_reddit_permalink_that_is_not_a_path_is_not_kept(permalink: str) -> None:
    post = {"kind": "t3", "data": {"name": "t3_abc12", "created_utc": 1_760_000_000, "author": "dan",
                                   "title": "Lumen Mobile outage", "permalink": permalink}}
    comment = {"kind": "t1", "data": {"name": "t1_def34", "created_utc": 1_760_000_000, "author": "eve",
                                      "body": "same here", "link_id": "t3_abc12", "permalink": permalink}}
    assert thing_to_mention(post).url == "https://www.reddit.com/comments/abc12"
    assert thing_to_mention(comment).url == "https://www.reddit.com/comments/abc12/_/def34"


# -- 10. deactivation ends sessions for good ----------------------------------------------------


def test_reactivating_a_user_does_not_revive_their_old_sessions(site: Site) -> None:
    agent = site.client("agent")
    admin = site.client("admin")
    agent_id = site.team["agent"].id
    assert admin.post(f"/api/v1/users/{agent_id}/active", json={"active": False}).status_code == 200
    assert admin.post(f"/api/v1/users/{agent_id}/active", json={"active": True}).status_code == 200
    assert agent.get("/api/v1/mentions").status_code == 401
    assert agent.get("/inbox", follow_redirects=False).headers["location"].startswith("/signin")
    assert site.client("agent").get("/api/v1/mentions").status_code == 200  # signing in again works


# -- 11. back() and sign-in follow only local paths --------------------------------------------


@pytest.mark.parametrize("referer", ["http://testserver//evil.example/x", "http://testserver/\\evil.example/x",
                                     "http://testserver/\t/evil.example/x"])
def test_a_form_post_never_goes_back_off_site(site: Site, referer: str) -> None:
    mention = add_mention(site.engine, "a mention to change")
    agent = site.client("agent")
    response = post_form(agent, "/inbox/bulk", {"ids": [str(mention.id)], "status": "waiting"},
                         headers={"Referer": referer})
    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    kept = post_form(agent, "/inbox/bulk", {"ids": [str(mention.id)], "status": "resolved"},
                     headers={"Referer": "http://testserver/inbox?status=all"})
    assert kept.headers["location"] == "/inbox?status=all"


def test_sign_in_ignores_a_next_path_a_browser_reads_as_another_site(site: Site) -> None:
    assert sign_in(site.client(), TEAM["agent"], next_path="/\t/evil.example").headers["location"] == "/inbox"


# -- 13. bulk changes with an id twice ---------------------------------------------------------


def test_a_bulk_change_naming_a_mention_twice_changes_it_once(site: Site) -> None:
    first = add_mention(site.engine, "first")
    second = add_mention(site.engine, "second")
    response = site.client("agent").post("/api/v1/mentions/bulk", json={
        "ids": [first.id, second.id, first.id], "status": "waiting"})
    assert response.status_code == 200 and response.json() == {"changed": 2}, response.text
    with Session(site.engine) as session:
        assert {session.get(Mention, m.id).status for m in (first, second)} == {"waiting"}  # type: ignore[union-attr]
    assert len(_audit(site, "mention.status")) == 2


@pytest.mark.postgres
def test_text_postgresql_cannot_store_is_a_clear_4xx_and_keeps_nothing(postgres_url: str) -> None:
    """A NUL character in a reply: PostgreSQL refuses it (SQLite stores it); the client is told why."""
    from tests.conftest import _clean_postgres
    from tests.web.pages_helpers import site_on

    _clean_postgres(postgres_url)
    with site_on(postgres_url) as site:
        mention = add_mention(site.engine, "a mention to answer")
        response = site.client("agent").post(f"/api/v1/mentions/{mention.id}/replies",
                                             json={"text": "before\x00after"})
        assert response.status_code == 422 and "NUL" in response.json()["detail"], response.text
        with Session(site.engine) as session:
            assert session.execute(select(Reply)).first() is None
