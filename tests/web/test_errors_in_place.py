"""Errors appear next to what the person acted on, stay until they no longer apply, and cost no typed text.

In Chromium against a live Harken: a refused approval on a queue card shows in that
card (a second one on another card does not wipe the first), the edited text stays
in the box; "Apply to selected" with nothing ticked says so in the bulk form; a date
range error shows in the filters and goes once the dates are fixed; a reply refused
on the mention page (someone else answered first) leaves the draft in its box.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlmodel import Session

from listener.models import Mention, Reply
from responders import workflow
from responders.staff import find_user
from tests.web.browser import LiveSite, screenshot, sign_in
from tests.web.conftest import TEAM, add_staff

pytestmark = pytest.mark.browser



def _unanswered(live: LiveSite, count: int) -> list[int]:
    with Session(live.engine) as session:
        return list(session.execute(
            select(Mention.id).where(Mention.status.in_(["new", "needs_reply"]),  # type: ignore[attr-defined]
                                     Mention.id.not_in(select(Reply.mention_id)),  # type: ignore[union-attr]
                                     Mention.id != live.hostile_mention_id)
            .order_by(Mention.id).limit(count)).scalars())


def _submitted(live: LiveSite, mention_id: int, role: str, text: str) -> int:
    with Session(live.engine) as session:
        user = find_user(session, TEAM[role])
        reply = workflow.create_draft(session, session.get(Mention, mention_id), text, user)  # type: ignore[arg-type]
        workflow.submit(session, live.settings, reply, user)
        session.commit()
        return reply.id  # type: ignore[return-value]


def test_a_refused_decision_shows_in_its_card_and_keeps_what_was_typed(browser: Any, live: LiveSite) -> None:
    own_mention, first_mention, second_mention = _unanswered(live, 3)
    own = _submitted(live, own_mention, "approver", "Our reply, drafted by the approver.")
    first = _submitted(live, first_mention, "agent", "Sorry about that, please DM us.")
    second = _submitted(live, second_mention, "agent", "Thanks, we are looking into it.")
    page = sign_in(browser, live, "approver")
    page.goto("/queue")
    # Approval is offered only where it can count: not on the approver's own reply.
    expect(page.locator(f"#reply-{own}").get_by_role("button", name="Approve and send")).to_have_count(0)
    expect(page.locator(f"#reply-{own}")).to_contain_text("You wrote this reply: someone else approves it.")

    # While the approver types in both cards (so the live queue keeps them as typed, static/live.js), another
    # tab or person rejects both replies.
    card = page.locator(f"#reply-{first}")
    card.locator("textarea").fill("Edited words the approver typed")
    other = page.locator(f"#reply-{second}")
    other.get_by_label("Reason for rejecting").fill("too casual for this customer")
    with Session(live.engine) as session:
        approver = find_user(session, TEAM["approver"])
        workflow.reject(session, workflow.get_reply(session, first), approver, "tone is wrong")
        workflow.reject(session, workflow.get_reply(session, second), approver, "facts are wrong")
        session.commit()

    card.get_by_role("button", name="Approve and send").click()
    # Made on the page's older version of the reply: the message says who changed it (responders.versions).
    expect(card.locator(".inline-error")).to_contain_text("Pat rejected this reply just now")
    expect(card.locator("textarea")).to_have_value("Edited words the approver typed")
    expect(page.locator("#flash")).to_have_text("")

    other.get_by_role("button", name="Reject").click()
    expect(other.locator(".inline-error")).to_contain_text("reject")
    expect(other.get_by_label("Reason for rejecting")).to_have_value("too casual for this customer")
    expect(card.locator(".inline-error")).to_contain_text("Pat rejected this reply")  # the first is still there
    screenshot(page, "queue-errors-1440")
    page.context.close()


def test_inbox_errors_show_in_the_form_that_caused_them_and_go_when_fixed(browser: Any, live: LiveSite) -> None:
    page = sign_in(browser, live, "agent")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator("#bulk .inline-error")).to_have_text(
        "Select at least one mention first: tick its box, or press x on its row.")

    page.locator("input[name=since]").fill("2026-10-20")
    page.locator("input[name=until]").fill("2026-10-10")
    expect(page.locator("#filters .inline-error")).to_contain_text("the date range ends before it starts")
    page.locator("input[name=until]").fill("2026-10-30")
    expect(page.locator("#filters .inline-error")).to_have_count(0)
    page.context.close()


def test_a_reply_refused_on_the_mention_page_keeps_the_draft(browser: Any, live: LiveSite) -> None:
    (mention_id,) = _unanswered(live, 1)
    page = sign_in(browser, live, "agent")
    page.goto(f"/mentions/{mention_id}")
    draft = "A long, careful answer the agent typed while someone else was answering too."
    page.locator("#reply-text-own").fill(draft)
    _submitted(live, mention_id, "approver", "The approver answered first.")  # the other person, meanwhile
    page.locator("#reply-text-own").locator("xpath=ancestor::form").get_by_role(
        "button", name="Send for approval").click()
    form = page.locator("#reply-text-own").locator("xpath=ancestor::form")
    expect(form.locator(".inline-error")).to_contain_text("already has reply")
    expect(page.locator("#reply-text-own")).to_have_value(draft)
    expect(page).to_have_url(re.compile(rf"/mentions/{mention_id}$"))
    page.context.close()


def test_the_approval_panel_names_who_approved_which_revision_and_warns_before_an_edit_voids_it(
        browser: Any, live: LiveSite) -> None:
    (mention_id,) = _unanswered(live, 1)
    reply_id = _submitted(live, mention_id, "agent", "We are sorry: a refund is on its way.")
    with Session(live.engine) as session:
        add_staff(session, "dana@lumen.test", "Dana", "approver")
        reply = workflow.get_reply(session, reply_id)
        reply.required_approvals = 2
        session.add(reply)
        workflow.approve(session, live.settings, reply, find_user(session, TEAM["approver"]))  # Pat: 1 of 2
        session.commit()
    TEAM["dana"] = "dana@lumen.test"
    try:
        pat = sign_in(browser, live, "approver")
        pat.goto("/queue")
        card = pat.locator(f"#reply-{reply_id}")
        expect(card.locator("ul.approvals")).to_contain_text("Pat approved revision 1")
        expect(card).to_contain_text("1 of 2 approvals given (Pat).")
        expect(card.get_by_role("button", name="Approve and send")).to_have_count(0)  # would not count twice
        expect(card).to_contain_text("You have approved this text")

        dana_page = sign_in(browser, live, "dana")
        dana_page.goto("/queue")
        card = dana_page.locator(f"#reply-{reply_id}")
        warning = card.locator(".voids-warning")
        expect(warning).to_be_hidden()
        card.locator("textarea").fill("We are sorry: your refund was sent today.")
        expect(warning).to_be_visible()
        expect(warning).to_have_text("Saving an edit voids Pat's approval of this text: the edited reply needs "
                                     "that approval again.")
        card.get_by_role("button", name="Approve and send").click()
        card = dana_page.locator(f"#reply-{reply_id}")
        expect(card.locator("ul.approvals")).to_contain_text("Pat approved revision 1")
        expect(card.locator("ul.approvals")).to_contain_text("(voided by Dana's edit after it)")
        expect(card.locator("ul.approvals")).to_contain_text("Dana approved revision 2")
        expect(card).to_contain_text("1 of 2 approvals given (Dana).")
        screenshot(dana_page, "queue-approval-panel-1440")
        pat.context.close()
        dana_page.context.close()
    finally:
        TEAM.pop("dana", None)


def test_main_pages_at_1440_and_390_pixels_load_without_console_errors(browser: Any, live: LiveSite) -> None:
    """Screenshots of each main page at both widths (tests/artifacts/); a CSP violation would be a console error."""
    (mention_id,) = _unanswered(live, 1)
    for width in (1440, 390):
        page = sign_in(browser, live, "admin")
        page.set_viewport_size({"width": width, "height": 900})
        errors: list[str] = []
        page.on("console", lambda message, errors=errors: errors.append(message.text)
                if message.type == "error" else None)
        for name, path in (("inbox", "/inbox"), ("inbox-overdue", "/inbox?overdue=true&status=all"),
                           ("queue", "/queue"), ("mention", f"/mentions/{mention_id}"), ("profiles", "/profiles"),
                           ("digest", "/digest"), ("admin", "/admin"), ("account", "/account")):
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("networkidle")
            screenshot(page, f"{name}-{width}")
        assert not errors, errors
        page.context.close()
