"""Profile pages and their API: search, the profile with its timeline and trend, links, merges and undo."""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from listener.models import LinkSuggestion, Mention
from responders.roles import Action, Role, roles_allowed
from tests.web.conftest import Site
from tests.web.pages_helpers import HOSTILE, T0, post_form, profile, said, site_on, suggest


@pytest.fixture
def web(sqlite_url: str) -> Iterator[Site]:
    with site_on(sqlite_url) as site:
        yield site


def _timeline_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li data-mention-id="(\d+)"', page)]


def _chart(page: str) -> dict:  # type: ignore[type-arg]
    found = re.search(r'data-chart="([^"]+)"', page)
    assert found, "no chart on the page"
    return json.loads(html_lib.unescape(found.group(1)))


def test_search_finds_profiles_by_name_crm_id_and_tier(web: Site) -> None:
    dana = profile(web.engine, "Dana Whitfield", tier="vip", prospect=False)
    profile(web.engine, "Dan Brown")
    press = profile(web.engine, "Priya Press", tier="press")
    client = web.client("agent")

    page = client.get("/profiles", params={"q": "whitfield"}).text
    assert f'href="/profiles/{dana}"' in page and "Dan Brown" not in page
    page = client.get("/profiles", params={"tier": "press"}).text
    assert f'href="/profiles/{press}"' in page and "Dana Whitfield" not in page
    page = client.get("/profiles", params={"q": "dan", "customers": "1"}).text
    assert "Dana Whitfield" in page and "Dan Brown" not in page
    assert "No profile matches" in client.get("/profiles", params={"q": "nobody"}).text
    assert client.get("/profiles", params={"tier": "gold"}).status_code == 422

    found = client.get("/api/v1/profiles", params={"q": "dan"}).json()
    assert [p["display_name"] for p in found["items"]] == ["Dan Brown", "Dana Whitfield"]
    assert client.get("/api/v1/profiles", params={"tier": "vip"}).json()["items"][0]["id"] == dana


def test_search_finds_profiles_by_handle_with_or_without_its_prefix(web: Site) -> None:
    raj = profile(web.engine, "Raj Patel", accounts=(("x", "@raj_codes"),))
    reddit_raj = profile(web.engine, "Raj P.", accounts=(("reddit", "u/rajp"),))
    profile(web.engine, "Rajcodes Fan")  # a name holding "rajcodes", not the handle raj_codes
    client = web.client("agent")

    for typed in ("raj_codes", "@raj_codes", "@RAJ_CODES", " raj_co "):
        page = client.get("/profiles", params={"q": typed}).text
        assert f'href="/profiles/{raj}"' in page, typed
        assert "Rajcodes Fan" not in page and f'href="/profiles/{reddit_raj}"' not in page, typed
    # Reddit writes u/: that prefix means Reddit's accounts only; "@rajp" is no one's handle.
    page = client.get("/profiles", params={"q": "u/rajp"}).text
    assert f'href="/profiles/{reddit_raj}"' in page and f'href="/profiles/{raj}"' not in page
    assert "No profile matches" in client.get("/profiles", params={"q": "@rajp"}).text
    # An underscore is a character of the handle, not a LIKE wildcard.
    assert "No profile matches" in client.get("/profiles", params={"q": "raj_p"}).text

    found = client.get("/api/v1/profiles", params={"q": "@raj_codes"}).json()
    assert [p["id"] for p in found["items"]] == [raj]
    found = client.get("/api/v1/profiles", params={"q": "u/rajp"}).json()
    assert [p["id"] for p in found["items"]] == [reddit_raj]
    for odd in ("@", "u/", "%", "id:1", "/u/"):  # a prefix alone, a LIKE wildcard, a placeholder: no handle search
        assert client.get("/api/v1/profiles", params={"q": odd}).json()["items"] == [], odd


def test_profile_page_shows_accounts_timeline_newest_first_and_the_trend(web: Site) -> None:
    pid = profile(web.engine, "Dana Whitfield", accounts=(("x", "@dana_w"), ("reddit", "u/danaw")))
    ids = said(web.engine, pid, ("my bill doubled", "negative"), ("still no answer", "negative"),
               ("thanks, sorted", "positive"), ("new plan is fine", "neutral"), step=timedelta(days=8))
    client = web.client("agent")

    page = client.get(f"/profiles/{pid}").text
    assert "@dana_w" in page and "u/danaw" in page
    assert _timeline_ids(page) == ids[::-1]
    assert "my bill doubled" in page and f'href="/mentions/{ids[0]}"' in page

    chart = _chart(page)
    assert "/static/vendor/chart.umd.min.js" in page
    bars = {d["label"]: d["data"] for d in chart["data"]["datasets"] if d["type"] == "bar"}
    assert sum(bars["negative"]) == 2 and sum(bars["positive"]) == 1 and sum(bars["neutral"]) == 1
    net = next(d for d in chart["data"]["datasets"] if d["type"] == "line")
    assert net["data"] == [-100.0, -100.0, 100.0, 0.0]  # one mention per week here

    shorter = client.get(f"/profiles/{pid}", params={"limit": 2}).text
    assert _timeline_ids(shorter) == ids[:1:-1] and "Show more mentions" in shorter

    data = client.get(f"/api/v1/profiles/{pid}", params={"limit": 3}).json()
    assert [i["handle"] for i in data["identities"]] == ["dana_w", "danaw"]
    assert [e["mention_id"] for e in data["timeline"]] == ids[:0:-1] and data["timeline_has_more"]
    assert [p["net"] for p in data["trend"]] == [-1.0, -1.0, 1.0, 0.0]
    assert client.get("/api/v1/profiles/999999").status_code == 404
    assert client.get("/profiles/999999").status_code == 404


