"""Live without a reload (polling): the inbox's "N new" bar, never a jumping list; counts in the navigation."""

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
from tests.responders.helpers import add_mention
from tests.web.browser import LiveSite, screenshot, sign_in
from tests.web.conftest import TEAM, Site

pytestmark = pytest.mark.browser



def _new_open_mention(live: LiveSite, text: str, platform: str = "x") -> int:
    mention = add_mention(live.engine, text, platform=platform)
    with Session(live.engine) as session:
        stored = session.get(Mention, mention.id)
        assert stored is not None
        stored.status, stored.processing_state, stored.priority = "needs_reply", "done", 99.0
        session.add(stored)
        session.commit()
    return mention.id  # type: ignore[return-value]


def test_new_mentions_show_as_a_bar_and_the_list_moves_only_when_asked(browser: Any, live: LiveSite) -> None:
    page = sign_in(browser, live, "agent")
    rows = page.locator("tr[data-mention-id]")
    first_row = rows.first.get_attribute("data-mention-id")
    fresh = _new_open_mention(live, "Just arrived: my order never came")
    bar = page.locator("#new-bar")
    expect(bar).to_have_text("1 new mention: show them", timeout=15_000)
    expect(rows.first).to_have_attribute("data-mention-id", first_row or "")  # the list did not jump
    screenshot(page, "inbox-new-bar-1440")
    bar.get_by_role("button").click()
    expect(page.locator(f"#mention-row-{fresh}")).to_be_visible()
    expect(page.locator("#new-bar")).to_be_hidden()
    # A new mention the filters exclude is not counted.
    page.get_by_label("Platform").select_option("reddit")
    expect(page).to_have_url(re.compile(r"platform=reddit"))
    _new_open_mention(live, "Another one, on X")
    page.wait_for_timeout(7_000)
    expect(page.locator("#new-bar")).to_be_hidden()
    page.context.close()


def test_the_queue_count_in_the_navigation_follows_approvals(browser: Any, live: LiveSite) -> None:
    with Session(live.engine) as session:
        waiting = len(session.execute(select(Reply.id).where(Reply.state == workflow.PENDING)).all())
    page = sign_in(browser, live, "approver")
    count = page.locator('[data-live-count="queue"]')
    expect(count).to_have_text(f"({waiting})")
    mention_id = _new_open_mention(live, "Please help, the app crashes")
    with Session(live.engine) as session:
        agent = find_user(session, TEAM["agent"])
        reply = workflow.create_draft(session, session.get(Mention, mention_id), "We can help: DM us.", agent)  # type: ignore[arg-type]
        workflow.submit(session, live.settings, reply, agent)
        session.commit()
    expect(count).to_have_text(f"({waiting + 1})", timeout=15_000)
    page.context.close()


def test_the_new_count_endpoint_counts_only_matching_mentions_after_the_id(site: Site) -> None:
    client = site.client("agent")
    first = add_mention(site.engine, "first complaint")
    start = client.get("/inbox").text
    newest = int(re.search(r'data-newest-id="(\d+)"', start).group(1))  # type: ignore[union-attr]
    assert newest == first.id
    second = add_mention(site.engine, "second complaint", platform="reddit")
    for mention in (first, second):
        with Session(site.engine) as session:
            stored = session.get(Mention, mention.id)
            stored.status = "needs_reply"  # type: ignore[union-attr]
            session.add(stored)
            session.commit()
    assert client.get("/inbox/new", params={"after": newest}).json() == {"new": 1, "more": False,
                                                                          "newest": second.id}
    assert client.get("/inbox/new", params={"after": newest, "platform": "x"}).json()["new"] == 0
    assert client.get("/inbox/new", params={"after": newest, "q": "second"}).json()["new"] == 1
    stranger = site.client().get("/inbox/new", params={"after": 0}, follow_redirects=False)
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/signin")


def test_a_queue_longer_than_its_page_counts_every_reply_and_polls_in_the_page_order(
        site_factory: Any) -> None:
    from tests.responders.test_overdue_first import _waiting_reply

    site = site_factory(web={"queue_size": 5})
    with Session(site.engine) as session:
        # Seven waiting: by score alone the first five would be other ones than the queue's order gives.
        urgent_later = _waiting_reply(session, "urgent-later", 95.0, 5)
        urgent_overdue = _waiting_reply(session, "urgent-overdue", 72.0, -1)
        high_later = _waiting_reply(session, "high-later", 69.0, 2)
        high_no_due = _waiting_reply(session, "high-no-due", 68.0, None)
        high_also = _waiting_reply(session, "high-also", 67.0, None)
        high_overdue = _waiting_reply(session, "high-overdue", 46.0, -3)
        low_overdue = _waiting_reply(session, "low-overdue", 5.0, -10)
        session.commit()
    order = [urgent_overdue, urgent_later, high_overdue, high_later, high_no_due, high_also, low_overdue]
    approver = site.client("approver")
    page = approver.get("/queue").text
    shown = [int(i) for i in re.findall(r'id="reply-(\d+)" data-reply-id', page)]
    assert shown == order[:5]
    assert "7 replies waiting" in page and "the 5 most urgent shown here" in page
    versions = dict(re.findall(r'data-reply-id="(\d+)" data-version="(\d+)"', page))
    seen = [f"{reply_id}:{versions[str(reply_id)]}" for reply_id in shown]
    # Nothing changed: the poll finds nothing new (by score alone it would add high-also, the 5th by score).
    assert approver.get("/queue/live", params={"seen": seen}).json() == {"waiting": 7, "new": [], "changed": []}
    assert approver.get("/nav/counts").json()["queue"] == 7
    # One decided elsewhere: the next in the queue's order comes in, and the count follows.
    with Session(site.engine) as session:
        reply = session.get(Reply, urgent_overdue)
        workflow.reject(session, reply, find_user(session, TEAM["approver"]), "not our tone")  # type: ignore[arg-type]
        session.commit()
    live = approver.get("/queue/live", params={"seen": seen}).json()
    assert live["waiting"] == 6 and live["new"] == [high_also]
    assert [change["id"] for change in live["changed"]] == [urgent_overdue]
    with Session(site.engine) as session:
        for reply_id in (urgent_later, high_overdue):
            workflow.reject(session, session.get(Reply, reply_id), find_user(session, TEAM["approver"]),  # type: ignore[arg-type]
                            "not our tone")
        session.commit()
    short = approver.get("/queue").text
    assert "4 replies waiting" in short and "most urgent shown here" not in short
    assert [int(i) for i in re.findall(r'id="reply-(\d+)" data-reply-id', short)] == order[3:]
