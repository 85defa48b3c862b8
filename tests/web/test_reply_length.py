"""A reply box counts as the platform counts, shows the limit and will not submit over it.

The count is the server's own rule (``Platform.reply_length``), asked of
``/api/v1/length``: on X a CJK character weighs two and a link 23, so a reply of
150 CJK characters is 300 of X's 280 although it is 150 characters long.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlmodel import Session

from listener.models import Mention, Reply
from listener.platforms import get_platform
from tests.web.browser import LiveSite, screenshot, sign_in
from tests.web.conftest import Site

CJK_OVER = "谢" * 150  # 150 characters, weighing 300 on X
CJK_FITS = "谢" * 100  # 200 on X


def test_the_length_api_counts_as_the_platform_does(site: Site) -> None:
    client = site.client("agent")
    x = get_platform("x")
    answer = client.get("/api/v1/length", params={"platform": "x", "text": CJK_OVER}).json()
    assert answer == {"platform": "x", "length": x.reply_length(CJK_OVER), "limit": x.reply_limit,
                      "unit": x.length_unit, "over": True, "left": x.reply_limit - x.reply_length(CJK_OVER)}
    assert answer["length"] == 300 and len(CJK_OVER) == 150
    link = "see https://example.com/a/very/long/path/that/is/much/longer/than/twenty/three"
    posted = client.post("/api/v1/length", json={"platform": "x", "text": link}).json()
    assert posted["length"] == x.reply_length(link) < len(link)
    reddit = client.post("/api/v1/length", json={"platform": "reddit", "text": CJK_OVER}).json()
    assert reddit["length"] == 150 and reddit["over"] is False


def test_the_length_api_refuses_what_it_cannot_answer(site: Site) -> None:
    agent = site.client("agent")
    unknown = agent.get("/api/v1/length", params={"platform": "myspace", "text": "hi"})
    assert unknown.status_code == 404 and "unknown platform 'myspace'" in unknown.text
    assert site.client("manager").get("/api/v1/length", params={"platform": "x"}).status_code == 403
    assert site.client().get("/api/v1/length", params={"platform": "x"}).status_code == 401
    # A cookie session posting without its CSRF token is refused, as every state-changing request is.
    agent.headers.pop("X-CSRF-Token")
    assert agent.post("/api/v1/length", json={"platform": "x", "text": "hi"}).status_code == 403



def _open_mention(live: LiveSite, platform: str) -> Mention:
    with Session(live.engine) as session:
        return session.execute(
            select(Mention).where(Mention.platform == platform,
                                  Mention.status.in_(["new", "needs_reply"]),  # type: ignore[attr-defined]
                                  Mention.id.not_in(select(Reply.mention_id)),  # type: ignore[union-attr]
                                  Mention.id != live.hostile_mention_id)
            .order_by(Mention.id).limit(1)
        ).scalars().one()


@pytest.mark.browser
def test_a_reply_box_counts_as_x_does_and_will_not_send_over_the_limit(browser: Any, live: LiveSite) -> None:
    mention = _open_mention(live, "x")
    page = sign_in(browser, live, "agent")
    page.goto(f"/mentions/{mention.id}")
    own = page.locator("#reply-text-own")
    counter = page.locator('output[data-length-for="reply-text-own"]')
    send = own.locator("xpath=ancestor::form").get_by_role("button", name="Send for approval")
    expect(counter).to_have_text("0 / 280 weighted characters")

    own.fill(CJK_OVER)
    expect(counter).to_have_text("300 / 280 weighted characters: 20 over the limit")
    expect(send).to_be_disabled()
    expect(own).to_have_attribute("aria-invalid", "true")
    screenshot(page, "reply-length-over-1440")
    # Even a submit that goes around the button (Enter, a script) is stopped before it leaves the page.
    own.evaluate("area => area.form.requestSubmit()")
    page.wait_for_timeout(300)
    expect(page).to_have_url(re.compile(rf"/mentions/{mention.id}$"))
    with Session(live.engine) as session:
        assert session.execute(select(Reply).where(Reply.mention_id == mention.id)).first() is None

    own.fill(CJK_FITS)
    expect(counter).to_have_text("200 / 280 weighted characters")
    expect(send).to_be_enabled()
    send.click()
    expect(page.locator("section.answer")).to_contain_text("waiting for approval")
    with Session(live.engine) as session:
        reply = session.execute(select(Reply).where(Reply.mention_id == mention.id)).scalars().one()
        assert reply.text == CJK_FITS
    page.context.close()


@pytest.mark.browser
def test_a_reddit_box_counts_characters_and_the_queue_card_counts_its_edit(browser: Any, live: LiveSite) -> None:
    mention = _open_mention(live, "reddit")
    agent = sign_in(browser, live, "agent", width=390)
    agent.goto(f"/mentions/{mention.id}")
    agent.locator("#reply-text-own").fill(CJK_OVER)
    limit = get_platform("reddit").reply_limit
    expect(agent.locator('output[data-length-for="reply-text-own"]')).to_have_text(f"150 / {limit} characters")
    screenshot(agent, "reply-length-390")
    agent.locator("#reply-text-own").locator("xpath=ancestor::form").get_by_role(
        "button", name="Send for approval").click()
    expect(agent.locator("section.answer")).to_contain_text("waiting for approval")
    with Session(live.engine) as session:
        reply = session.execute(select(Reply).where(Reply.mention_id == mention.id)).scalars().one()
    agent.context.close()

    approver = sign_in(browser, live, "approver")
    approver.goto("/queue")
    card = approver.locator(f"#reply-{reply.id}")
    counter = card.locator(f'output[data-length-for="text-{reply.id}"]')
    expect(counter).to_have_text(f"150 / {limit} characters")
    card.locator("textarea").fill("x" * (limit + 5))
    expect(counter).to_have_text(f"{limit + 5} / {limit} characters: 5 over the limit")
    expect(card.get_by_role("button", name="Approve and send")).to_be_disabled()
    card.locator("textarea").fill("Thanks, we are on it.")
    expect(card.get_by_role("button", name="Approve and send")).to_be_enabled()
    approver.context.close()
