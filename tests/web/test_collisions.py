"""Collision safety: a change made on a stale version of a mention is refused, saying who changed what.

Through HTTP as the API and an inbox row's HTMX request send it; the same in Chromium with two people's
browsers is in tests/web/test_collisions_browser.py.
"""

from __future__ import annotations

from sqlmodel import Session

from listener.models import Mention
from responders import workflow
from responders.staff import find_user
from tests.responders.helpers import add_mention, process
from tests.web.conftest import TEAM, Site, add_staff


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


def _pending_reply(site: Site, required_approvals: int = 2) -> int:
    mention_id = _mention(site)
    with Session(site.engine) as session:
        agent = find_user(session, TEAM["agent"])
        reply = workflow.create_draft(session, session.get(Mention, mention_id), "Sorry: a refund is on its way.",  # type: ignore[arg-type]
                                      agent)
        workflow.submit(session, site.settings, reply, agent)
        reply.required_approvals = required_approvals
        session.add(reply)
        session.commit()
        return reply.id  # type: ignore[return-value]


def _reply_version(client, reply_id: int) -> int:  # type: ignore[no-untyped-def]
    items = client.get("/api/v1/replies").json()["items"]
    return next(item["version"] for item in items if item["id"] == reply_id)  # type: ignore[no-any-return]


def test_api_refuses_an_edit_and_approve_made_on_a_reply_another_approver_approved_meanwhile(site: Site) -> None:
    reply_id = _pending_reply(site)
    dana = _second_approver(site)
    pat = site.client("approver")
    seen_by_both = _reply_version(pat, reply_id)

    first = pat.post(f"/api/v1/replies/{reply_id}/approve", json={"version": seen_by_both})
    assert first.status_code == 200 and first.json()["state"] == "pending_approval"  # 1 of 2

    stale = dana.post(f"/api/v1/replies/{reply_id}/approve",
                      json={"text": "Sorry: your refund was sent today.", "version": seen_by_both})
    assert stale.status_code == 409
    assert stale.json()["detail"].startswith("Pat approved this reply (1 of 2 approvals given) just now")
    assert stale.json()["current"]["text"] == "Sorry: a refund is on its way."
    with Session(site.engine) as session:
        reply = workflow.get_reply(session, reply_id)
        assert reply.text == "Sorry: a refund is on its way." and reply.revision == 1  # Pat's approval stands
        assert [a.approver_id for a in workflow.approvals(session, reply)] == [site.team["approver"].id]

    rejected = dana.post(f"/api/v1/replies/{reply_id}/reject", json={"reason": "tone", "version": seen_by_both})
    assert rejected.status_code == 409 and "Pat approved this reply" in rejected.json()["detail"]
    # Seen the current version, Dana's decision counts.
    approved = dana.post(f"/api/v1/replies/{reply_id}/approve", json={"version": _reply_version(dana, reply_id)})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"


def test_a_stale_queue_card_decision_answers_with_the_message_and_the_card_as_it_is_now(site: Site) -> None:
    reply_id = _pending_reply(site)
    dana = _second_approver(site)
    pat = site.client("approver")
    seen = _reply_version(pat, reply_id)
    assert pat.post(f"/replies/{reply_id}/approve", data={"version": str(seen)}).status_code in (200, 303)
    stale = dana.post(f"/replies/{reply_id}/approve", data={"text": "Edited by Dana", "version": str(seen)},
                      headers={"HX-Request": "true", "HX-Target": f"reply-{reply_id}"})
    assert stale.status_code == 409 and "Pat approved this reply" in stale.text
    assert f'id="reply-{reply_id}"' in stale.text and f'name="version" value="{seen + 1}"' in stale.text


def _second_approver(site: Site):  # type: ignore[no-untyped-def]
    """Dana, a second approver, signed in (two-approver replies need two people)."""
    with Session(site.engine) as session:
        add_staff(session, "dana@lumen.test", "Dana", "approver")
        session.commit()
    return site.client("dana@lumen.test")


def test_bulk_change_with_one_stale_mention_changes_none_and_names_it(site: Site) -> None:
    first, second = _mention(site), _mention(site)
    agent, approver = site.client("agent"), site.client("approver")
    seen = {first: _version(approver, first), second: _version(approver, second)}
    assert agent.post(f"/api/v1/mentions/{second}/assign", json={"assignee": "me"}).status_code == 200

    api = approver.post("/api/v1/mentions/bulk", json={"ids": [first, second], "status": "ignored",
                                                       "versions": [{"id": k, "version": v} for k, v in seen.items()]})
    assert api.status_code == 409 and api.json()["detail"].startswith(f"mention {second}: Ana took this mention")
    page = approver.post("/inbox/bulk", data={"ids": [str(first), str(second)], "status": "ignored",
                                              "versions": [f"{k}:{v}" for k, v in seen.items()]},
                         headers={"HX-Request": "true"})
    assert page.status_code == 409 and f"mention {second}: Ana took this mention" in page.text
    with Session(site.engine) as session:
        assert session.get(Mention, first).status != "ignored"  # type: ignore[union-attr]
        assert session.get(Mention, second).status == "assigned"  # type: ignore[union-attr]

    bad = approver.post("/inbox/bulk", data={"ids": [str(first)], "status": "ignored", "versions": ["first:1"]})
    assert bad.status_code == 409 and "first:1&#39; is not a mention id and its version (id:version)" in bad.text


def test_the_mention_page_states_the_version_its_triage_forms_were_drawn_on(site: Site) -> None:
    mention_id = _mention(site)
    agent, approver = site.client("agent"), site.client("approver")
    page = approver.get(f"/mentions/{mention_id}").text
    assert page.count(f'name="version" value="{_version(approver, mention_id)}"') == 3  # status, assign, sentiment
    seen = _version(approver, mention_id)
    assert agent.post(f"/api/v1/mentions/{mention_id}/assign", json={"assignee": "me"}).status_code == 200
    stale = approver.post(f"/mentions/{mention_id}/status", data={"status": "ignored", "version": str(seen)})
    assert stale.status_code == 409 and "Ana took this mention just now" in stale.text