def test_merging_shows_on_both_pages_and_undo_restores_them(site: Site) -> None:
    """On SQLite and PostgreSQL: merge B into A with the plain form, then undo it."""
    a = profile(site.engine, "Dana Whitfield", tier="vip", prospect=False, accounts=(("x", "dana_w"),))
    b = profile(site.engine, "dana w", accounts=(("reddit", "danaw"),))
    said(site.engine, a, ("from A on x", "neutral"))
    said(site.engine, b, ("from B on reddit", "negative"), platform="reddit", start=T0 + timedelta(days=2))
    agent = site.client("agent")

    response = post_form(agent, f"/profiles/{b}/merge", {"into": a})
    assert response.status_code == 303 and response.headers["location"] == f"/profiles/{a}"
    survivor = agent.get(f"/profiles/{a}").text
    assert "from A on x" in survivor and "from B on reddit" in survivor and "danaw" in survivor
    assert re.search(rf'dana w</a> \(#{b}\) into <a href="/profiles/{a}">Dana Whitfield', survivor)
    merged = agent.get(f"/profiles/{b}").text
    assert f'merged into <a href="/profiles/{a}">Dana Whitfield</a>' in merged
    assert "from B on reddit" not in merged  # the way to the survivor, not a copy of it
    assert b not in [p["id"] for p in agent.get("/api/v1/profiles").json()["items"]]

    merge_id = int(re.search(r'action="/profiles/merges/(\d+)/undo"', survivor).group(1))  # type: ignore[union-attr]
    undone = post_form(agent, f"/profiles/merges/{merge_id}/undo", headers={"Referer": f"http://testserver/profiles/{a}"})
    assert undone.status_code == 303 and undone.headers["location"] == f"/profiles/{a}"
    survivor = agent.get(f"/profiles/{a}").text
    assert "from A on x" in survivor and "from B on reddit" not in survivor and "danaw" not in survivor
    assert f'action="/profiles/merges/{merge_id}/undo"' not in survivor  # no second undo offered
    restored = agent.get(f"/profiles/{b}").text
    assert "merged into" not in restored and "from B on reddit" in restored and "danaw" in restored
    again = agent.post(f"/api/v1/profile-merges/{merge_id}/undo")
    assert again.status_code == 409 and "already undone" in again.json()["detail"]


def test_the_profile_to_merge_into_is_found_by_search_and_the_confirmation_names_both(web: Site) -> None:
    raj = profile(web.engine, "Raj Patel", accounts=(("x", "@raj_codes"),))
    kept = profile(web.engine, "Raj P.", accounts=(("reddit", "u/raj"),))
    agent = web.client("agent")

    page = html_lib.unescape(agent.get(f"/profiles/{raj}", params={"merge_q": "u/raj"}).text)
    assert f'data-candidate-id="{kept}"' in page and f'data-candidate-id="{raj}"' not in page
    assert f'name="into" value="{kept}"' in page
    assert 'data-confirm="Merge Raj Patel (@raj_codes) into Raj P. (u/raj)? You can undo it."' in page
    assert "No profile matches “nobody”" in agent.get(f"/profiles/{raj}", params={"merge_q": "nobody"}).text

    # Itself, through the plain form: the same page again with the reason next to that row's form.
    itself = post_form(agent, f"/profiles/{raj}/merge", {"into": raj},
                       headers={"Referer": f"http://testserver/profiles/{raj}?merge_q=raj"})
    assert itself.status_code == 409 and f'data-candidate-id="{raj}"' in itself.text
    assert "Raj Patel cannot be merged into itself" in html_lib.unescape(itself.text)
    assert f'data-form-error="/profiles/{raj}/merge"' in itself.text

    assert post_form(agent, f"/profiles/{raj}/merge", {"into": kept}).headers["location"] == f"/profiles/{kept}"
    again = agent.post(f"/api/v1/profiles/{raj}/merge", json={"into": kept})
    assert again.status_code == 409
    assert f"Raj Patel (profile {raj}) was already merged into Raj P. (profile {kept})" in again.json()["detail"]


