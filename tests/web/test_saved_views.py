"""Saved views through the JSON API and the inbox's forms: each person's own, checked as the inbox checks filters."""

from __future__ import annotations

from tests.web.conftest import Site


def test_a_view_round_trips_through_the_api_and_stays_its_owners(site: Site) -> None:
    agent, admin = site.client("agent"), site.client("admin")
    made = agent.post("/api/v1/views", json={"name": "  Angry   on X ",
                                              "query": "?status=new&platform=x&sentiment=negative&q=&offset=50"})
    assert made.status_code == 201, made.text
    view = made.json()
    # The name tidied, the filters kept in the inbox's order without empty values or the page.
    assert (view["name"], view["query"], view["url"]) == (
        "Angry on X", "status=new&platform=x&sentiment=negative", "/inbox?status=new&platform=x&sentiment=negative")
    assert [item["name"] for item in agent.get("/api/v1/views").json()["items"]] == ["Angry on X"]
    assert 'data-view-query="status=new&amp;platform=x&amp;sentiment=negative"' in agent.get("/inbox").text

    again = agent.post("/api/v1/views", json={"name": "Angry on X", "query": ""})
    assert again.status_code == 409 and "already have a view named 'Angry on X'" in again.json()["detail"]
    unknown = agent.post("/api/v1/views", json={"name": "Mastodon", "query": "platform=myspace"})
    assert unknown.status_code == 409 and "unknown platform 'myspace'" in unknown.json()["detail"]
    nameless = agent.post("/api/v1/views", json={"name": "   ", "query": ""})
    assert nameless.status_code == 409 and nameless.json()["detail"] == "give the view a name"

    # An admin sees, renames and deletes only their own views.
    assert admin.get("/api/v1/views").json() == {"items": []}
    assert admin.patch(f"/api/v1/views/{view['id']}", json={"name": "mine now"}).status_code == 404
    assert admin.delete(f"/api/v1/views/{view['id']}").status_code == 404
    assert admin.post(f"/inbox/views/{view['id']}/delete").status_code == 404

    renamed = agent.patch(f"/api/v1/views/{view['id']}", json={"name": "X complaints"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "X complaints"
    assert agent.delete(f"/api/v1/views/{view['id']}").status_code == 204
    assert agent.get("/api/v1/views").json() == {"items": []}


def test_the_inbox_forms_save_rename_and_delete(site: Site) -> None:
    agent = site.client("agent")
    saved = agent.post("/inbox/views", data={"name": "Reddit", "query": "platform=reddit&priority="},
                       follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/inbox?platform=reddit"
    view_id = agent.get("/api/v1/views").json()["items"][0]["id"]
    # A refusal from an HTMX form is the message alone, for errors.js to show next to the form.
    taken = agent.post("/inbox/views", data={"name": "Reddit", "query": ""}, headers={"HX-Request": "true"})
    assert taken.status_code == 409 and "already have a view named" in taken.text and "<html" not in taken.text
    renamed = agent.post(f"/inbox/views/{view_id}/rename", data={"name": "Reddit, all"},
                         headers={"HX-Request": "true"})
    assert renamed.status_code == 204 and renamed.headers["HX-Refresh"] == "true"
    assert agent.get("/api/v1/views").json()["items"][0]["name"] == "Reddit, all"
    deleted = agent.post(f"/inbox/views/{view_id}/delete", follow_redirects=False)
    assert deleted.status_code == 303
    assert agent.get("/api/v1/views").json() == {"items": []}
    # A stranger cannot save one.
    stranger = site.client().post("/api/v1/views", json={"name": "x", "query": ""})
    assert stranger.status_code == 401
