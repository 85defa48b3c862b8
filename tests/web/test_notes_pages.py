"""Internal notes through the web app: the plain form (POST/redirect/GET, refusals in place with the text kept),
HTMX, the JSON API, who may do what, the "Mentions" count and list."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.responders.helpers import add_mention
from tests.web.conftest import Site, add_staff

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="alert(1)"> @Dana look'


def _dana(site: Site, timezone: str | None = None) -> TestClient:
    with Session(site.engine) as session:
        add_staff(session, "dana@lumen.test", "Dana", "approver", timezone=timezone)
        session.commit()
    return site.client("dana@lumen.test")


def _plain_post(client: TestClient, path: str, **form: str) -> object:
    """A script-less form post: the CSRF token in the form, no HTMX header."""
    token = client.headers.pop("X-CSRF-Token")
    try:
        return client.post(path, data={"csrf_token": token, **form}, follow_redirects=False)
    finally:
        client.headers["X-CSRF-Token"] = token


def test_a_plain_form_note_is_posted_redirected_and_shown_escaped_with_the_mention_highlighted(site: Site) -> None:
    mention = add_mention(site.engine, "my refund never came")
    dana = _dana(site, timezone="Asia/Tokyo")
    agent = site.client("agent")
    assert dana.get("/nav/counts").json()["mentions"] == 0

    posted = _plain_post(agent, f"/mentions/{mention.id}/notes", text=HOSTILE)
    assert posted.status_code == 303 and posted.headers["location"] == f"/mentions/{mention.id}#notes"  # type: ignore[attr-defined]
    shown = agent.get(f"/mentions/{mention.id}").text
    assert "<script>window.__pwned" not in shown and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in shown
    assert re.search(r'<mark class="at" title="Dana \(dana@lumen.test\)">@Dana</mark>', shown)
    assert "Ana" in shown.split('id="notes"')[1]  # the author's name beside the note

    assert dana.get("/nav/counts").json()["mentions"] == 1
    listed = dana.get("/notes/mentions").text
    assert f'href="/mentions/{mention.id}#note-' in listed and "new" in listed
    opened = dana.get(f"/mentions/{mention.id}").text
    assert "(Asia/Tokyo)" in opened.split('id="notes"')[1]  # the note's time in the reader's own time zone
    assert dana.get("/nav/counts").json()["mentions"] == 0


def test_a_refused_plain_form_note_comes_back_in_the_page_with_the_text_and_the_reason(site: Site) -> None:
    mention = add_mention(site.engine, "help")
    agent = site.client("agent")
    too_long = "We refunded her on the 3rd <b>twice</b>. " * 60
    refused = _plain_post(agent, f"/mentions/{mention.id}/notes", text=too_long)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    form = refused.text.split('class="note-form"')[1]  # type: ignore[attr-defined]
    assert "at most 2,000" in form.split("</form>")[0]
    assert "We refunded her on the 3rd &lt;b&gt;twice&lt;/b&gt;." in form  # what was typed, in the box, escaped
    assert 'aria-invalid="true"' in form
    empty = _plain_post(agent, f"/mentions/{mention.id}/notes", text="   ")
    assert empty.status_code == 409 and "the note is empty" in empty.text  # type: ignore[attr-defined]
    assert agent.get(f"/api/v1/mentions/{mention.id}/notes").json() == {"items": []}


def test_htmx_redraws_the_notes_in_place_and_a_refusal_is_an_error_for_the_form(site: Site) -> None:
    mention = add_mention(site.engine, "help")
    agent = site.client("agent")
    drawn = agent.post(f"/mentions/{mention.id}/notes", data={"text": "checked the order"},
                       headers={"HX-Request": "true"})
    assert drawn.status_code == 200 and drawn.text.lstrip().startswith("<section class=\"notes\" id=\"notes\"")
    assert "checked the order" in drawn.text and '<textarea name="text" id="note-text"' in drawn.text
    refused = agent.post(f"/mentions/{mention.id}/notes", data={"text": ""}, headers={"HX-Request": "true"})
    assert refused.status_code == 409 and '<p class="error"' in refused.text and "empty" in refused.text


def test_the_api_lists_adds_and_deletes_notes_and_each_role_does_only_what_it_may(site: Site) -> None:
    mention = add_mention(site.engine, "help")
    dana = _dana(site)
    agent, admin, manager, approver = (site.client(role) for role in ("agent", "admin", "manager", "approver"))
    path = f"/api/v1/mentions/{mention.id}/notes"

    added = agent.post(path, json={"text": "@dana please call them, @nobody knows"})
    assert added.status_code == 201
    note = added.json()
    assert note["author"] == {"name": "Ana", "email": "ana@lumen.test"}
    assert note["mentioned"] == [{"name": "Dana", "email": "dana@lumen.test"}]
    assert manager.post(path, json={"text": "managers change nothing"}).status_code == 403
    assert agent.post(path, json={"text": ""}).json()["detail"] == "the note is empty: write something first"
    assert agent.post(f"/api/v1/mentions/{mention.id + 999}/notes", json={"text": "x"}).status_code == 404  # type: ignore[operator]

    assert [n["id"] for n in manager.get(path).json()["items"]] == [note["id"]]  # managers read them
    assert dana.get("/api/v1/notes/mentions").json()["unread"] == 1
    assert "Add a note" not in manager.get(f"/mentions/{mention.id}").text  # no form for a role that may not
    assert "Delete" not in approver.get(f"/mentions/{mention.id}").text.split('id="notes"')[1]

    assert approver.delete(f"{path}/{note['id']}").status_code == 403
    assert agent.delete(f"{path}/{note['id']}").json() == {"deleted": note["id"]}
    assert agent.delete(f"{path}/{note['id']}").status_code == 404
    by_approver = approver.post(path, json={"text": "mine"}).json()
    assert admin.delete(f"{path}/{by_approver['id']}").status_code == 200  # an admin may delete any note
    assert agent.get(path).json() == {"items": []}
    assert dana.get("/nav/counts").json()["mentions"] == 0


def test_a_plain_form_delete_of_a_note_already_gone_says_so_on_the_mention_page(site: Site) -> None:
    mention = add_mention(site.engine, "help")
    agent = site.client("agent")
    note = agent.post(f"/api/v1/mentions/{mention.id}/notes", json={"text": "to delete"}).json()
    gone = _plain_post(agent, f"/mentions/{mention.id}/notes/{note['id']}/delete")
    assert gone.status_code == 303  # type: ignore[attr-defined]
    again = _plain_post(agent, f"/mentions/{mention.id}/notes/{note['id']}/delete")
    assert again.status_code == 404 and "it may have been deleted meanwhile" in again.text  # type: ignore[attr-defined]
    assert 'id="notes"' in again.text  # type: ignore[attr-defined]  # the mention page, not a dead end
