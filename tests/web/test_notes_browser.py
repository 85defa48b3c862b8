"""Internal notes in Chromium, two people at once: an agent's note mentioning Dana reaches Dana's navigation
while she works elsewhere, opening it clears the count; "@da" offers Dana (never a deactivated colleague);
a refused note keeps its text and says why in the form; hostile text stays text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlmodel import Session

from listener.models import Mention, StaffUser
from tests.web.browser import HOSTILE, LiveSite, demo_site, screenshot, sign_in
from tests.web.conftest import add_staff

pytestmark = pytest.mark.browser

DANA = "dana@lumen.test"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with demo_site(tmp_path_factory.mktemp("notes")) as site:
        with Session(site.engine) as session:
            add_staff(session, DANA, "Dana", "approver")
            session.add(StaffUser(email="dave@lumen.test", name="Dave", role="agent", active=False))
            session.commit()
        yield site


def _mention_ids(live: LiveSite, count: int) -> list[int]:
    with Session(live.engine) as session:
        return list(session.execute(select(Mention.id).where(Mention.id != live.hostile_mention_id)
                                    .order_by(Mention.id).limit(count)).scalars())


def test_a_note_mentioning_dana_reaches_her_navigation_and_opening_it_clears_the_count(
        browser: Any, live: LiveSite) -> None:
    (mention_id,) = _mention_ids(live, 1)
    dana = sign_in(browser, live, DANA)
    count = dana.locator('[data-live-count="mentions"]')
    expect(count).to_have_text("(0)")

    agent = sign_in(browser, live, "agent")
    agent.goto(f"/mentions/{mention_id}")
    box = agent.locator("#note-text")
    box.press_sequentially("@da")
    offered = agent.get_by_role("listbox", name="Colleagues to mention").get_by_role("option")
    expect(offered).to_have_text(["Dana (dana@lumen.test)"])  # Dave is deactivated: not offered
    screenshot(agent, "note-suggestions-1440")
    offered.first.click()
    expect(box).to_have_value("@Dana ")
    box.press_sequentially("can you check the refund?")
    agent.get_by_role("button", name="Add note").click()
    note = agent.locator("#notes .note").last
    expect(note.locator(".note-text")).to_have_text("@Dana can you check the refund?")
    expect(note.locator("mark.at")).to_have_text("@Dana")
    expect(note.locator(".note-meta")).to_contain_text("Ana")
    expect(agent.locator("#note-text")).to_have_value("")  # drawn again, empty, ready for the next
    screenshot(agent, "mention-notes-1440")

    expect(count).to_have_text("(1)", timeout=15_000)  # within the polling interval, without a reload
    dana.get_by_role("link", name=re.compile(r"^Mentions")).click()
    listed = dana.locator(".mentions-of-you .note").first
    expect(listed).to_contain_text("@Dana can you check the refund?")
    expect(listed).to_contain_text("Ana")
    screenshot(dana, "mentions-of-you-1440")
    listed.get_by_role("link", name=re.compile(r"^mention ")).click()
    expect(dana).to_have_url(re.compile(rf"/mentions/{mention_id}#note-\d+$"))
    expect(dana.locator('[data-live-count="mentions"]')).to_have_text("(0)")
    expect(dana.locator("#notes")).to_contain_text("@Dana can you check the refund?")
    agent.context.close()
    dana.context.close()


def test_a_refused_note_keeps_its_text_hostile_text_stays_text_and_the_author_deletes_their_note(
        browser: Any, live: LiveSite) -> None:
    (_, mention_id) = _mention_ids(live, 2)
    page = sign_in(browser, live, "agent")
    page.goto(f"/mentions/{mention_id}")
    form = page.locator("form.note-form")
    too_long = "The customer called twice about the same refund. " * 45
    page.locator("#note-text").fill(too_long)
    form.get_by_role("button", name="Add note").click()
    expect(form.locator(".inline-error")).to_contain_text("at most 2,000 characters")
    expect(page.locator("#note-text")).to_have_value(too_long)
    expect(page).to_have_url(re.compile(rf"/mentions/{mention_id}$"))

    page.locator("#note-text").fill(HOSTILE)
    form.get_by_role("button", name="Add note").click()
    note = page.locator("#notes .note").last
    expect(note.locator(".note-text")).to_have_text(HOSTILE)
    expect(page.locator("form.note-form .inline-error")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None

    note.get_by_role("button", name="Delete note by Ana").click()
    expect(page.locator("#notes")).to_contain_text("No notes yet.")
    page.context.close()
