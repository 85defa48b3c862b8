"""What each person sees, in Chromium: only the controls their role may use, plain words instead of internal
names, handles as each platform writes them, a mention's own thread, and digests of the period running now.

The server still refuses what a page no longer offers: those requests are posted directly, with the
signed-in browser's own cookies and CSRF token.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlmodel import Session

from listener.collecting import CollectionRunner
from listener.models import Mention
from listener.pipeline import processing_steps
from listener.processing import Processor
from responders import workflow
from responders.digests.periods import so_far
from responders.digests.render import count
from responders.staff import find_user
from tests.responders.helpers import add_mention
from tests.web.browser import LiveSite, screenshot, sign_in
from tests.web.conftest import TEAM

pytestmark = pytest.mark.browser

INTERNAL = re.compile(r"pending_approval|needs_reply|system:|reply\.[a-z]|mention\.[a-z]")


def _pending_reply(live: LiveSite, text: str, handle: str, by: str = "agent") -> tuple[int, int]:
    """A mention and a reply to it that ``by`` drafted and sent for approval: (mention id, reply id)."""
    mention = add_mention(live.engine, text, sentiment="negative", confidence=0.9, handle=handle)
    Processor(live.engine, processing_steps(live.settings)).run_until_empty()
    with Session(live.engine) as session:
        writer = find_user(session, TEAM[by])
        reply = workflow.create_draft(session, session.get(Mention, mention.id), "Sorry: we are on it.", writer)  # type: ignore[arg-type]
        workflow.submit(session, live.settings, reply, writer)
        session.commit()
        return mention.id, reply.id  # type: ignore[return-value]


def _post(page: Page, path: str, form: dict[str, str]) -> Any:
    """A form post the page does not offer, sent as the browser would: its cookies, its CSRF token."""
    token = json.loads(page.locator("body").get_attribute("hx-headers") or "{}")["X-CSRF-Token"]
    return page.request.post(path, form={**form, "csrf_token": token})


def test_a_manager_sees_no_control_a_manager_may_not_use_and_is_refused_when_forcing_one(
        browser: Any, live: LiveSite) -> None:
    mention_id, reply_id = _pending_reply(live, "Lumen Mobile cut my line without notice", "cut_off_cal")
    manager = sign_in(browser, live, "manager")
    manager.goto("/inbox?q=%40cut_off_cal")
    row = manager.locator(f"#mention-row-{mention_id}")
    expect(row).to_contain_text("cut my line")
    expect(row.get_by_role("button")).to_have_count(0)  # no Assign me, no Resolve
    expect(row.get_by_role("checkbox")).to_have_count(0)
    expect(manager.get_by_role("button", name="Apply to selected")).to_have_count(0)

    manager.goto("/queue")
    card = manager.locator(f"#reply-{reply_id}")
    expect(card).to_contain_text("Sorry: we are on it.")
    expect(card.get_by_role("button", name="Approve and send")).to_have_count(0)
    expect(card.get_by_role("button", name="Reject")).to_have_count(0)
    expect(card.locator("textarea")).not_to_be_editable()
    expect(manager.locator("main")).to_contain_text("Approvers approve, edit or reject them")

    manager.goto(f"/mentions/{mention_id}")
    main = manager.locator("main")
    expect(main.get_by_role("button", name="Set status")).to_have_count(0)
    expect(main.get_by_role("button", name="Assign")).to_have_count(0)
    expect(main.get_by_role("button", name="Save")).to_have_count(0)
    # The history and statuses in words: who did what, never reply.submit or pending_approval.
    expect(main.locator("section.history")).to_contain_text("Ana sent this reply for approval")
    expect(main.locator("section.answer")).to_contain_text("waiting for approval")
    assert not INTERNAL.search(main.inner_text()), INTERNAL.search(main.inner_text())
    screenshot(manager, "words-manager-mention-1440")

    refused = _post(manager, f"/replies/{reply_id}/approve", {"version": "1"})
    assert refused.status == 403 and "manager may not approve (allowed: approver)" in refused.text()
    refused = _post(manager, f"/mentions/{mention_id}/status", {"status": "resolved"})
    assert refused.status == 403 and "manager may not triage" in refused.text()
    with Session(live.engine) as session:
        assert workflow.get_reply(session, reply_id).state == "pending_approval"
        assert session.get(Mention, mention_id).status != "resolved"  # type: ignore[union-attr]
    manager.context.close()


def test_an_approver_gets_no_approve_button_on_their_own_reply_nor_twice_on_the_same_text(
        browser: Any, live: LiveSite) -> None:
    _, own_id = _pending_reply(live, "Lumen Mobile app logs me out hourly", "logged_out_lou", by="approver")
    _, other_id = _pending_reply(live, "Lumen Mobile overcharged roaming again", "roaming_rae")
    with Session(live.engine) as session:
        other = workflow.get_reply(session, other_id)
        other.required_approvals = 2  # high risk: two approvers
        session.add(other)
        session.commit()
    approver = sign_in(browser, live, "approver")
    approver.goto("/queue")
    own = approver.locator(f"#reply-{own_id}")
    expect(own).to_contain_text("You wrote this reply: someone else approves it.")
    expect(own.get_by_role("button", name="Approve and send")).to_have_count(0)

    other_card = approver.locator(f"#reply-{other_id}")
    other_card.get_by_role("button", name="Approve and send").click()
    other_card = approver.locator(f"#reply-{other_id}")
    expect(other_card).to_contain_text("1 of 2 approvals given (Pat).")
    expect(other_card).to_contain_text("You have approved this text")
    expect(other_card.get_by_role("button", name="Approve and send")).to_have_count(0)
    screenshot(approver, "words-approver-own-reply-1440")

    refused = _post(approver, f"/replies/{own_id}/approve", {})
    assert refused.status >= 400 and "someone else must approve it" in refused.text()
    again = _post(approver, f"/replies/{other_id}/approve", {})
    assert again.status >= 400 and "has already approved" in again.text()
    with Session(live.engine) as session:
        assert workflow.get_reply(session, own_id).state == "pending_approval"
        assert len(workflow.approvals(session, workflow.get_reply(session, other_id))) == 1
    approver.context.close()


def test_a_reddit_comment_shows_u_handles_and_only_its_own_chain_of_parents(browser: Any, live: LiveSite) -> None:
    title = "Lumen Mobile towers down in Raleigh?"
    post = live.reddit.add_post(title, "No Lumen Mobile signal downtown since noon.", "raleigh_rita", "cellphones")
    first = live.reddit.add_comment("Same here, Lumen Mobile shows SOS only.", "sos_sam", "cellphones",
                                    link_id=post["name"])
    sibling = live.reddit.add_comment("Lumen Mobile works fine for me in Durham.", "durham_dot", "cellphones",
                                      link_id=post["name"])
    deepest = live.reddit.add_comment("Lumen Mobile support told me it is a fiber cut.", "fiber_finn",
                                      "cellphones", parent_id=first["name"])
    CollectionRunner(live.engine, live.settings).run_all()
    Processor(live.engine, processing_steps(live.settings)).run_until_empty()
    with Session(live.engine) as session:
        ids = {name: session.execute(select(Mention.id).where(Mention.external_id == name)).scalar_one()
               for name in (post["name"], first["name"], sibling["name"], deepest["name"])}

    agent = sign_in(browser, live, "agent")
    agent.goto(f"/mentions/{ids[deepest['name']]}")
    expect(agent.locator("h1")).to_contain_text("u/fiber_finn")
    thread = agent.locator("section.thread blockquote")
    expect(thread).to_have_count(2)  # the post, then the comment this one answers
    expect(thread.nth(0)).to_contain_text("u/raleigh_rita")
    expect(thread.nth(0)).to_contain_text("No Lumen Mobile signal downtown")
    expect(thread.nth(1)).to_contain_text("u/sos_sam")
    expect(thread.nth(1)).to_contain_text("SOS only")
    # Scored by the real model: named in words, its version hash left to the API.
    expect(agent.locator(".sentiment-box")).to_contain_text("by Harken's built-in model")
    assert not re.search(r"\b[0-9a-f]{12}\b", agent.locator(".sentiment-box").inner_text())
    main = agent.locator("main").inner_text()
    assert "works fine for me in Durham" not in main  # a sibling comment answers someone else
    assert main.count(title) == 1 and "@fiber_finn" not in main and "@raleigh_rita" not in main
    screenshot(agent, "words-reddit-thread-1440")

    agent.goto(f"/mentions/{ids[post['name']]}")  # the post itself: its title once, no thread above it
    expect(agent.locator("section.thread")).to_have_count(0)
    assert agent.locator("main").inner_text().count(title) == 1
    agent.goto("/inbox?q=fiber+cut")
    expect(agent.locator(f"#mention-row-{ids[deepest['name']]} td.author")).to_have_text("u/fiber_finn")
    agent.context.close()


@pytest.mark.parametrize(("kind", "name"), [("today", "today so far"), ("this_week", "this week so far"),
                                             ("this_month", "this month so far")])
def test_the_digest_of_the_period_running_now_counts_its_mentions_in_the_readers_time_zone(
        browser: Any, live: LiveSite, kind: str, name: str) -> None:
    zone = "Pacific/Kiritimati"  # UTC+14: its today is not the server's
    with Session(live.engine) as session:
        manager_user = find_user(session, TEAM["manager"])
        manager_user.timezone = zone
        session.add(manager_user)
        session.commit()
    add_mention(live.engine, f"Lumen Mobile {kind} mention, just now", created_at=datetime.now(UTC))
    Processor(live.engine, processing_steps(live.settings)).run_until_empty()

    manager = sign_in(browser, live, "manager")
    manager.goto("/digest")
    manager.locator("select[name=period]").select_option(label=name)
    manager.get_by_role("button", name="Show", exact=True).click()
    expect(manager.locator("h1")).to_have_text(f"Digest: {name}")
    shown = manager.locator('[data-figure="mentions"]').first.inner_text()
    period = so_far(kind, zone)
    with Session(live.engine) as session:
        stored = session.execute(select(func.count(Mention.id)).where(  # type: ignore[arg-type]
            Mention.created_at >= period.start, Mention.created_at < period.end)).scalar_one()
    assert stored >= 1 and shown == count(stored)
    expect(manager.locator("select[name=period]")).to_have_value(kind)  # the choice stays chosen
    manager.context.close()


def test_the_past_periods_stay_beside_the_running_ones(browser: Any, live: LiveSite) -> None:
    manager = sign_in(browser, live, "manager")
    for kind in ("day", "week", "month", "30days"):  # the links alerts and emails carry
        manager.goto(f"/digest?period={kind}")
        expect(manager.locator("select[name=period]")).to_have_value(kind)
        expect(manager.locator("main .error")).to_have_count(0)
    options = manager.locator("select[name=period]").locator("option")
    expect(options).to_have_text(["today so far", "this week so far", "this month so far", "yesterday",
                                  "last week", "last month", "last 30 days"])
    manager.context.close()
