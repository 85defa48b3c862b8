"""An agent corrects a mention's sentiment from its inbox row in one action, in Chromium against a live Harken.

The row shows the new label without a reload, the correction is stored with who made it (training data for
`harken sentiment train --corrections`); a correction made on a row someone changed meanwhile is refused in
that row, naming who, and the row shows the label as it is now.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlmodel import Session

from listener.models import AuditEvent, Mention, SentimentCorrection
from listener.pipeline import processing_steps
from listener.processing import Processor
from listener.sentiment.labels import LABELS
from responders.staff import find_user
from responders.triage import correct_sentiment
from tests.responders.helpers import add_mention
from tests.web.browser import LiveSite, screenshot, sign_in
from tests.web.conftest import TEAM

pytestmark = pytest.mark.browser


def _scored_mention(live: LiveSite, text: str, handle: str) -> tuple[int, str]:
    """A new mention as the default model labels it: (its id, another label than the model's)."""
    mention = add_mention(live.engine, text, handle=handle)
    Processor(live.engine, processing_steps(live.settings)).run_until_empty()
    with Session(live.engine) as session:
        label = session.get(Mention, mention.id).sentiment_label  # type: ignore[union-attr]
    return mention.id, next(other for other in LABELS if other != label)  # type: ignore[return-value]


def test_an_agent_corrects_a_rows_label_in_one_action(browser: Any, live: LiveSite) -> None:
    mention_id, label = _scored_mention(live, "Lumen Mobile moved my number to the new plan today", "plan_pia")
    page = sign_in(browser, live, "agent")
    page.goto("/inbox?q=%40plan_pia")
    page.evaluate("window.__samePage = true")  # gone if the page reloads
    row = page.locator(f"#mention-row-{mention_id}")

    row.get_by_label(f"Correct the sentiment of mention {mention_id}").select_option(label)
    expect(row.locator(".sentiment")).to_have_text(f"{label} 100%")
    assert page.evaluate("window.__samePage") is True
    expect(row.locator(".inline-error")).to_have_count(0)
    screenshot(page, "inbox-sentiment-corrected-1440")
    with Session(live.engine) as session:
        stored = session.execute(
            select(SentimentCorrection).where(SentimentCorrection.mention_id == mention_id)).scalar_one()
        assert (stored.new_label, stored.corrected_by) == (label, TEAM["agent"])
        audited = session.execute(select(AuditEvent).where(
            AuditEvent.action == "mention.sentiment", AuditEvent.object_id == str(mention_id))).scalar_one()
        assert (audited.actor, audited.after) == (TEAM["agent"], {"sentiment": label})
    page.context.close()


def test_a_correction_on_a_row_changed_meanwhile_is_refused_in_the_row(browser: Any, live: LiveSite) -> None:
    mention_id, label = _scored_mention(live, "Is the Lumen Mobile shop open on Sundays", "sunday_sam")
    page = sign_in(browser, live, "agent")
    page.goto("/inbox?q=%40sunday_sam")
    with Session(live.engine) as session:  # meanwhile, on Pat's screen
        correct_sentiment(session, session.get(Mention, mention_id), label,  # type: ignore[arg-type]
                          find_user(session, TEAM["approver"]), live.settings)
        session.commit()

    row = page.locator(f"#mention-row-{mention_id}")
    mine = next(other for other in LABELS if other != label)
    row.get_by_label(f"Correct the sentiment of mention {mention_id}").select_option(mine)
    expect(row.locator(".inline-error")).to_contain_text(
        f"Pat corrected the sentiment of this mention to {label} just now")
    expect(row.locator(".sentiment")).to_have_text(f"{label} 100%")  # the row as it is now
    with Session(live.engine) as session:
        assert [c.new_label for c in session.execute(
            select(SentimentCorrection).where(SentimentCorrection.mention_id == mention_id)).scalars()] == [label]
    page.context.close()
