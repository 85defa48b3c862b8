"""Collision safety in Chromium: two people's browsers acting on the same mention.

The older page's action is refused where it was made, says who changed the item, and the item on that
screen is refreshed to its current state (and works from there).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from listener.models import Mention
from listener.pipeline import processing_steps
from listener.processing import Processor
from responders import workflow
from responders.staff import find_user
from tests.responders.helpers import add_mention
from tests.web.browser import LiveSite, screenshot, sign_in
from tests.web.conftest import TEAM, add_staff

pytestmark = pytest.mark.browser



def test_the_older_pages_assign_is_refused_and_says_who_took_it(browser: Any, live: LiveSite) -> None:
    mention = add_mention(live.engine, "Lumen Mobile charged me twice this month", sentiment="negative",
                          confidence=0.9, handle="double_billed_dee")
    Processor(live.engine, processing_steps(live.settings)).run_until_empty()
    inbox = "/inbox?q=%40double_billed_dee"
    agent, approver = sign_in(browser, live, "agent"), sign_in(browser, live, "approver")
    agent.goto(inbox)
    approver.goto(inbox)  # both see the mention unassigned

    agent_row = agent.locator(f"#mention-row-{mention.id}")
    agent_row.get_by_role("button", name="Assign me").click()
    expect(agent.locator(f"#mention-row-{mention.id}")).to_contain_text(TEAM["agent"])

    approver.locator(f"#mention-row-{mention.id}").get_by_role("button", name="Assign me").click()
    row = approver.locator(f"#mention-row-{mention.id}")
    expect(row.locator(".inline-error")).to_contain_text("Ana took this mention just now")
    expect(row).to_contain_text(TEAM["agent"])  # the screen now shows who has it
    screenshot(approver, "collision-assign-refused-1440")
    with Session(live.engine) as session:
        stored = session.get(Mention, mention.id)
        assert stored is not None and stored.assignee_id is not None
        assert stored.status == "assigned"
    expect(row.locator(".inline-error")).to_have_count(1)

    # Having seen it, the approver can still act on the current state: the refreshed row works.
    row.get_by_role("button", name="Resolve").click()
    expect(approver.locator(f"#mention-row-{mention.id}")).to_contain_text("resolved")
    expect(approver.locator(f"#mention-row-{mention.id} .inline-error")).to_have_count(0)
    agent.context.close()
    approver.context.close()


def _new_mention(live: LiveSite, text: str, handle: str) -> int:
    mention = add_mention(live.engine, text, sentiment="negative", confidence=0.9, handle=handle)
    Processor(live.engine, processing_steps(live.settings)).run_until_empty()
    return mention.id  # type: ignore[return-value]


def test_an_edit_and_approve_on_a_reply_another_approver_approved_meanwhile_says_so(
        browser: Any, live: LiveSite) -> None:
    mention_id = _new_mention(live, "Lumen Mobile lost my number port", "ported_pia")
    with Session(live.engine) as session:
        add_staff(session, "dana@lumen.test", "Dana", "approver")
        agent = find_user(session, TEAM["agent"])
        reply = workflow.create_draft(session, session.get(Mention, mention_id), "Sorry: we are on it.", agent)  # type: ignore[arg-type]
        workflow.submit(session, live.settings, reply, agent)
        reply.required_approvals = 2
        session.add(reply)
        session.commit()
        reply_id = reply.id
    pat, dana_page = sign_in(browser, live, "approver"), sign_in(browser, live, "dana@lumen.test")
    pat.goto("/queue")
    dana_page.goto("/queue")  # both see the reply with no approval yet

    # Dana is typing her edit (so her live queue keeps the card as she typed it) when Pat approves.
    edited = "Sorry: your number is ported back as of today."
    card = dana_page.locator(f"#reply-{reply_id}")
    card.locator("textarea").fill(edited)
    pat.locator(f"#reply-{reply_id}").get_by_role("button", name="Approve and send").click()
    expect(pat.locator(f"#reply-{reply_id}")).to_contain_text("1 of 2 approvals given (Pat).")

    card.get_by_role("button", name="Approve and send").click()
    card = dana_page.locator(f"#reply-{reply_id}")
    expect(card.locator(".inline-error")).to_contain_text("Pat approved this reply (1 of 2 approvals given) just now")
    expect(card).to_contain_text("1 of 2 approvals given (Pat).")  # the refreshed card shows whose
    expect(card.locator("textarea")).to_have_value(edited)  # Dana's edit is still there to decide on
    expect(card.locator(".voids-warning")).to_be_visible()  # and now says what saving it would void
    expect(card).to_contain_text(f"{len(edited)} / 280 weighted characters")  # counted as the kept text
    screenshot(dana_page, "collision-approve-refused-1440")
    with Session(live.engine) as session:
        stored = workflow.get_reply(session, reply_id)  # type: ignore[arg-type]
        assert stored.text == "Sorry: we are on it." and stored.revision == 1  # Pat's approval was not voided
        assert len(workflow.approvals(session, stored)) == 1
    pat.context.close()
    dana_page.context.close()


def test_a_second_person_sending_a_reply_on_the_same_mention_keeps_the_draft_and_is_told(
        browser: Any, live: LiveSite) -> None:
    mention_id = _new_mention(live, "Lumen Mobile roaming bill is wrong", "roaming_ron")
    agent, approver = sign_in(browser, live, "agent"), sign_in(browser, live, "approver")
    agent.goto(f"/mentions/{mention_id}")
    approver.goto(f"/mentions/{mention_id}")
    approver.locator("#reply-text-own").fill("The approver's answer, sent first.")
    approver.locator("#reply-text-own").locator("xpath=ancestor::form").get_by_role(
        "button", name="Send for approval").click()
    expect(approver.get_by_text("The approver's answer, sent first.").first).to_be_visible()

    draft = "The agent's own careful answer, typed at the same time."
    agent.locator("#reply-text-own").fill(draft)
    form = agent.locator("#reply-text-own").locator("xpath=ancestor::form")
    form.get_by_role("button", name="Send for approval").click()
    expect(form.locator(".inline-error")).to_contain_text("already has reply")
    expect(agent.locator("#reply-text-own")).to_have_value(draft)
    agent.context.close()
    approver.context.close()
