"""The approval queue as a team's shared workplace, in Chromium with two people's browsers.

Presence ("Ana is replying" on the mention, its inbox row and its queue card, gone when she stops), new replies
coming into an open queue as cards, a card changed by one person while the other types in it (kept, with who
changed it and a button to reload it), and the queue's keys. The pages poll every 5 seconds
(static/live.js): the waits below allow three polls.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlmodel import Session

from listener.models import Mention, Presence, Reply
from listener.pipeline import processing_steps
from listener.processing import Processor
from responders import workflow
from responders.staff import find_user
from tests.responders.helpers import add_mention
from tests.scale.helpers import wait_until
from tests.web.browser import LiveSite, demo_site, screenshot, sign_in
from tests.web.conftest import TEAM, add_staff

pytestmark = pytest.mark.browser

POLLS = 16_000
"""Milliseconds to wait for what another person's page learns by polling: three polls, and then some."""

DECIDED = re.compile(r"Reply (approved|being sent|sent|not sent \(failed\))")  # the words of responders.words
"""An approved card's outcome: the sender (every half second here) may already have taken it further."""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with demo_site(tmp_path_factory.mktemp("team-queue")) as site:
        with Session(site.engine) as session:  # a second approver, so two people can share the queue
            add_staff(session, "dana@lumen.test", "Dana", "approver")
            session.commit()
        yield site


def _mention(live: LiveSite, text: str, handle: str) -> int:
    mention = add_mention(live.engine, text, sentiment="negative", confidence=0.9, handle=handle)
    Processor(live.engine, processing_steps(live.settings)).run_until_empty()
    return mention.id  # type: ignore[return-value]


def _submitted(live: LiveSite, mention_id: int, text: str) -> int:
    """A reply drafted and sent for approval by Ana (the agent), as from her own page."""
    with Session(live.engine) as session:
        agent = find_user(session, TEAM["agent"])
        reply = workflow.create_draft(session, session.get(Mention, mention_id), text, agent)  # type: ignore[arg-type]
        workflow.submit(session, live.settings, reply, agent)
        session.commit()
        return reply.id  # type: ignore[return-value]


def _mark_page(page: Page) -> None:
    """A mark that a reload would wipe: the test checks it is still there (nothing reloaded the page)."""
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


def test_someone_drafting_a_reply_is_seen_by_others_within_seconds_and_gone_when_they_stop(
        browser: Any, live: LiveSite) -> None:
    mention_id = _mention(live, "Lumen Mobile cut my line without notice", "cut_off_carl")
    roaming = _mention(live, "Lumen Mobile roaming charges are absurd", "roaming_rita")
    reply_id = _submitted(live, roaming, "Sorry: we are refunding the roaming charges.")
    ana, pat = sign_in(browser, live, "agent"), sign_in(browser, live, "approver")
    ana.goto(f"/mentions/{mention_id}")
    pat.goto(f"/mentions/{mention_id}")
    on_page = pat.locator(f'[data-presence="{mention_id}"]')
    expect(on_page).to_be_hidden()

    ana.locator("#reply-text-own").click()
    ana.locator("#reply-text-own").press_sequentially("We are sorry, Carl")
    expect(on_page).to_have_text("Ana is replying", timeout=POLLS)
    expect(ana.locator(f'[data-presence="{mention_id}"]')).to_be_hidden()  # nobody is told about themselves
    pat.goto("/inbox?q=%40cut_off_carl")  # and the mention's row in the inbox says so too
    expect(pat.locator(f"#mention-row-{mention_id} .presence")).to_have_text("Ana is replying", timeout=POLLS)
    screenshot(pat, "presence-inbox-row-1440")

    ana.locator("h1").click()  # she leaves the field: the others stop seeing her
    expect(pat.locator(f"#mention-row-{mention_id} .presence")).to_be_hidden(timeout=POLLS)
    assert not _presence_rows(live, mention_id)

    # Editing a reply in the queue: its card says so on the other approver's screen.
    dana = sign_in(browser, live, "dana@lumen.test")
    dana.goto("/queue")
    pat.goto("/queue")
    pat.locator(f"#text-{reply_id}").click()
    card_presence = dana.locator(f"#reply-{reply_id} .presence")
    expect(card_presence).to_have_text("Pat is editing", timeout=POLLS)
    screenshot(dana, "presence-queue-card-1440")
    # Closing the tab stops the heartbeat: gone without waiting for the expiry. The tab closes as a person closes
    # it, unload handlers and all, in a browser that stays open (closing the whole context can cancel the page's
    # last request before it leaves, which no person's browser does).
    pat.close(run_before_unload=True)
    # Only a stop deletes the row within seconds (an expired row goes 15 seconds after the last heartbeat).
    assert wait_until(lambda: not _presence_rows(live, roaming), timeout=5)
    expect(card_presence).to_be_hidden(timeout=POLLS)
    for page in (ana, pat, dana):
        page.context.close()


