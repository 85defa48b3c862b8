"""Collision safety: a change made on a stale version of a mention is refused, saying who changed what.

Through HTTP as the API and an inbox row's HTMX request send it; the same in Chromium with two people's
browsers is in tests/web/test_collisions_browser.py.
"""

from __future__ import annotations

from sqlmodel import Session

from listener.models import Mention
from tests.responders.helpers import add_mention, process
from tests.web.conftest import TEAM, Site


def _mention(site: Site) -> int:
    mention_id = add_mention(site.engine, "Lumen Mobile outage again, I want a refund", sentiment="negative",
                             confidence=0.95, handle="vip_vera").id
    process(site.engine, site.settings)
    return mention_id  # type: ignore[no-any-return]


def _version(client, mention_id: int) -> int:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/mentions/{mention_id}")
    assert response.status_code == 200, response.text
    return response.json()["mention"]["version"]  # type: ignore[no-any-return]


def test_api_refuses_an_assign_made_on_a_stale_version_and_names_who_took_it(site: Site) -> None:
    mention_id = _mention(site)
    agent, approver = site.client("agent"), site.client("approver")
    seen_by_both = _version(agent, mention_id)

    taken = agent.post(f"/api/v1/mentions/{mention_id}/assign", json={"assignee": "me", "version": seen_by_both})
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee"] == TEAM["agent"] and taken.json()["version"] == seen_by_both + 1

    stale = approver.post(f"/api/v1/mentions/{mention_id}/assign", json={"assignee": "me", "version": seen_by_both})
    assert stale.status_code == 409
    assert stale.json()["detail"].startswith("Ana took this mention just now")
    assert stale.json()["current"]["assignee"] == TEAM["agent"]  # the state to show instead
    resolved = approver.post(f"/api/v1/mentions/{mention_id}/status",
                             json={"status": "resolved", "version": seen_by_both})
    assert resolved.status_code == 409 and "Ana took this mention" in resolved.json()["detail"]
    with Session(site.engine) as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None and mention.assignee_id == site.team["agent"].id and mention.status == "assigned"

    # On the current version the same change goes through; it names the status change to the next stale one.
    current = _version(approver, mention_id)
    assert approver.post(f"/api/v1/mentions/{mention_id}/status",
                         json={"status": "resolved", "version": current}).status_code == 200
    late = agent.post(f"/api/v1/mentions/{mention_id}/status", json={"status": "waiting", "version": current})
    assert late.status_code == 409 and late.json()["detail"].startswith("Pat set this mention to resolved")


def test_api_without_a_version_changes_as_before(site: Site) -> None:
    mention_id = _mention(site)
    client = site.client("agent")
    before = _version(client, mention_id)
    response = client.post(f"/api/v1/mentions/{mention_id}/assign", json={"assignee": "me"})
    assert response.status_code == 200 and response.json()["assignee"] == TEAM["agent"]
    assert _version(client, mention_id) == before + 1


def test_a_stale_row_action_answers_with_the_message_and_the_row_as_it_is_now(site: Site) -> None:
    mention_id = _mention(site)
    agent, approver = site.client("agent"), site.client("approver")
    seen = _version(approver, mention_id)
    assert agent.post(f"/mentions/{mention_id}/assign", data={"assignee": "me", "version": str(seen)}).status_code \
        in (200, 303)
    stale = approver.post(f"/mentions/{mention_id}/assign", data={"assignee": "me", "version": str(seen)},
                          headers={"HX-Request": "true", "HX-Target": f"mention-row-{mention_id}"})
    assert stale.status_code == 409
    assert "Ana took this mention just now" in stale.text
    assert f'id="mention-row-{mention_id}"' in stale.text and TEAM["agent"] in stale.text
    assert f'name="version" value="{seen + 1}"' in stale.text  # the refreshed row acts on the current version
