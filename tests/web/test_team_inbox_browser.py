"""The inbox as a team's shared workplace, in Chromium against a live Harken (issue 17).

Filters live in the address: Back, Forward and a reload bring back the list and the filter
controls, and the next change keeps them. No page logs a Content-Security-Policy error
(no inline styles) after filtering, Back, Forward and reload. Saved views round trip
(save, use, rename, delete; each person's own). Overdue first within a priority level, in
the inbox and the approval queue. At 390 px the navigation folds behind a menu button that
works from the keyboard, and no main page is wider than the screen; each main page is
photographed at 1440 and 390 px into tests/artifacts/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlmodel import Session

from listener.db import utcnow
from listener.models import CustomerProfile, Mention
from responders import workflow
from responders.staff import find_user
from tests.responders.helpers import add_mention
from tests.web.browser import LiveSite, screenshot, sign_in
from tests.web.conftest import TEAM

pytestmark = pytest.mark.browser

NARROW = 390


def _main_pages(live: LiveSite) -> dict[str, str]:
    """Every main page, by a name for its screenshot."""
    with Session(live.engine) as session:
        profile_id = session.execute(select(CustomerProfile.id).order_by(CustomerProfile.id)).scalars().first()
    return {"inbox": "/inbox", "mention": f"/mentions/{live.hostile_mention_id}", "queue": "/queue",
            "profiles": "/profiles", "profile": f"/profiles/{profile_id}", "digest": "/digest", "alerts": "/alerts",
            "admin": "/admin", "account": "/account"}


def _csp_errors(page: Page) -> list[str]:
    """The Content-Security-Policy complaints the browser logs on this page from now on (a list that grows)."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)
    return found


def _through_history(page: Page, step: Any) -> None:
    """Back, Forward or reload, waited for until the page is a fresh one from the server (htmx keeps no copies
    of pages: on Back and Forward within the inbox it reloads the address)."""
    page.evaluate("window.__before = true")
    step()
    page.wait_for_function("window.__before === undefined")
    page.wait_for_load_state("load")


def _platforms(page: Page) -> set[str]:
    return set(page.locator("#inbox-results tr[data-mention-id] span.platform").all_inner_texts())


def test_filters_live_in_the_address_and_back_forward_reload_restore_list_and_controls(
        browser: Any, live: LiveSite) -> None:
    page = sign_in(browser, live, "agent")
    complaints = _csp_errors(page)
    filters = page.locator("#filters")  # each inbox row has a sentiment control of its own too
    platform, sentiment, priority = (filters.get_by_label("Platform"), filters.get_by_label("Sentiment"),
                                     filters.get_by_label("Priority"))
    platform.select_option("reddit")
    expect(page).to_have_url(re.compile(r"platform=reddit"))
    expect(page.locator("#inbox-results tr[data-mention-id]").first).to_be_visible()
    assert _platforms(page) == {"Reddit"}
    sentiment.select_option("negative")
    expect(page).to_have_url(re.compile(r"platform=reddit.*sentiment=negative"))

    _through_history(page, page.go_back)
    expect(page).to_have_url(re.compile(r"platform=reddit&(?!.*sentiment=negative)"))
    expect(platform).to_have_value("reddit")  # the control shows the filter the list has
    expect(sentiment).to_have_value("")
    assert _platforms(page) == {"Reddit"}
    # The next change keeps the restored filter.
    priority.select_option("high")
    expect(page).to_have_url(re.compile(r"platform=reddit.*priority=high"))
    assert _platforms(page) <= {"Reddit"}
    assert {text.split()[0] for text in page.locator("#inbox-results tr[data-mention-id] .prio").all_inner_texts()} \
        <= {"high"}

    _through_history(page, page.go_back)
    expect(priority).to_have_value("")
    expect(platform).to_have_value("reddit")
    _through_history(page, page.go_back)
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(platform).to_have_value("")
    _through_history(page, page.go_forward)
    expect(platform).to_have_value("reddit")
    _through_history(page, page.go_forward)
    expect(priority).to_have_value("high")
    _through_history(page, page.reload)
    expect(platform).to_have_value("reddit")
    expect(priority).to_have_value("high")
    # Typed search text is in the address too, and comes back.
    page.get_by_label("Text").fill("refund")
    expect(page).to_have_url(re.compile(r"q=refund"))
    _through_history(page, page.go_back)
    expect(page.get_by_label("Text")).to_have_value("")
    _through_history(page, page.go_forward)
    expect(page.get_by_label("Text")).to_have_value("refund")
    expect(platform).to_have_value("reddit")
    assert complaints == []
    page.context.close()


def test_no_page_logs_a_csp_error_after_filtering_back_forward_and_reload(browser: Any, live: LiveSite) -> None:
    page = sign_in(browser, live, "admin")
    complaints = _csp_errors(page)
    for name, path in _main_pages(live).items():
        page.goto(path)
        if name == "inbox":
            page.locator("#filters").get_by_label("Sentiment").select_option("negative")
            expect(page).to_have_url(re.compile(r"sentiment=negative"))
        else:
            # The page's own filter form if it has one (digest, alerts, profiles); else on to the inbox and back.
            filters = page.locator("main form[method=get]")
            if filters.count():
                with page.expect_navigation():
                    filters.first.evaluate("form => form.requestSubmit()")
            else:
                page.goto("/inbox")
        _through_history(page, page.go_back)
        _through_history(page, page.go_forward)
        _through_history(page, page.reload)
        assert complaints == [], f"{name}: {complaints[:3]}"
    page.context.close()