def _presence_rows(live: LiveSite, mention_id: int) -> list[Any]:
    with Session(live.engine) as session:
        return list(session.execute(select(Presence).where(Presence.mention_id == mention_id)).all())


def test_a_new_reply_comes_into_an_open_queue_as_a_card_without_a_reload(browser: Any, live: LiveSite) -> None:
    pat = sign_in(browser, live, "approver")
    pat.goto("/queue")
    _mark_page(pat)
    with Session(live.engine) as session:
        waiting = len(session.execute(select(Reply.id).where(Reply.state == workflow.PENDING)).all())
    expect(pat.locator("[data-waiting-count]")).to_have_text(re.compile(rf"^{waiting} repl(y|ies) waiting$"))

    reply_id = _submitted(live, _mention(live, "Lumen Mobile app logs me out every hour", "logged_out_lou"),
                          "Sorry about that: an app update fixing it is out today.")
    card = pat.locator(f"#reply-{reply_id}")
    expect(card).to_be_visible(timeout=POLLS)
    expect(card).to_contain_text("Sorry about that: an app update fixing it is out today.")
    expect(pat.locator("[data-waiting-count]")).to_have_text(f"{waiting + 1} replies waiting")
    # The new card works like the others: approving it from here goes through.
    card.get_by_role("button", name="Approve and send").click()
    expect(pat.locator(f"#reply-{reply_id}")).to_contain_text(DECIDED)
    _not_reloaded(pat)
    with Session(live.engine) as session:
        assert workflow.get_reply(session, reply_id).state in (workflow.APPROVED, workflow.SENDING, workflow.SENT)
    pat.context.close()


def test_a_card_changed_by_one_approver_while_the_other_types_in_it_is_not_replaced(
        browser: Any, live: LiveSite) -> None:
    typed_in = _submitted(live, _mention(live, "Lumen Mobile double charged my card", "charged_chad"),
                          "Sorry: the second charge is refunded.")
    looked_at = _submitted(live, _mention(live, "Lumen Mobile store closed early again", "closed_cleo"),
                           "Sorry: we are checking the store's hours.")
    pat, dana = sign_in(browser, live, "approver"), sign_in(browser, live, "dana@lumen.test")
    pat.goto("/queue")
    dana.goto("/queue")
    _mark_page(dana)
    typed = "Sorry: the second charge is refunded, and a credit is on its way."
    dana_card = dana.locator(f"#reply-{typed_in}")
    dana_card.locator("textarea").fill(typed)

    # Pat edits the reply Dana is typing in, and approves the one she only looks at.
    pat_card = pat.locator(f"#reply-{typed_in}")
    pat_card.locator("textarea").fill("Sorry: we refunded the second charge today.")
    pat_card.get_by_role("button", name="Approve and send").click()
    expect(pat.locator(f"#reply-{typed_in}")).to_contain_text(DECIDED)
    pat.locator(f"#reply-{looked_at}").get_by_role("button", name="Approve and send").click()
    expect(pat.locator(f"#reply-{looked_at}")).to_contain_text(DECIDED)

    # The card she only looked at follows at once; the one she types in keeps her words and says who changed it.
    expect(dana.locator(f"#reply-{looked_at}")).to_contain_text(DECIDED, timeout=POLLS)
    notice = dana.locator(f"#reply-{typed_in} .changed-notice")
    expect(notice).to_contain_text("Pat approved this reply just now", timeout=POLLS)
    expect(dana.locator(f"#reply-{typed_in} textarea")).to_have_value(typed)
    screenshot(dana, "queue-card-changed-while-typing-1440")
    _not_reloaded(dana)

    notice.get_by_role("button", name="Reload this card").click()  # she chooses to see it as it is now
    expect(dana.locator(f"#reply-{typed_in}")).to_contain_text("we refunded the second charge today")
    expect(dana.locator(f"#reply-{typed_in} .changed-notice")).to_have_count(0)
    expect(dana.locator(f"#reply-{typed_in} textarea")).to_have_count(0)  # approved: nothing left to edit
    pat.context.close()
    dana.context.close()


