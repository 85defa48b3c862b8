"""The inbox's filters and actions, the mention page and the approval queue, through HTTP as a browser sends it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from listener.db import utcnow
from listener.models import AuditEvent, Mention, Reply
from responders import workflow
from tests.responders.helpers import add_mention, process
from tests.web.conftest import TEAM, Site


def _seed(site: Site) -> dict[str, int]:
    now = utcnow()
    ids = {
        "angry_x": add_mention(site.engine, "Lumen Mobile outage again, I want a refund", sentiment="negative",
                               confidence=0.95, followers=50_000, tier="vip", handle="vip_vera").id,
        "happy_reddit": add_mention(site.engine, "lumen mobile support was great today", platform="reddit",
                                    sentiment="positive", confidence=0.9, handle="glad_gus").id,
        "old_neutral": add_mention(site.engine, "Does lumen mobile sell 100% recycled cases?", sentiment="neutral",
                                   confidence=0.8, created_at=now - timedelta(days=10), handle="quiet_quinn").id,
        "unscored": add_mention(site.engine, "🙂🙂", handle="emoji_em").id,
    }
    process(site.engine, site.settings)
    return ids


def _ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [item["mention_id"] for item in response.json()["items"]]


def test_inbox_filters_combine_and_sort_by_priority(site: Site) -> None:
    ids = _seed(site)
    client = site.client("agent")
    everything = _ids(client.get("/api/v1/mentions"))
    assert set(everything) == set(ids.values())
    assert everything[0] == ids["angry_x"]  # a negative VIP complaint outranks the rest
    assert _ids(client.get("/api/v1/mentions", params={"platform": "reddit"})) == [ids["happy_reddit"]]
    assert _ids(client.get("/api/v1/mentions", params={"sentiment": "negative"})) == [ids["angry_x"]]
    assert _ids(client.get("/api/v1/mentions", params={"sentiment": "unscored"})) == [ids["unscored"]]
    assert _ids(client.get("/api/v1/mentions", params={"q": "REFUND"})) == [ids["angry_x"]]
    assert _ids(client.get("/api/v1/mentions", params={"q": "@vip_vera"})) == [ids["angry_x"]]
    assert _ids(client.get("/api/v1/mentions", params={"q": "vip_vera"})) == [ids["angry_x"]]
    assert _ids(client.get("/api/v1/mentions", params={"q": "@lumen"})) == []  # @ searches handles only
    # LIKE wildcards in the search are literal text.
    assert _ids(client.get("/api/v1/mentions", params={"q": "100%"})) == [ids["old_neutral"]]
    assert _ids(client.get("/api/v1/mentions", params={"q": "s_p"})) == []  # not "sup"port
    today = utcnow().date()
    assert ids["old_neutral"] not in _ids(client.get("/api/v1/mentions", params={"since": str(today)}))
    assert _ids(client.get("/api/v1/mentions", params={"until": str(today - timedelta(days=5))})) == \
        [ids["old_neutral"]]
    level = client.get("/api/v1/mentions").json()["items"][0]["priority_level"]
    assert ids["angry_x"] in _ids(client.get("/api/v1/mentions", params={"priority": level}))
    assert _ids(client.get("/api/v1/mentions", params={"platform": "reddit", "sentiment": "negative"})) == []


def test_inbox_rejects_unknown_filter_values_clearly(site: Site) -> None:
    client = site.client("agent")
    response = client.get("/api/v1/mentions", params={"platform": "myspace"})
    assert response.status_code == 409 and "unknown platform 'myspace'" in response.json()["detail"]
    page = client.get("/inbox", params={"status": "sleeping"})
    assert page.status_code == 409 and "unknown status" in page.text


def test_assign_resolve_and_the_assignee_filter(site: Site) -> None:
    ids = _seed(site)
    client = site.client("agent")
    row = client.post(f"/mentions/{ids['angry_x']}/assign", data={"assignee": "me"},
                      headers={"HX-Request": "true", "HX-Target": f"mention-row-{ids['angry_x']}"})
    assert row.status_code == 200 and f'id="mention-row-{ids["angry_x"]}"' in row.text and TEAM["agent"] in row.text
    assert _ids(client.get("/api/v1/mentions", params={"assignee": "me"})) == [ids["angry_x"]]
    assert _ids(client.get("/api/v1/mentions", params={"assignee": TEAM["agent"]})) == [ids["angry_x"]]
    assert ids["angry_x"] not in _ids(client.get("/api/v1/mentions", params={"assignee": "unassigned"}))
    client.post(f"/mentions/{ids['angry_x']}/status", data={"status": "resolved"})
    assert ids["angry_x"] not in _ids(client.get("/api/v1/mentions"))
    assert _ids(client.get("/api/v1/mentions", params={"status": "resolved"})) == [ids["angry_x"]]
    with Session(site.engine) as session:
        actions = [e.action for e in session.execute(
            select(AuditEvent).where(AuditEvent.object_type == "mention",
                                     AuditEvent.object_id == str(ids["angry_x"]),
                                     AuditEvent.actor == TEAM["agent"])).scalars()]
    assert actions == ["mention.assign", "mention.status"]


def test_bulk_actions_apply_to_all_selected_or_none(site: Site) -> None:
    ids = _seed(site)
    client = site.client("approver")
    chosen = [ids["happy_reddit"], ids["old_neutral"]]
    response = client.post("/inbox/bulk", data={"ids": [str(i) for i in chosen], "status": "resolved",
                                               "assignee": TEAM["agent"]}, headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Trigger"] == "inbox-changed"
    with Session(site.engine) as session:
        for mention_id in chosen:
            mention = session.get(Mention, mention_id)
            assert mention is not None and mention.status == "resolved" and mention.assignee_id is not None
    failed = client.post("/api/v1/mentions/bulk", json={"ids": [ids["angry_x"], 99_999], "status": "ignored"})
    assert failed.status_code == 404
    with Session(site.engine) as session:
        assert session.get(Mention, ids["angry_x"]).status != "ignored"  # type: ignore[union-attr]


def test_inbox_page_shows_rows_and_pages(site_factory) -> None:  # type: ignore[no-untyped-def]
    site = site_factory(web={"page_size": 5})
    for number in range(12):
        add_mention(site.engine, f"lumen mobile question number {number}", sentiment="neutral", confidence=0.7)
    process(site.engine, site.settings)
    client = site.client("agent")
    first = client.get("/inbox")
    assert first.text.count('data-mention-id="') == 5 and "Next →" in first.text and "← Previous" not in first.text
    third = client.get("/inbox", params={"offset": 10})
    assert third.text.count('data-mention-id="') == 2 and "Next →" not in third.text and "← Previous" in third.text
    empty = client.get("/inbox", params={"q": "nothing like this"})
    assert "No mentions match these filters." in empty.text


def test_mention_page_shows_thread_profile_history_and_suggestions(site: Site) -> None:
    post = add_mention(site.engine, "Is Lumen Mobile down for anyone?", platform="reddit", external_id="t3_abc",
                       handle="first_poster")
    comment = add_mention(site.engine, "Same here, lumen mobile has no signal", platform="reddit",
                          external_id="t1_def", sentiment="negative", confidence=0.9, handle="second_poster")
    with Session(site.engine) as session:
        stored = session.get(Mention, comment.id)
        stored.in_reply_to_external_id = "t3_abc"  # type: ignore[union-attr]
        stored.conversation_external_id = "t3_abc"  # type: ignore[union-attr]
        session.commit()
    process(site.engine, site.settings)
    page = site.client("agent").get(f"/mentions/{comment.id}")
    assert page.status_code == 200
    assert "Is Lumen Mobile down for anyone?" in page.text  # the thread
    assert "second_poster" in page.text and "Send for approval" in page.text
    assert f'href="/mentions/{post.id}"' in page.text


def test_correcting_sentiment_from_the_mention_page(site: Site) -> None:
    ids = _seed(site)
    client = site.client("agent")
    client.post(f"/mentions/{ids['old_neutral']}/sentiment", data={"label": "negative"})
    assert _ids(client.get("/api/v1/mentions", params={"sentiment": "negative"})) == [ids["angry_x"],
                                                                                       ids["old_neutral"]]
    manager = site.client("manager")
    assert manager.post(f"/mentions/{ids['old_neutral']}/sentiment", data={"label": "positive"}).status_code == 403


def _pending(site: Site, mention_id: int, text: str = "Sorry! DM us your number.") -> Reply:
    with Session(site.engine, expire_on_commit=False) as session:
        agent = session.get(type(site.team["agent"]), site.team["agent"].id)
        reply = workflow.create_draft(session, session.get(Mention, mention_id), text, agent)  # type: ignore[arg-type]
        workflow.submit(session, site.settings, reply, agent)  # type: ignore[arg-type]
        session.commit()
        return reply


def test_edit_then_approve_is_one_action_and_keeps_the_original(site: Site) -> None:
    ids = _seed(site)
    reply = _pending(site, ids["happy_reddit"])
    client = site.client("approver")
    queue = client.get("/queue")
    assert f'id="reply-{reply.id}"' in queue.text and "Approve and send" in queue.text
    card = client.post(f"/replies/{reply.id}/approve", data={"text": "Thanks Gus, glad we could help!"},
                       headers={"HX-Request": "true"})
    assert card.status_code == 200 and "approved" in card.text
    with Session(site.engine) as session:
        stored = session.get(Reply, reply.id)
        assert stored is not None and stored.state == "approved"
        assert stored.text == "Thanks Gus, glad we could help!" and stored.original_text == "Sorry! DM us your number."
        assert [e.action for e in session.execute(
            select(AuditEvent).where(AuditEvent.object_type == "reply", AuditEvent.object_id == str(reply.id))
            .order_by(AuditEvent.id)).scalars()][-2:] == ["reply.edit", "reply.approve"]


def test_reject_needs_a_reason_and_says_so(site: Site) -> None:
    ids = _seed(site)
    reply = _pending(site, ids["angry_x"])
    client = site.client("approver")
    refused = client.post(f"/replies/{reply.id}/reject", data={"reason": "  "}, headers={"HX-Request": "true"})
    assert refused.status_code == 409 and "say why the reply is rejected" in refused.text
    done = client.post(f"/api/v1/replies/{reply.id}/reject", json={"reason": "Tone is off for a VIP"})
    assert done.status_code == 200 and done.json()["state"] == "rejected"
    assert done.json()["rejected_reason"] == "Tone is off for a VIP"
    again = client.post(f"/api/v1/replies/{reply.id}/approve", json={})
    assert again.status_code == 409 and "cannot approve" in again.json()["detail"]


def test_queue_lists_alternatives_and_sending_status(site: Site) -> None:
    ids = _seed(site)
    reply = _pending(site, ids["angry_x"])
    client = site.client("approver")
    listed = client.get("/api/v1/replies").json()["items"]
    assert [item["id"] for item in listed] == [reply.id]
    assert listed[0]["alternatives"], "the mention's other suggestions are offered"
    # A negative VIP complaint is high risk: one approval is not enough, the card says so.
    first = client.post(f"/replies/{reply.id}/approve", headers={"HX-Request": "true"})
    assert "1 of 2 approvals given" in first.text and "high risk" in first.text
    reply = _pending(site, ids["happy_reddit"])
    assert client.post(f"/api/v1/replies/{reply.id}/approve", json={}).json()["state"] == "approved"
    status = client.get("/queue/status")
    assert f'id="moving-{reply.id}"' in status.text and 'data-state="approved"' in status.text


def test_links_from_digests_and_alerts_open_the_inbox_on_exact_moments(site: Site) -> None:
    """Digest and alert links carry ISO 8601 moments, every status, and a source: the inbox honours them."""
    ids = _seed(site)
    client = site.client("manager")
    client.headers.pop("X-CSRF-Token", None)
    with Session(site.engine) as session:
        created = session.get(Mention, ids["angry_x"]).created_at  # type: ignore[union-attr]
    window = {"status": "all", "sentiment": "negative", "since": (created - timedelta(minutes=1)).isoformat(),
              "until": (created + timedelta(minutes=1)).isoformat()}
    assert _ids(client.get("/api/v1/mentions", params=window)) == [ids["angry_x"]]
    assert _ids(client.get("/api/v1/mentions", params=window | {"until": created.isoformat()})) == []
    page = client.get("/inbox", params=window)
    assert page.status_code == 200 and f'data-mention-id="{ids["angry_x"]}"' in page.text
    assert f'name="since" value="{(created - timedelta(minutes=1)).date().isoformat()}"' in page.text
    assert _ids(client.get("/api/v1/mentions", params={"status": "all", "source": "x:search:nothing"})) == []
    bad = client.get("/api/v1/mentions", params={"since": "yesterday"})
    assert bad.status_code == 409 and "is not a date" in bad.json()["detail"]


def test_pages_name_platforms_as_people_do(site: Site) -> None:
    """"Reddit" and "X" on the page, as the registry titles them; the lower-case id only in the markup."""
    ids = _seed(site)
    client = site.client("agent")
    inbox = client.get("/inbox").text
    row = inbox.split(f'id="mention-row-{ids["happy_reddit"]}"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="platform reddit">Reddit</span>' in row
    row = inbox.split(f'id="mention-row-{ids["angry_x"]}"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="platform x">X</span>' in row
    assert '<option value="reddit" >Reddit</option>' in inbox  # the platform filter
    mention = client.get(f"/mentions/{ids['happy_reddit']}").text
    assert "on Reddit</h1>" in mention and "on reddit</h1>" not in mention
