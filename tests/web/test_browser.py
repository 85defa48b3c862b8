"""The staff web app in a real browser (Debian's Chromium through Playwright) against a live Harken.

The demo corpus is collected from the platform simulators by the real tweepy and praw
clients and processed; the web app and the sender run as ``harken run`` runs them.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlmodel import Session

from listener.models import Mention, Reply, Suggestion
from responders.web.security import create_token
from responders.workflow import PENDING
from tests.web.browser import LiveSite, screenshot, sign_in
from tests.web.conftest import TEAM

pytestmark = pytest.mark.browser



def _mention_with_suggestions(live: LiveSite) -> Mention:
    """An X mention, still open, that has suggestions and no reply yet."""
    with Session(live.engine) as session:
        replied = select(Reply.mention_id)
        return session.execute(
            select(Mention).join(Suggestion, Suggestion.mention_id == Mention.id)
            .where(Mention.platform == "x", Mention.status.in_(["new", "needs_reply"]),  # type: ignore[attr-defined]
                   Mention.id.not_in(replied), Mention.id != live.hostile_mention_id)  # type: ignore[union-attr]
            .order_by(Mention.priority.desc()).limit(1)  # type: ignore[union-attr]
        ).scalars().one()


def test_agent_drafts_approver_edits_and_approves_and_the_reply_reaches_the_platform(browser: Any,
                                                                                      live: LiveSite) -> None:
    mention = _mention_with_suggestions(live)
    agent = sign_in(browser, live, "agent", width=1360)
    agent.goto(f"/mentions/{mention.id}")
    agent.locator("form.suggestion").first.get_by_role("button", name="Send for approval").click()
    expect(agent.locator("section.answer")).to_contain_text("waiting for approval")

    # The agent sees the reply in the approval queue, but no way to approve it.
    agent.goto("/queue")
    with Session(live.engine) as session:
        reply = session.execute(select(Reply).where(Reply.mention_id == mention.id)).scalars().one()
    card = agent.locator(f"#reply-{reply.id}")
    expect(card).to_be_visible()
    expect(card.get_by_role("button", name="Approve and send")).to_have_count(0)
    expect(card.get_by_role("button", name="Reject")).to_have_count(0)

    approver = sign_in(browser, live, "approver", width=1360)
    approver.goto("/queue")
    card = approver.locator(f"#reply-{reply.id}")
    edited = f"Sorry about this! We're on it, check your DMs. (ref {mention.id})"
    card.locator("textarea").fill(edited)
    card.get_by_role("button", name="Approve and send").click()
    expect(approver.locator(f"#reply-{reply.id}")).to_contain_text("approved")

    # The sender posts it; the queue's sending status shows it without a reload.
    expect(approver.locator(f"#moving-{reply.id}")).to_have_attribute("data-state", "sent", timeout=15_000)
    posted = [tweet for tweet in live.x.posted_replies() if tweet["text"] == edited]
    assert len(posted) == 1
    assert posted[0]["referenced_tweets"] == [{"type": "replied_to", "id": mention.external_id}]
    with Session(live.engine) as session:
        stored = session.get(Reply, reply.id)
        assert stored is not None and stored.state == "sent" and stored.original_text != edited
    agent.context.close()
    approver.context.close()


def test_an_agent_cannot_reach_the_approve_action(browser: Any, live: LiveSite) -> None:
    with Session(live.engine, expire_on_commit=False) as session:
        reply = session.execute(select(Reply).where(Reply.state == PENDING)).scalars().first()
        if reply is None:
            from responders import workflow
            from responders.staff import find_user

            mention = _mention_with_suggestions(live)
            agent_user = find_user(session, TEAM["agent"])
            reply = workflow.create_draft(session, session.get(Mention, mention.id), "We can help: DM us.",  # type: ignore[arg-type]
                                          agent_user)
            workflow.submit(session, live.settings, reply, agent_user)
        token = create_token(session, "agent script", TEAM["agent"], find_admin(session)).secret
        session.commit()
    agent = sign_in(browser, live, "agent", width=1360)
    agent.goto("/queue")
    expect(agent.get_by_role("button", name="Approve and send")).to_have_count(0)
    csrf = json.loads(agent.locator("body").get_attribute("hx-headers") or "{}")["X-CSRF-Token"]
    # Posting the approve form by hand, with the agent's own session and CSRF token, is refused...
    forged = agent.request.post(f"/replies/{reply.id}/approve", form={"text": "approved by an agent"},
                                headers={"X-CSRF-Token": csrf})
    assert forged.status == 403
    # ...and so is the API with the agent's token.
    api = agent.request.post(f"/api/v1/replies/{reply.id}/approve", data={},
                             headers={"Authorization": f"Bearer {token}"})
    assert api.status == 403 and "may not approve" in api.json()["detail"]
    with Session(live.engine) as session:
        assert session.get(Reply, reply.id).state == PENDING  # type: ignore[union-attr]
    agent.context.close()


def find_admin(session: Session) -> Any:
    from responders.staff import find_user

    return find_user(session, TEAM["admin"])


def _visible_rows(page: Page) -> Any:
    return page.locator("table.inbox tbody tr[data-mention-id]")


def _refilter(page: Page, change: Any) -> None:
    """Change a filter and wait for the inbox's HTMX request to come back."""
    with page.expect_response(lambda response: "/inbox?" in response.url):
        change()


