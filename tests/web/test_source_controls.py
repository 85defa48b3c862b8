"""Admins manage sources on /admin and under /api/v1/sources: add, edit, pause, resume, run now.

Through the app's own forms and JSON API on a real database: each change lands in the sources table and
in the audit log (who, before, after); bad input is refused saying what is wrong and changes nothing;
other roles neither see the controls nor may post them; the settings file seeds sources without
overwriting what an admin changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from listener.collecting import CollectionRunner
from listener.models import AuditEvent, Source
from responders import source_controls
from responders.staff import find_user
from tests.responders.helpers import make_settings
from tests.web.conftest import TEAM, Site, add_staff
from tests.web.pages_helpers import post_form, site_on


@pytest.fixture
def web(sqlite_url: str) -> Iterator[Site]:
    with site_on(sqlite_url) as site:
        yield site


def _source(site: Site, name: str) -> Source:
    with Session(site.engine) as session:
        return session.execute(select(Source).where(Source.name == name)).scalar_one()


def _count(site: Site) -> int:
    with Session(site.engine) as session:
        return session.scalar(select(func.count()).select_from(Source)) or 0


def _events(site: Site, source_id: int) -> list[AuditEvent]:
    with Session(site.engine) as session:
        return list(session.execute(select(AuditEvent).where(
            AuditEvent.object_type == "source", AuditEvent.object_id == str(source_id))
            .order_by(AuditEvent.id)).scalars())  # type: ignore[arg-type]


def test_an_admin_adds_a_source_with_the_form_and_a_reload_adds_nothing(site: Site) -> None:
    """On SQLite and PostgreSQL: the new columns of migration 0017 hold what the form gave."""
    admin = site.client("admin")
    page = admin.get("/admin").text
    assert 'id="add-source"' in page and "Collects recent tweets that match a search query on X." in page

    response = post_form(admin, "/admin/sources", {
        "platform": "x", "kind": "x_search", "options.query": '  "lumen mobile" -is:retweet ',
        "interval_seconds": "300", "name": ""})
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    source = _source(site, 'x:search:"lumen mobile" -is:retweet')
    assert (source.options, source.interval_seconds, source.origin) == (
        {"query": '"lumen mobile" -is:retweet'}, 300, "app")
    assert source.enabled and source.paused_at is None and source.changed_in_app_at is not None
    # Post/redirect/get: what the browser loads again is the page, and the page creates nothing.
    assert admin.get("/admin").status_code == 200 and _count(site) == 1
    row = admin.get("/admin").text.split(f'id="source-{source.id}"')[1].split("</tr>")[0]
    assert "added in the app" in row and "not run yet" in row and "Run now" in row and "Pause" in row

    [event] = _events(site, source.id)  # type: ignore[arg-type]
    assert (event.actor, event.action, event.before) == (TEAM["admin"], "source.create", {})
    assert event.after["options"] == {"query": '"lumen mobile" -is:retweet'} and event.after["interval_seconds"] == 300


@pytest.mark.parametrize(("fields", "message"), [
    ({"platform": "x", "kind": "reddit_search_posts", "options.query": "lumen"},
     "unknown kind 'reddit_search_posts' for X: one of x_mentions, x_search"),
    ({"platform": "myspace", "kind": "x_search", "options.query": "lumen"}, "unknown platform 'myspace'"),
    ({"platform": "x", "kind": "x_search", "options.query": "   "}, "Search query is empty"),
    ({"platform": "x", "kind": "x_search", "options.query": "lumen", "interval_seconds": "0"},
     "every 0 seconds cannot be: the interval is 10 seconds to 7 days"),
    ({"platform": "x", "kind": "x_search", "options.query": "lumen", "interval_seconds": "99999999"},
     "every 99999999 seconds cannot be"),
    ({"platform": "x", "kind": "x_search", "options.query": "lumen", "interval_seconds": "soon"},
     "interval 'soon' is not a whole number of seconds"),
    ({"platform": "reddit", "kind": "reddit_search_posts", "options.subreddit": "r/technology",
      "options.keywords": " , "}, "Keywords is empty: give at least one"),
    ({"platform": "bluesky", "kind": "bluesky_jetstream", "options.keywords": "", "options.hashtags": ""},
     "give at least one keyword or hashtag"),
])
def test_bad_input_is_refused_saying_why_and_adds_nothing(web: Site, fields: dict[str, str], message: str) -> None:
    admin = web.client("admin")
    response = post_form(admin, "/admin/sources", {"interval_seconds": "120", **fields})
    assert response.status_code == 409 and message in unescape(response.text)
    # From the page, HTMX shows the same words inside the form (static/errors.js reads the .error paragraph).
    fragment = admin.post("/admin/sources", data={"interval_seconds": "120", **fields}, headers={"HX-Request": "true"})
    assert fragment.status_code == 409 and 'class="error"' in fragment.text and message in unescape(fragment.text)
    interval = fields.get("interval_seconds", "120")
    api = admin.post("/api/v1/sources", json={
        "platform": fields["platform"], "kind": fields["kind"],
        "options": {key.removeprefix("options."): value for key, value in fields.items() if key.startswith("options.")},
        "interval_seconds": int(interval) if interval.lstrip("-").isdigit() else interval})
    if interval == "120":
        assert api.status_code == 409 and message in api.json()["detail"]
    else:  # the API's schema bounds the interval: refused before it reaches Harken
        assert api.status_code == 422 and "interval_seconds" in api.json()["detail"]
    assert _count(web) == 0


def test_a_name_already_taken_is_refused(web: Site) -> None:
    admin = web.client("admin")
    body = {"platform": "mastodon", "kind": "mastodon_hashtag", "options": {"hashtag": "#LumenMobile"},
            "interval_seconds": 60}
    made = admin.post("/api/v1/sources", json=body)
    assert made.status_code == 201 and made.json()["name"] == "mastodon:hashtag:LumenMobile"
    again = admin.post("/api/v1/sources", json=body)
    assert again.status_code == 409 and "exists already" in again.json()["detail"]
    assert admin.post("/api/v1/sources", json=body | {"name": "Our hashtag"}).status_code == 201
    misspelt = admin.post("/api/v1/sources", json=body | {"name": "Tags", "options": {"hashtags": "lumen"}})
    assert misspelt.status_code == 409 and "has no option hashtags: it takes hashtag" in misspelt.json()["detail"]


def test_edit_pause_resume_and_run_now_through_the_api_are_each_audited(web: Site) -> None:
    admin = web.client("admin")
    made = admin.post("/api/v1/sources", json={
        "platform": "reddit", "kind": "reddit_search_posts", "interval_seconds": 120,
        "options": {"subreddit": "technology", "keywords": ["lumen mobile", "lumen"]}}).json()
    source_id = made["id"]
    assert made["run"] == "not run yet" and made["state"] == "not run yet"
    with web.engine.begin() as connection:  # the collector had got somewhere with the old keywords
        connection.execute(Source.__table__.update().values(cursor={"newest_created": 1.0}))  # type: ignore[attr-defined]

    edited = admin.put(f"/api/v1/sources/{source_id}", json={
        "options": {"subreddit": "r/Android", "keywords": "lumen mobile\nlumen esim"}, "interval_seconds": 600})
    assert edited.status_code == 200
    assert edited.json()["options"] == {"subreddit": "Android", "keywords": ["lumen mobile", "lumen esim"]}
    assert _source(web, made["name"]).cursor == {}  # new keywords read afresh

    paused = admin.post(f"/api/v1/sources/{source_id}/pause").json()
    assert paused["state"] == "paused by an admin" and paused["paused_at"]
    refused = admin.post(f"/api/v1/sources/{source_id}/run")
    assert refused.status_code == 409 and "resume it to run it" in refused.json()["detail"]
    assert admin.post(f"/api/v1/sources/{source_id}/pause").status_code == 409
    resumed = admin.post(f"/api/v1/sources/{source_id}/resume").json()
    assert resumed["paused_at"] is None and resumed["state"] == "not run yet"
    requested = admin.post(f"/api/v1/sources/{source_id}/run").json()
    assert requested["run"] == "run requested" and requested["run_requested_at"]
    assert admin.get(f"/api/v1/sources/{source_id}").json()["run"] == "run requested"
    assert admin.post("/api/v1/sources/999999/pause").status_code == 404

    events = _events(web, source_id)
    assert [e.action for e in events] == [
        "source.create", "source.edit", "source.pause", "source.resume", "source.run_now"]
    assert all(e.actor == TEAM["admin"] for e in events)
    edit = events[1]
    assert edit.before["interval_seconds"] == 120 and edit.after["interval_seconds"] == 600
    assert edit.before["options"]["subreddit"] == "technology" and edit.after["options"]["subreddit"] == "Android"
    assert events[2].before["paused_at"] is None and events[2].after["paused_at"]
    kinds = {k["kind"]: k for k in admin.get("/api/v1/sources/kinds").json()["items"]}
    assert [f["key"] for f in kinds["reddit_search_posts"]["fields"]] == ["subreddit", "keywords"]


def test_the_page_forms_edit_pause_resume_and_request_a_run(web: Site) -> None:
    admin = web.client("admin")
    source_id = admin.post("/api/v1/sources", json={
        "platform": "x", "kind": "x_search", "options": {"query": "lumen"}, "interval_seconds": 120}).json()["id"]
    assert post_form(admin, f"/admin/sources/{source_id}", {
        "options.query": "lumen mobile", "interval_seconds": "90"}).status_code == 303
    assert (_source(web, "x:search:lumen").options, _source(web, "x:search:lumen").interval_seconds) == (
        {"query": "lumen mobile"}, 90)
    assert post_form(admin, f"/admin/sources/{source_id}/run", {}).status_code == 303
    row = admin.get("/admin").text.split(f'id="source-{source_id}"')[1].split("</tr>")[0]
    assert "run requested" in row
    assert post_form(admin, f"/admin/sources/{source_id}/pause", {}).status_code == 303
    row = admin.get("/admin").text.split(f'id="source-{source_id}"')[1].split("</tr>")[0]
    assert "paused by an admin" in row and "Resume" in row and "Run now" not in row
    # Pausing drops a run not yet made: a paused source is not collected at all.
    assert _source(web, "x:search:lumen").run_requested_at is None
    assert post_form(admin, f"/admin/sources/{source_id}/resume", {}).status_code == 303
    bad = post_form(admin, f"/admin/sources/{source_id}", {"options.query": "lumen", "interval_seconds": "-5"})
    assert bad.status_code == 409 and "every -5 seconds cannot be" in bad.text
    assert _source(web, "x:search:lumen").interval_seconds == 90


def test_an_edit_made_on_a_page_another_admin_has_edited_since_is_refused_naming_them(web: Site) -> None:
    with Session(web.engine) as session:
        add_staff(session, "bo@lumen.test", "Bo", "admin")
        session.commit()
    ada, bo = web.client("admin"), web.client("bo@lumen.test")
    made = ada.post("/api/v1/sources", json={
        "platform": "x", "kind": "x_search", "options": {"query": "lumen"}, "interval_seconds": 120}).json()
    source_id, seen = made["id"], made["version"]
    # Both open /admin; Ada saves first (the form carries the version her page was loaded with).
    for page in (ada.get("/admin").text, bo.get("/admin").text):
        assert f'name="version" value="{seen}"' in page.split(f'id="source-{source_id}"')[1].split("</tr>")[0]
    assert post_form(ada, f"/admin/sources/{source_id}", {
        "options.query": "lumen esim", "interval_seconds": "120", "version": str(seen)}).status_code == 303
    # Bo's older page would silently put the old query back with a new interval: refused, naming Ada.
    stale = post_form(bo, f"/admin/sources/{source_id}", {
        "options.query": "lumen", "interval_seconds": "60", "version": str(seen)})
    assert stale.status_code == 409
    assert "Ada edited this source just now" in unescape(stale.text)
    assert "was not applied" in unescape(stale.text)
    source = _source(web, "x:search:lumen")
    assert (source.options, source.interval_seconds, source.version) == ({"query": "lumen esim"}, 120, seen + 1)
    assert [e.actor for e in _events(web, source_id) if e.action == "source.edit"] == [TEAM["admin"]]

    # The API says the same; a pause or a run now in between does not make an edit stale.
    refused = bo.put(f"/api/v1/sources/{source_id}", json={
        "options": {"query": "lumen"}, "interval_seconds": 60, "version": seen})
    assert refused.status_code == 409 and "Ada edited this source" in refused.json()["detail"]
    current = bo.get(f"/api/v1/sources/{source_id}").json()["version"]
    assert bo.post(f"/api/v1/sources/{source_id}/pause").json()["version"] == current
    edited = bo.put(f"/api/v1/sources/{source_id}", json={
        "options": {"query": "lumen esim -is:retweet"}, "interval_seconds": 60, "version": current})
    assert edited.status_code == 200 and edited.json()["version"] == current + 1
    # No version (an older client) skips the check; a version that is not a number is refused by the form.
    assert bo.put(f"/api/v1/sources/{source_id}", json={
        "options": {"query": "lumen"}, "interval_seconds": 60}).status_code == 200
    garbled = post_form(ada, f"/admin/sources/{source_id}", {
        "options.query": "x", "interval_seconds": "60", "version": "1; drop"})
    assert garbled.status_code == 409 and "is not a whole number" in unescape(garbled.text)
    assert _source(web, "x:search:lumen").options == {"query": "lumen"}


def test_other_roles_neither_see_the_controls_nor_may_post_them(web: Site) -> None:
    source_id = web.client("admin").post("/api/v1/sources", json={
        "platform": "x", "kind": "x_search", "options": {"query": "lumen"}, "interval_seconds": 120}).json()["id"]
    for role in ("agent", "approver", "manager"):
        client = web.client(role)
        assert client.get("/admin").status_code == 403, role
        assert 'action="/admin/sources' not in client.get("/inbox").text
        assert post_form(client, "/admin/sources", {"platform": "x", "kind": "x_search", "options.query": "q",
                                                    "interval_seconds": "60"}).status_code == 403, role
        for action in ("pause", "run"):
            assert post_form(client, f"/admin/sources/{source_id}/{action}", {}).status_code == 403, role
            assert client.post(f"/api/v1/sources/{source_id}/{action}").status_code == 403, role
        body = {"platform": "x", "kind": "x_search", "options": {"query": "q"}, "interval_seconds": 60}
        assert client.post("/api/v1/sources", json=body).status_code == 403
        assert client.put(f"/api/v1/sources/{source_id}", json={"options": {"query": "q"},
                                                                "interval_seconds": 60}).status_code == 403
        assert client.get("/api/v1/sources/kinds").status_code == 403
    assert _count(web) == 1 and _source(web, "x:search:lumen").run_requested_at is None


def test_the_settings_seed_sources_but_never_overwrite_what_an_admin_changed(sqlite_url: str, web: Site) -> None:
    configured = make_settings(sqlite_url, x={"enabled": True, "brand_username": "lumenmobile",
                                              "search_queries": ["lumen", "old query"]})
    runner = CollectionRunner(web.engine, configured)
    runner.sync_sources()
    with Session(web.engine, expire_on_commit=False) as session:
        admin = find_user(session, TEAM["admin"])
        by_name = {s.name: s for s in session.execute(select(Source)).scalars()}
        assert {"x:mentions", "x:search:lumen", "x:search:old query"} <= set(by_name)
        source_controls.edit_source(session, admin, by_name["x:search:lumen"], options={"query": "lumen mobile"},
                                    interval_seconds=45)
        source_controls.pause_source(session, admin, by_name["x:search:old query"])
        source_controls.add_source(session, admin, platform="x", kind="x_search", options={"query": "added here"},
                                   interval_seconds=60)
        session.commit()

    # The next start-up: the file now lists neither query, and says every 120 s.
    restarted = CollectionRunner(web.engine, make_settings(
        sqlite_url, x={"enabled": True, "brand_username": "lumenmobile", "search_queries": [],
                       "interval_seconds": 120}))
    restarted.sync_sources()
    edited, paused, added = (_source(web, name) for name in ("x:search:lumen", "x:search:old query",
                                                              "x:search:added here"))
    assert (edited.options, edited.interval_seconds, edited.enabled) == ({"query": "lumen mobile"}, 45, True)
    assert paused.paused_at is not None and paused.enabled
    assert added.enabled and added.options == {"query": "added here"}
    untouched = _source(web, "x:mentions")
    assert untouched.interval_seconds == 120 and untouched.origin == "settings"
    # Only the sources nobody changed follow the file: the admin's three keep their jobs.
    assert {s.name for s in restarted.scheduled()} == {"x:mentions", "x:search:lumen", "x:search:added here"}
