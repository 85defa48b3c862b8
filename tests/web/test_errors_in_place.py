"""Errors appear next to what the person acted on, stay until they no longer apply, and cost no typed text.

In Chromium against a live Harken: a refused approval on a queue card shows in that
card (a second one on another card does not wipe the first), the edited text stays
in the box; "Apply to selected" with nothing ticked says so in the bulk form; a date
range error shows in the filters and goes once the dates are fixed; a reply refused
on the mention page (someone else answered first) leaves the draft in its box.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select
from sqlmodel import Session

from listener.demo import running_simulators
from listener.models import Mention, Reply
from responders import workflow
from responders.staff import find_user
from tests.web.browser import LiveSite, launch, live_site, screenshot
from tests.web.conftest import PASSWORD, TEAM

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with running_simulators() as platforms, live_site(
        tmp_path_factory.mktemp("errors") / "harken.db", platforms["x"], platforms["reddit"]
    ) as site:
        yield site


@pytest.fixture(scope="module")
def browser(live: LiveSite) -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def _signed_in(browser: Any, live: LiveSite, role: str) -> Page:
    context = browser.new_context(base_url=live.url, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto("/signin")
    page.get_by_label("Email").fill(TEAM[role])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    return page


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


def test_a_refused_approval_shows_in_its_card_and_keeps_the_edit(browser: Any, live: LiveSite) -> None:
    own_mention, other_mention = _unanswered(live, 2)
    own = _submitted(live, own_mention, "approver", "Our reply, drafted by the approver.")
    other = _submitted(live, other_mention, "agent", "Sorry about that, please DM us.")
    page = _signed_in(browser, live, "approver")
    page.goto("/queue")

    card = page.locator(f"#reply-{own}")
    card.locator("textarea").fill("Edited words the approver typed")
    card.get_by_role("button", name="Approve and send").click()
    expect(card.locator(".inline-error")).to_contain_text("someone else must approve it")
    expect(card.locator("textarea")).to_have_value("Edited words the approver typed")
    expect(page.locator("#flash")).to_have_text("")

    # Someone rejects the other reply meanwhile; approving it from this older page is refused in its own card,
    # and the first card's message is still there.
    with Session(live.engine) as session:
        workflow.reject(session, workflow.get_reply(session, other), find_user(session, TEAM["approver"]),
                        "tone is wrong")
        session.commit()
    other_card = page.locator(f"#reply-{other}")
    other_card.get_by_role("button", name="Approve and send").click()
    expect(other_card.locator(".inline-error")).to_be_visible()
    expect(other_card.locator(".inline-error")).not_to_be_empty()
    expect(card.locator(".inline-error")).to_contain_text("someone else must approve it")
    screenshot(page, "queue-errors-1440")
    page.context.close()


def test_inbox_errors_show_in_the_form_that_caused_them_and_go_when_fixed(browser: Any, live: LiveSite) -> None:
    page = _signed_in(browser, live, "agent")
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
    page = _signed_in(browser, live, "agent")
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