def _selected(page: Page) -> str | None:
    return page.locator("#queue-cards > .card.selected").get_attribute("id")


def test_the_queue_answers_keys_and_ignores_them_while_typing(browser: Any, live: LiveSite) -> None:
    first = _submitted(live, _mention(live, "Lumen Mobile voicemail is broken", "voicemail_val"),
                       "Sorry: voicemail is back as of this morning.")
    second = _submitted(live, _mention(live, "Lumen Mobile charged me for a cancelled line", "cancelled_cal"),
                        "Sorry: the charge is reversed.")
    pat = sign_in(browser, live, "approver")
    pat.goto("/queue")
    cards = pat.locator("#queue-cards > .card")
    ids = [cards.nth(index).get_attribute("id") for index in range(cards.count())]
    assert f"reply-{first}" in ids and f"reply-{second}" in ids

    pat.keyboard.press("?")
    help_panel = pat.get_by_role("dialog", name="Keys in the approval queue")
    expect(help_panel).to_be_visible()
    for key, meaning in (("j", "next card"), ("k", "previous card"), ("a", "approve"), ("e", "edit"),
                         ("r", "reject"), ("Enter", "open the mention"), ("?", "show this list")):
        expect(help_panel.locator("dt", has_text=re.compile(rf"^{re.escape(key)}( |$)"))).to_have_count(1)
        expect(help_panel).to_contain_text(meaning)
    screenshot(pat, "queue-keys-help-1440")
    pat.keyboard.press("Escape")
    expect(help_panel).to_be_hidden()

    pat.keyboard.press("j")
    assert _selected(pat) == ids[0]
    expect(pat.locator(f"#{ids[0]}")).to_be_focused()
    pat.keyboard.press("j")
    assert _selected(pat) == ids[1]
    third = min(2, len(ids) - 1)  # the last card stays selected past the end
    pat.keyboard.press("ArrowDown")
    assert _selected(pat) == ids[third]
    pat.keyboard.press("k")
    assert _selected(pat) == ids[third - 1]
    pat.keyboard.press("ArrowUp")
    pat.keyboard.press("ArrowUp")
    assert _selected(pat) == ids[0]

    # Walk to the first of this test's cards; e edits it, and keys typed there are text, not commands.
    while _selected(pat) != f"reply-{first}":
        pat.keyboard.press("j")
    pat.keyboard.press("e")
    area = pat.locator(f"#text-{first}")
    expect(area).to_be_focused()
    pat.keyboard.type(" jka?")
    expect(area).to_have_value("Sorry: voicemail is back as of this morning. jka?")
    assert _selected(pat) == f"reply-{first}"
    expect(help_panel).to_be_hidden()
    area.fill("Sorry: voicemail is back as of this morning.")
    pat.keyboard.press("Escape")  # leaves the field: the keys work again
    expect(area).not_to_be_focused()

    pat.keyboard.press("r")
    expect(pat.locator(f"#reply-{first}").get_by_label("Reason for rejecting")).to_be_focused()
    pat.keyboard.press("Escape")

    pat.keyboard.press("a")
    expect(pat.locator(f"#reply-{first}")).to_contain_text(DECIDED)
    with Session(live.engine) as session:
        assert workflow.get_reply(session, first).state != workflow.PENDING

    pat.keyboard.press("j")
    while _selected(pat) != f"reply-{second}":
        pat.keyboard.press("k" if ids.index(_selected(pat) or "") > ids.index(f"reply-{second}") else "j")
    pat.keyboard.press("Enter")
    with Session(live.engine) as session:
        mention_id = workflow.get_reply(session, second).mention_id
    expect(pat).to_have_url(re.compile(rf"/mentions/{mention_id}$"))
    pat.context.close()
