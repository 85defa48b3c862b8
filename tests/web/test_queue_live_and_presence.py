"""What the queue and mention pages poll, through HTTP on both databases: who is at work on which mention
(presence, across web processes), the queue's new and changed cards, and a retry stating its version.

The same in Chromium with two people's browsers is tests/web/test_team_queue_browser.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from listener.db import make_engine, utcnow
from listener.models import Mention, StaffUser
from responders import presence, workflow
from responders.staff import find_user
from responders.web.app import create_app
from tests.responders.helpers import add_mention
from tests.web.conftest import TEAM, Site, csrf_of, sign_in


def _pending(site: Site, text: str = "Sorry: we are on it.") -> int:
    mention = add_mention(site.engine, f"@lumenmobile {text} please", sentiment="negative", confidence=0.9)
    with Session(site.engine) as session:
        agent = find_user(session, TEAM["agent"])
        reply = workflow.create_draft(session, session.get(Mention, mention.id), text, agent)  # type: ignore[arg-type]
        workflow.submit(session, site.settings, reply, agent)
        session.commit()
        return reply.id  # type: ignore[return-value]


def test_a_heartbeat_shows_who_is_replying_to_everyone_else_until_they_stop(site: Site) -> None:
    mention_id = add_mention(site.engine, "@lumenmobile no signal").id
    approver, agent = site.client("approver"), site.client("agent")
    assert approver.post("/presence", json={"mention_id": mention_id, "activity": "replying"}).status_code == 204
    assert agent.get("/presence", params={"mention": [mention_id]}).json() == {
        "present": {str(mention_id): ["Pat is replying"]}}
    assert approver.get("/presence", params={"mention": [mention_id]}).json() == {"present": {}}  # not oneself

    assert agent.post("/presence", json={"mention_id": mention_id, "activity": "editing"}).status_code == 204
    assert approver.get("/presence", params={"mention": [mention_id]}).json()["present"] == {
        str(mention_id): ["Ana is editing"]}
    assert approver.post("/presence/stop", json={"mention_id": mention_id}).status_code == 204
    assert agent.get("/presence", params={"mention": [mention_id]}).json() == {"present": {}}


def test_presence_is_shared_by_every_web_process_and_expires_without_a_stop(site: Site, db_url: str) -> None:
    mention_id = add_mention(site.engine, "@lumenmobile roaming is broken").id
    other_engine = make_engine(db_url)
    try:
        other_process = TestClient(create_app(site.settings, other_engine), base_url="http://testserver")
        assert sign_in(other_process, TEAM["agent"]).status_code == 303
        other_process.headers["X-CSRF-Token"] = csrf_of(other_process.get("/inbox").text)
        assert other_process.post("/presence", json={"mention_id": mention_id}).status_code == 204
    finally:
        other_engine.dispose()
    approver = site.client("approver")
    assert approver.get("/presence", params={"mention": [mention_id]}).json()["present"] == {
        str(mention_id): ["Ana is replying"]}

    # Ana's tab closed without a word: once her heartbeats are older than the expiry, nobody sees her.
    with Session(site.engine) as session:
        pat = find_user(session, TEAM["approver"])
        later = utcnow() + presence.EXPIRES_AFTER + timedelta(seconds=1)
        assert presence.present(session, [mention_id], besides=pat, now=later) == {}
        assert presence.present(session, [mention_id], besides=pat) == {mention_id: ["Ana is replying"]}


def test_a_heartbeat_for_nothing_real_is_refused_plainly(site: Site) -> None:
    client = site.client("agent")
    unknown = client.post("/presence", json={"mention_id": 999_999})
    assert unknown.status_code == 404 and "no mention 999999" in unknown.text
    mention_id = add_mention(site.engine, "@lumenmobile hi").id
    odd = client.post("/presence", json={"mention_id": mention_id, "activity": "lurking"})
    assert odd.status_code == 409 and "unknown activity &#39;lurking&#39;: one of replying, editing" in odd.text
    forged = TestClient(site.app, base_url="http://testserver")
    assert sign_in(forged, TEAM["agent"]).status_code == 303
    assert forged.post("/presence", json={"mention_id": mention_id}).status_code == 403  # no CSRF token


def test_the_queue_poll_names_new_replies_and_the_cards_someone_changed(site: Site) -> None:
    shown, other = _pending(site, "Sorry: refund sent."), _pending(site, "Sorry: line restored.")
    approver = site.client("approver")
    page = approver.get("/queue").text
    seen = re.findall(r'data-reply-id="(\d+)" data-version="(\d+)"', page)
    assert {int(reply_id) for reply_id, _ in seen} == {shown, other}
    pairs = [f"{reply_id}:{version}" for reply_id, version in seen]
    assert approver.get("/queue/live", params={"seen": pairs}).json() == {"waiting": 2, "new": [], "changed": []}

    arrived = _pending(site, "Sorry: a technician comes today.")
    with Session(site.engine) as session:
        dana = StaffUser(email="dana@lumen.test", name="Dana", role="approver")
        session.add(dana)
        session.flush()
        workflow.reject(session, workflow.get_reply(session, shown), dana, "tone")
        session.commit()
    live = approver.get("/queue/live", params={"seen": pairs}).json()
    assert live["waiting"] == 2 and live["new"] == [arrived]
    assert live["changed"] == [{"id": shown, "version": 3, "by": "Dana rejected this reply just now"}]
    card = approver.get(f"/queue/cards/{arrived}")
    assert card.status_code == 200 and f'id="reply-{arrived}"' in card.text and "a technician comes today" in card.text

    bad = approver.get("/queue/live", params={"seen": ["one:1"]})
    assert bad.status_code == 409 and "seen: &#39;one:1&#39; is not a reply id and its version" in bad.text


def test_a_retry_states_its_version_and_a_stale_one_is_refused_naming_who(site: Site) -> None:
    reply_id = _pending(site)
    with Session(site.engine) as session:
        reply = workflow.get_reply(session, reply_id)
        workflow.approve(session, site.settings, reply, find_user(session, TEAM["approver"]))
        workflow.begin_attempt(session, reply)
        workflow.mark_failed(session, reply, "the platform refused it: 403")
        session.commit()
        seen = reply.version
    approver = site.client("approver")
    status = approver.get("/queue/status").text
    assert f'action="/replies/{reply_id}/retry"' in status and f'name="version" value="{seen}"' in status

    assert approver.post(f"/api/v1/replies/{reply_id}/retry", json={"version": seen}).status_code == 200
    with Session(site.engine) as session:  # the sender tried again and it failed again
        reply = workflow.get_reply(session, reply_id)
        workflow.begin_attempt(session, reply)
        workflow.mark_failed(session, reply, "the platform refused it again: 403")
        session.commit()
    stale = approver.post(f"/api/v1/replies/{reply_id}/retry", json={"version": seen})
    assert stale.status_code == 409
    assert stale.json()["detail"].startswith("Harken (sender) could not send this reply just now; your change was "
                                             "made on an older version")
    form = approver.post(f"/replies/{reply_id}/retry", data={"version": str(seen)}, follow_redirects=False)
    assert form.status_code == 409 and "your change was made on an older version" in form.text
    with Session(site.engine) as session:
        assert workflow.get_reply(session, reply_id).state == workflow.FAILED


def test_the_queue_key_list_offers_each_role_only_the_keys_it_may_use(site: Site) -> None:
    approver_keys = site.client("approver").get("/queue").text
    agent_keys = site.client("agent").get("/queue").text
    for key in ("j", "k", "Enter", "?"):
        assert f"<kbd>{key}</kbd>" in approver_keys and f"<kbd>{key}</kbd>" in agent_keys
    for key in ("a", "e", "r"):
        assert f"<kbd>{key}</kbd>" in approver_keys and f"<kbd>{key}</kbd>" not in agent_keys