def test_inbox_filters(browser: Any, live: LiveSite) -> None:
    page = sign_in(browser, live, "agent", width=1360)
    rows = _visible_rows(page)
    expect(rows.first).to_be_visible()
    expect(page.locator("table.inbox span.platform.x").first).to_be_visible()

    _refilter(page, lambda: page.get_by_label("Platform").select_option("reddit"))
    expect(page).to_have_url(re.compile(r"platform=reddit"))
    expect(page.locator("table.inbox span.platform.x")).to_have_count(0)
    expect(page.locator("table.inbox span.platform.reddit").first).to_be_visible()

    _refilter(page, lambda: page.get_by_label("Platform").select_option(""))
    _refilter(page, lambda: page.get_by_label("Text").fill("refund"))
    expect(page).to_have_url(re.compile(r"q=refund"))
    expect(rows.first).to_be_visible()
    expect(rows.filter(has_not_text=re.compile("refund", re.IGNORECASE))).to_have_count(0)

    _refilter(page, lambda: page.locator("#filters").get_by_label("Sentiment").select_option("negative"))
    expect(page).to_have_url(re.compile(r"sentiment=negative"))
    expect(rows.first).to_be_visible()
    expect(rows.locator("span.sentiment").filter(has_not_text="negative")).to_have_count(0)

    # A reload keeps the filters (they are in the URL), as does sharing the link.
    page.reload()
    expect(page.locator("#filters").get_by_label("Sentiment")).to_have_value("negative")
    expect(page.get_by_label("Text")).to_have_value("refund")

    # Only resolved mentions: none are yet, so the table says so.
    _refilter(page, lambda: page.get_by_label("Text").fill(""))
    _refilter(page, lambda: page.locator("#filters").get_by_label("Sentiment").select_option(""))
    for status in ("new", "needs a reply", "assigned"):
        _refilter(page, lambda status=status: page.get_by_label(status, exact=True).uncheck())
    _refilter(page, lambda: page.get_by_label("resolved", exact=True).check())
    expect(page.locator("table.inbox")).to_contain_text("No mentions match these filters.")
    page.context.close()


def test_keyboard_shortcuts_assign_and_resolve(browser: Any, live: LiveSite) -> None:
    page = sign_in(browser, live, "agent", width=1360)
    first = _visible_rows(page).first
    expect(first).to_be_visible()
    mention_id = first.get_attribute("data-mention-id")
    page.keyboard.press("j")
    expect(first).to_have_class(re.compile("selected"))
    page.keyboard.press("a")
    row = page.locator(f"#mention-row-{mention_id}")
    expect(row).to_contain_text(TEAM["agent"])
    page.keyboard.press("e")
    expect(row.locator("span.status")).to_have_text("resolved")
    page.keyboard.press("j")
    expect(_visible_rows(page).nth(1)).to_have_class(re.compile("selected"))
    with Session(live.engine) as session:
        mention = session.get(Mention, int(mention_id))  # type: ignore[arg-type]
        assert mention is not None and mention.status == "resolved"
    page.context.close()


def test_a_hostile_mention_renders_as_text(browser: Any, live: LiveSite) -> None:
    page = sign_in(browser, live, "agent", width=1360)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"/mentions/{live.hostile_mention_id}")
    expect(page.locator("p.mention-text")).to_have_text(re.compile(r"^<script>window.__pwned = 1</script><img"))
    assert page.evaluate("window.__pwned") is None
    assert page.locator("p.mention-text script, p.mention-text img").count() == 0
    page.goto("/inbox?q=ate+my+refund&status=all")
    expect(page.locator("table.inbox")).to_contain_text("<script>window.__pwned = 1</script>")
    assert page.evaluate("window.__pwned") is None and not dialogs
    page.context.close()


def _busiest_profile(live: LiveSite) -> int:
    from sqlalchemy import func

    with Session(live.engine) as session:
        return session.execute(
            select(Mention.profile_id).where(Mention.profile_id.is_not(None))  # type: ignore[union-attr]
            .group_by(Mention.profile_id).order_by(func.count().desc()).limit(1)
        ).scalar_one()


def test_screenshots_of_the_main_pages(browser: Any, live: LiveSite) -> None:
    anonymous = browser.new_context(base_url=live.url, viewport={"width": 1360, "height": 900}).new_page()
    anonymous.goto("/signin")
    assert screenshot(anonymous, "signin").stat().st_size > 5_000
    anonymous.context.close()
    pages = {
        "approver": [("inbox", "/inbox"), ("queue", "/queue"),
                     ("mention", f"/mentions/{_mention_with_suggestions(live).id}"),
                     ("profiles", "/profiles"), ("profile", f"/profiles/{_busiest_profile(live)}")],
        "manager": [("digest", f"/digest?since={date.today() - timedelta(days=14)}&until={date.today()}"),
                    ("alerts", "/alerts")],
        "admin": [("admin", "/admin")],
    }
    for role, wanted in pages.items():
        page = sign_in(browser, live, role, width=1360)
        errors: list[str] = []
        page.on("console", lambda message, errors=errors: errors.append(message.text)
                if message.type == "error" else None)
        for name, path in wanted:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("networkidle")
            assert screenshot(page, name).stat().st_size > 10_000
        assert not errors, errors  # e.g. a Content-Security-Policy violation
        page.context.close()


def test_api_docs_render_from_vendored_swagger_ui(browser: Any, live: LiveSite) -> None:
    page = browser.new_context(base_url=live.url).new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto("/api/docs")
    expect(page.get_by_text("/api/v1/replies/{reply_id}/approve").first).to_be_visible(timeout=15_000)
    assert not errors, errors
    page.context.close()
