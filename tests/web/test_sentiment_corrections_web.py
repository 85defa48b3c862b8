"""Correcting a mention's sentiment from its inbox row, over HTTP as the row's HTMX request and the API send it.

The correction is stored with who (training data for `harken sentiment train --corrections`), raises the
mention's version and is audited like an assignment, so a correction made on a stale row is refused naming
who changed it. The same in Chromium, in one action on the row, is in test_sentiment_corrections_browser.py.
"""

from __future__ import annotations

import html

from sqlalchemy import select
from sqlmodel import Session

from listener.models import AuditEvent, Mention, SentimentCorrection
from tests.responders.helpers import add_mention, process
from tests.web.conftest import TEAM, Site


def _mention(site: Site) -> Mention:
    mention = add_mention(site.engine, "Lumen Mobile finally fixed my roaming, nice", sentiment="negative",
                          confidence=0.55, handle="roaming_rae")
    process(site.engine, site.settings)
    with Session(site.engine, expire_on_commit=False) as session:
        return session.get(Mention, mention.id)  # type: ignore[return-value]


def _row_request(mention_id: int) -> dict[str, str]:
    return {"HX-Request": "true", "HX-Target": f"mention-row-{mention_id}"}


def test_a_rows_correction_comes_back_as_the_row_stored_with_who_and_audited(site: Site) -> None:
    mention = _mention(site)
    agent = site.client("agent")
    inbox = agent.get("/inbox")
    assert f'aria-label="Correct the sentiment of mention {mention.id}"' in inbox.text

    row = agent.post(f"/mentions/{mention.id}/sentiment", data={"label": "positive", "version": mention.version},
                     headers=_row_request(mention.id))
    assert row.status_code == 200, row.text
    assert row.text.lstrip().startswith(f'<tr id="mention-row-{mention.id}"')
    assert '<span class="sentiment positive">positive <small>100%</small></span>' in row.text
    assert f'name="version" value="{mention.version + 1}"' in row.text  # the next change states the new version
    with Session(site.engine) as session:
        stored = session.execute(select(SentimentCorrection)).scalar_one()
        assert (stored.mention_id, stored.old_label, stored.new_label, stored.corrected_by) == (
            mention.id, "negative", "positive", TEAM["agent"])
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "mention.sentiment")).scalar_one()
        assert (event.actor, event.object_id, event.before, event.after) == (
            TEAM["agent"], str(mention.id), {"sentiment": "negative"}, {"sentiment": "positive"})
        changed = session.get(Mention, mention.id)
        assert changed is not None and changed.version == mention.version + 1
        assert changed.priority is not None and changed.priority < mention.priority  # no longer a complaint


def test_a_correction_on_a_stale_row_is_refused_naming_who_corrected_it(site: Site) -> None:
    mention = _mention(site)
    agent, approver = site.client("agent"), site.client("approver")
    assert agent.post(f"/api/v1/mentions/{mention.id}/sentiment",
                      json={"label": "positive", "version": mention.version}).json()["sentiment"] == "positive"

    stale = approver.post(f"/mentions/{mention.id}/sentiment", data={"label": "neutral", "version": mention.version},
                          headers=_row_request(mention.id))
    assert stale.status_code == 409
    assert "Ana corrected the sentiment of this mention to positive just now" in stale.text
    assert '<span class="sentiment positive">' in stale.text  # the row as it is now, to put in place
    api_stale = approver.post(f"/api/v1/mentions/{mention.id}/sentiment",
                              json={"label": "neutral", "version": mention.version})
    assert api_stale.status_code == 409 and api_stale.json()["current"]["sentiment"] == "positive"
    with Session(site.engine) as session:
        assert [c.new_label for c in session.execute(select(SentimentCorrection)).scalars()] == ["positive"]


def test_an_unknown_label_is_refused_plainly_and_changes_nothing(site: Site) -> None:
    mention = _mention(site)
    refused = site.client("agent").post(f"/mentions/{mention.id}/sentiment",
                                        data={"label": "furious", "version": mention.version},
                                        headers=_row_request(mention.id))
    assert refused.status_code == 409
    assert "label 'furious' is not one of negative, neutral, positive" in html.unescape(refused.text)
    with Session(site.engine) as session:
        assert session.execute(select(SentimentCorrection)).first() is None
        unchanged = session.get(Mention, mention.id)
        assert unchanged is not None and (unchanged.sentiment_label, unchanged.version) == ("negative",
                                                                                           mention.version)


def test_readers_see_the_label_without_the_correction(site: Site) -> None:
    mention = _mention(site)
    page = site.client("manager").get("/inbox")
    assert f'id="mention-row-{mention.id}"' in page.text
    assert "Correct the sentiment of mention" not in page.text
