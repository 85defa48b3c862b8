"""Collision safety in Chromium: two people's browsers acting on the same mention.

The older page's action is refused where it was made, says who changed the item, and the item on that
screen is refreshed to its current state (and works from there).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session

from listener.demo import running_simulators
from listener.models import Mention
from listener.pipeline import processing_steps
from listener.processing import Processor
from tests.responders.helpers import add_mention
from tests.web.browser import LiveSite, launch, live_site, screenshot
from tests.web.conftest import PASSWORD, TEAM

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with running_simulators() as platforms, live_site(
        tmp_path_factory.mktemp("collide") / "harken.db", platforms["x"], platforms["reddit"]
    ) as site:
        yield site


@pytest.fixture(scope="module")
def browser(live: LiveSite) -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def _signed_in(browser: Any, live: LiveSite, role: str) -> Page:
    """Each person in their own browser context: their own cookies, as on their own computer."""
    context = browser.new_context(base_url=live.url, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto("/signin")
    page.get_by_label("Email").fill(TEAM[role])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    return page


def test_the_older_pages_assign_is_refused_and_says_who_took_it(browser: Any, live: LiveSite) -> None:
    mention = add_mention(live.engine, "Lumen Mobile charged me twice this month", sentiment="negative",
                          confidence=0.9, handle="double_billed_dee")
    Processor(live.engine, processing_steps(live.settings)).run_until_empty()
    inbox = "/inbox?q=%40double_billed_dee"
    agent, approver = _signed_in(browser, live, "agent"), _signed_in(browser, live, "approver")
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