def test_merge_and_undo_through_the_api(web: Site) -> None:
    a, b = profile(web.engine, "Alex One"), profile(web.engine, "Alex Two")
    said(web.engine, b, ("hello from two", "positive"))
    approver = web.client("approver")

    merge = approver.post(f"/api/v1/profiles/{b}/merge", json={"into": a}).json()
    assert (merge["survivor_id"], merge["merged_id"], merge["merged_by"]) == (a, b, "pat@lumen.test")
    assert "before" not in merge
    assert approver.get(f"/api/v1/profiles/{b}").json()["merged_into"] == a
    assert [e["text"] for e in approver.get(f"/api/v1/profiles/{a}").json()["timeline"]] == ["hello from two"]
    refused = approver.post(f"/api/v1/profiles/{a}/merge", json={"into": a})
    assert refused.status_code == 409 and "into itself" in refused.json()["detail"]
    assert approver.post(f"/api/v1/profiles/{a}/merge", json={}).status_code == 422

    undone = approver.post(f"/api/v1/profile-merges/{merge['id']}/undo").json()
    assert undone["merge"]["undone_by"] == "pat@lumen.test" and undone["kept_later_edits"] == []
    assert approver.get(f"/api/v1/profiles/{b}").json()["timeline"][0]["text"] == "hello from two"


def test_confirming_a_suggestion_links_the_profiles_and_dismissing_drops_it(web: Site) -> None:
    customer = profile(web.engine, "Dana Whitfield", prospect=False, accounts=(("x", "dana_w"),))
    prospect = profile(web.engine, "dana_w", accounts=(("reddit", "dana_w"),))
    stranger = profile(web.engine, "Dana W. Smith")
    said(web.engine, prospect, ("reddit says hi", "neutral"))
    confirm_id = suggest(web.engine, customer, prospect)
    dismiss_id = suggest(web.engine, customer, stranger, "similar display name")
    agent = web.client("agent")

    page = agent.get(f"/profiles/{prospect}").text
    assert f'id="suggestion-{confirm_id}"' in page and "same handle on x and reddit" in page
    assert f'action="/profiles/suggestions/{confirm_id}/confirm"' in page
    listing = agent.get("/profiles").text
    assert f'id="suggestion-{confirm_id}"' in listing and f'id="suggestion-{dismiss_id}"' in listing

    # From HTMX: no redirect, but a header that sends the page on to the profile that remains.
    response = agent.post(f"/profiles/suggestions/{confirm_id}/confirm", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/profiles/{customer}"
    survivor = agent.get(f"/profiles/{customer}").text
    assert "reddit says hi" in survivor and "from a suggestion" in survivor
    with Session(web.engine) as session:
        assert session.get(LinkSuggestion, confirm_id).status == "confirmed"  # type: ignore[union-attr]
        assert set(session.scalars(select(Mention.profile_id))) == {customer}

    dismissed = agent.post(f"/api/v1/profile-suggestions/{dismiss_id}/dismiss").json()
    assert (dismissed["status"], dismissed["decided_by"]) == ("dismissed", "ana@lumen.test")
    assert f'id="suggestion-{dismiss_id}"' not in agent.get(f"/profiles/{customer}").text
    again = agent.post(f"/api/v1/profile-suggestions/{dismiss_id}/confirm")
    assert again.status_code == 409 and "already dismissed" in again.json()["detail"]
    assert agent.post("/api/v1/profile-suggestions/999999/dismiss").status_code == 404


def test_a_manager_reads_profiles_but_may_not_change_them(web: Site) -> None:
    assert set(roles_allowed(Action.MANAGE_PROFILES)) == {Role.AGENT, Role.APPROVER, Role.ADMIN}
    a, b = profile(web.engine, "Alex One"), profile(web.engine, "Alex Two")
    suggestion = suggest(web.engine, a, b)
    manager = web.client("manager")

    page = manager.get(f"/profiles/{a}").text
    assert "Alex Two" in page  # the suggestion is shown...
    assert "/confirm" not in page and f'action="/profiles/{a}/merge"' not in page  # ...without the buttons
    assert post_form(manager, f"/profiles/{b}/merge", {"into": a}).status_code == 403
    assert manager.post(f"/api/v1/profiles/{b}/merge", json={"into": a}).status_code == 403
    assert manager.post(f"/api/v1/profile-suggestions/{suggestion}/confirm").status_code == 403
    with Session(web.engine) as session:
        assert session.get(LinkSuggestion, suggestion).status == "open"  # type: ignore[union-attr]


def test_hostile_names_and_mention_texts_are_escaped(web: Site) -> None:
    evil = profile(web.engine, HOSTILE, tier="vip", prospect=False, accounts=(("x", "evil"),))
    other = profile(web.engine, f"{HOSTILE} too")
    said(web.engine, evil, (f"{HOSTILE} my order", "negative"))
    suggest(web.engine, evil, other, f"bio says {HOSTILE}")
    client = web.client("agent")
    for path in ("/profiles", f"/profiles/{evil}", f"/profiles/{other}"):
        page = client.get(path).text
        assert HOSTILE not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