def test_a_saved_view_round_trip(browser: Any, live: LiveSite) -> None:
    page = sign_in(browser, live, "agent")
    page.get_by_label("Platform").select_option("reddit")
    expect(page).to_have_url(re.compile(r"platform=reddit"))
    page.locator("#filters").get_by_label("Sentiment").select_option("negative")
    expect(page).to_have_url(re.compile(r"sentiment=negative"))
    page.get_by_label("Save these filters as").fill("Angry on Reddit")
    page.get_by_role("button", name="Save view").click()
    view = page.locator(".view-list").get_by_role("link", name="Angry on Reddit")
    expect(view).to_have_attribute("aria-current", "true")

    # Elsewhere, then one click brings the filters back.
    page.get_by_label("Platform").select_option("")
    expect(page).to_have_url(re.compile(r"platform=&"))
    page.locator("#filters").get_by_label("Sentiment").select_option("")
    expect(page).to_have_url(re.compile(r"sentiment=&"))
    expect(view).not_to_have_attribute("aria-current", "true")
    view.click()
    expect(page.get_by_label("Platform")).to_have_value("reddit")
    expect(page.locator("#filters").get_by_label("Sentiment")).to_have_value("negative")
    assert _platforms(page) <= {"Reddit"}

    # The same name again is refused next to the form, and what was typed stays.
    page.get_by_label("Save these filters as").fill("Angry on Reddit")
    page.get_by_role("button", name="Save view").click()
    saved = page.locator(".saved-views")
    expect(saved.locator(".inline-error")).to_contain_text("already have a view named 'Angry on Reddit'")
    expect(page.get_by_label("Save these filters as")).to_have_value("Angry on Reddit")

    # Rename, then delete.
    page.get_by_text("Rename or delete views").click()
    page.get_by_label("Name of “Angry on Reddit”").fill("Reddit complaints")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator(".view-list").get_by_role("link", name="Reddit complaints")).to_be_visible()

    # Each person's own: the admin does not see it.
    admin = sign_in(browser, live, "admin")
    expect(admin.locator(".view-list")).to_have_count(0)
    assert admin.request.get("/api/v1/views").json() == {"items": []}
    admin.context.close()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_text("Rename or delete views").click()
    page.get_by_role("button", name="Delete “Reddit complaints”").click()
    expect(page.locator(".view-list")).to_have_count(0)
    page.context.close()


def _mention_due(live: LiveSite, text: str, priority: float, due_in: timedelta) -> int:
    mention = add_mention(live.engine, text)
    with Session(live.engine) as session:
        stored = session.get(Mention, mention.id)
        assert stored is not None
        stored.status, stored.processing_state = "needs_reply", "done"
        stored.priority, stored.priority_level, stored.sla_due_at = priority, "high", utcnow() + due_in
        session.add(stored)
        session.commit()
    return mention.id  # type: ignore[return-value]


def test_overdue_comes_first_among_rows_of_equal_level(browser: Any, live: LiveSite) -> None:
    ahead = _mention_due(live, "zeppelin order one: still waiting", 69.0, timedelta(hours=5))
    overdue = _mention_due(live, "zeppelin order two: still waiting", 46.0, timedelta(hours=-1))
    page = sign_in(browser, live, "approver")
    page.goto("/inbox?q=zeppelin")
    rows = page.locator("#inbox-results tr[data-mention-id]")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-mention-id") for i in range(2)] == [str(overdue), str(ahead)]
    expect(rows.first.locator(".sla")).to_have_class(re.compile(r"overdue"))
    # In the approval queue too.
    with Session(live.engine) as session:
        agent = find_user(session, TEAM["agent"])
        replies = {}
        for mention_id in (ahead, overdue):
            reply = workflow.create_draft(session, session.get(Mention, mention_id), "We are on it.", agent)  # type: ignore[arg-type]
            workflow.submit(session, live.settings, reply, agent)
            replies[mention_id] = reply.id
        session.commit()
    page.goto("/queue")
    cards = page.locator(f"#reply-{replies[overdue]}, #reply-{replies[ahead]}")
    expect(cards).to_have_count(2)
    assert cards.first.get_attribute("id") == f"reply-{replies[overdue]}"
    page.context.close()


def test_at_390_px_the_navigation_is_a_menu_that_works_from_the_keyboard(browser: Any, live: LiveSite) -> None:
    page = sign_in(browser, live, "admin", width=NARROW)
    menu = page.get_by_role("button", name="Menu")
    queue_link = page.get_by_role("navigation", name="Pages").get_by_role("link", name=re.compile("Approval queue"))
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(queue_link).to_be_hidden()
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(queue_link).to_be_visible()
    screenshot(page, "menu-open-390")
    page.keyboard.press("Escape")
    expect(queue_link).to_be_hidden()
    expect(menu).to_be_focused()
    page.keyboard.press("Space")
    queue_link.click()
    expect(page).to_have_url(re.compile(r"/queue$"))
    # The inbox's rows are cards: the column headings are for screen readers, each row fits the screen.
    page.goto("/inbox")
    expect(page.locator("table.inbox th").first).not_to_be_in_viewport()
    row = page.locator("#inbox-results tr[data-mention-id]").first
    box = row.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW
    page.context.close()


@pytest.mark.parametrize("width", [1440, NARROW])
def test_no_main_page_is_wider_than_the_screen_and_each_is_photographed(browser: Any, live: LiveSite,
                                                                        width: int) -> None:
    page = sign_in(browser, live, "admin", width=width)
    for name, path in _main_pages(live).items():
        page.goto(path)
        page.wait_for_load_state("load")
        scroll_width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= screen, f"{name} at {width} px is {scroll_width} px wide"
        screenshot(page, f"{name}-{width}")
    page.context.close()
