"""Sign-in, sessions, cookies, throttling, headers, and the auth / role / CSRF checks on every route."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from listener.models import AuditEvent, WebSession
from responders.roles import PERMISSIONS, Action, Role
from responders.web.deps import Permission
from responders.web.routes import ROUTERS
from responders.web.security import create_token
from tests.web.conftest import PASSWORD, TEAM, Site, sign_in

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
NO_SUCH_ID = 999_999


def _permission(route: APIRoute) -> Action | None:
    """The action a route's permission dependency guards, if it has one."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, Permission):
            return dependency.call.action
        pending.extend(dependency.dependencies)
    return None


def _routes() -> list[APIRoute]:
    """Every route of the app (FastAPI includes routers lazily, so read them from the routers themselves)."""
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def _state_changing(site: Site) -> list[tuple[str, str, Action | None]]:
    found = []
    for route in _routes():
        if route.path != "/signin":
            for method in sorted(route.methods & STATE_CHANGING):
                # An id no record has: a route that needs no body (revoking a token) must not
                # act on the test's own records (token 1 is the agent's) and break later checks.
                found.append((method, re.sub(r"\{[^}]+\}", str(NO_SUCH_ID), route.path), _permission(route)))
    return found


def test_signing_in_sets_a_protected_session_cookie(site: Site) -> None:
    client = site.client()
    response = sign_in(client, TEAM["agent"])
    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    cookie = response.headers["set-cookie"]
    assert "harken_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in this test, cookies set to never be Secure
    page = client.get("/inbox")
    assert page.status_code == 200 and "Ana" in page.text
    with Session(site.engine) as session:
        stored = session.execute(select(WebSession.token_hash)).scalars().all()
    token = re.search(r"harken_session=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
    assert stored and token not in stored  # only a hash of the cookie is kept


def test_cookie_is_secure_over_https(site_factory) -> None:  # type: ignore[no-untyped-def]
    site = site_factory(web={"secure_cookies": "auto"})
    client = TestClient(site.app, base_url="https://testserver")
    response = sign_in(client, TEAM["agent"])
    assert "Secure" in response.headers["set-cookie"]
    assert client.get("/inbox").headers["strict-transport-security"].startswith("max-age=")


def test_wrong_password_and_unknown_account_get_the_same_answer(site: Site) -> None:
    client = site.client()
    wrong = sign_in(client, TEAM["agent"], "not the password")
    unknown = sign_in(client, "nobody@lumen.test", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text
    assert "harken_session" not in wrong.headers.get("set-cookie", "")


def test_repeated_failures_lock_the_account_even_for_the_right_password(site: Site) -> None:
    client = site.client()
    for _ in range(5):
        assert sign_in(client, TEAM["approver"], "guess").status_code == 401
    locked = sign_in(client, TEAM["approver"], PASSWORD)
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
    assert int(locked.headers["retry-after"]) > 0
    # Other accounts are unaffected: the lock is per account (and per address at four times the limit).
    assert sign_in(client, TEAM["agent"]).status_code == 303


def test_sign_in_form_needs_its_token(site: Site) -> None:
    client = site.client()
    response = client.post("/signin", data={"email": TEAM["agent"], "password": PASSWORD, "signin_token": "x"},
                           follow_redirects=False)
    assert response.status_code == 403 and "harken_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(site: Site, target: str) -> None:
    response = sign_in(site.client(), TEAM["agent"], next_path=target)
    assert response.headers["location"] == "/inbox"


def test_sign_in_returns_to_the_page_asked_for(site: Site) -> None:
    client = site.client()
    first = client.get("/queue", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/signin?next=%2Fqueue"
    assert sign_in(client, TEAM["agent"], next_path="/queue").headers["location"] == "/queue"


def test_signing_out_ends_the_session(site: Site) -> None:
    client = site.client("agent")
    cookie = client.cookies.get("harken_session")
    assert client.post("/signout", follow_redirects=False).status_code == 303
    replay = TestClient(site.app, cookies={"harken_session": cookie})
    assert replay.get("/api/v1/mentions").status_code == 401


def test_deactivated_user_is_signed_out_everywhere(site: Site) -> None:
    agent = site.client("agent")
    admin = site.client("admin")
    with Session(site.engine) as session:
        from responders import staff

        staff.set_active(session, staff.find_user(session, TEAM["agent"]), False,
                         staff.find_user(session, TEAM["admin"]))
        session.commit()
    assert agent.get("/api/v1/mentions").status_code == 401
    assert sign_in(site.client(), TEAM["agent"]).status_code == 401
    assert admin.get("/api/v1/mentions").status_code == 200


def test_pages_carry_security_headers(site: Site) -> None:
    response = site.client("agent").get("/inbox")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "<script>" not in response.text.replace("<script src=", "")  # no inline scripts at all


def test_every_state_changing_route_is_guarded(site: Site) -> None:
    routes = _state_changing(site)
    assert len(routes) >= 10
    unguarded = [(m, p) for m, p, action in routes if action is None and p != "/signout"]
    assert not unguarded, f"state-changing routes without a role check: {unguarded}"


def test_state_changing_routes_refuse_missing_auth_wrong_role_and_missing_csrf(site: Site) -> None:
    anonymous = site.client()
    clients = {role: site.client(role) for role in TEAM}
    with Session(site.engine, expire_on_commit=False) as session:
        # Each made by its own user: a token an admin makes for someone else never approves (test_hardening).
        tokens = {role: create_token(session, f"test {role}", email, site.team[role]).secret
                  for role, email in TEAM.items()}
        session.commit()
    for method, path, action in _state_changing(site):
        where = f"{method} {path}"
        assert anonymous.request(method, path, follow_redirects=False).status_code == 401, where
        if action is None:
            continue
        lacking = [role for role in Role if action not in PERMISSIONS[role]]
        having = [role for role in Role if action in PERMISSIONS[role]]
        for role in lacking:
            response = clients[role].request(method, path, follow_redirects=False)
            assert response.status_code == 403, f"{where} as {role}: {response.status_code}"
            token_response = TestClient(site.app).request(
                method, path, headers={"Authorization": f"Bearer {tokens[role]}"})
            assert token_response.status_code == 403, f"{where} with a {role} token"
        role = having[0]
        no_csrf = TestClient(site.app, cookies=clients[role].cookies)
        response = no_csrf.request(method, path, follow_redirects=False)
        assert response.status_code == 403 and "CSRF" in response.text, f"{where} without CSRF: {response.text}"
        # A bearer token needs no CSRF token: the request gets past the checks (to a 404/409/422 on an unknown id).
        with_token = TestClient(site.app).request(method, path, headers={"Authorization": f"Bearer {tokens[role]}"})
        assert with_token.status_code not in (401, 403), f"{where} with a {role} token: {with_token.text}"


def test_revoked_or_unknown_tokens_are_refused(site: Site) -> None:
    from responders.web.security import revoke_token

    with Session(site.engine, expire_on_commit=False) as session:
        new = create_token(session, "crm sync", TEAM["agent"], site.team["admin"])
        session.commit()
    api = TestClient(site.app)
    assert api.get("/api/v1/mentions", headers={"Authorization": f"Bearer {new.secret}"}).status_code == 200
    assert api.get("/api/v1/mentions", headers={"Authorization": "Bearer hk_made_up"}).status_code == 401
    with Session(site.engine, expire_on_commit=False) as session:
        revoke_token(session, new.token.id, site.team["admin"])  # type: ignore[arg-type]
        session.commit()
    assert api.get("/api/v1/mentions", headers={"Authorization": f"Bearer {new.secret}"}).status_code == 401


def test_sign_ins_are_audited(site: Site) -> None:
    site.client("approver")
    with Session(site.engine) as session:
        count = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "user.sign_in"))
    assert count == 1


def test_openapi_documents_the_api(site: Site) -> None:
    spec = site.client().get("/api/openapi.json").json()
    assert "/api/v1/replies/{reply_id}/approve" in spec["paths"]
    assert not any(path.startswith(("/inbox", "/queue", "/signin")) for path in spec["paths"])


def test_behind_a_trusted_proxy_the_forwarded_scheme_makes_cookies_secure(site_factory) -> None:  # type: ignore[no-untyped-def]
    """Through uvicorn: X-Forwarded-Proto is believed from [web] trusted_proxies (127.0.0.1 here), not others."""
    import requests

    from responders.web.server import WebServer

    site = site_factory(web={"secure_cookies": "auto"})
    for proxies, secure in ((["127.0.0.1"], True), (["10.9.9.9"], False)):
        settings = site.settings.model_copy(
            update={"web": site.settings.web.model_copy(update={"trusted_proxies": proxies})})
        with WebServer(settings, site.engine, host="127.0.0.1", port=0) as web:
            response = requests.get(f"{web.url}/signin", headers={"X-Forwarded-Proto": "https"}, timeout=10)
        assert response.status_code == 200
        assert ("Secure" in response.headers["set-cookie"]) is secure, proxies
        assert ("strict-transport-security" in response.headers) is secure
