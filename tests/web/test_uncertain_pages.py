"""A label below [sentiment] min_confidence reads "uncertain" on the inbox row, the mention page and the queue card."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlmodel import Session

from listener.models import Mention
from responders import workflow
from responders.web.app import create_app
from tests.responders.helpers import add_mention, process
from tests.web.conftest import Site

THANKS = "@lumenmobile thanks for the quick fix yesterday, everything works now"


def _sentiment_badges(html: str) -> list[str]:
    """The text of each sentiment badge, tags and spacing removed (e.g. "uncertain (negative) 45%")."""
    badges = re.findall(r'<span class="sentiment [^"]*"[^>]*>(.*?)</span>', html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", badge).split()) for badge in badges]


def test_an_uncertain_label_is_shown_as_such_with_its_confidence(site_factory: Callable[..., Site]) -> None:
    site = site_factory(sentiment={"enabled": False, "min_confidence": 0.6})
    thanks = add_mention(site.engine, THANKS, sentiment="negative", confidence=0.45)
    angry = add_mention(site.engine, "@lumenmobile down again, third time", sentiment="negative", confidence=0.92)
    process(site.engine, site.settings)
    agent = site.client("agent")

    inbox = agent.get("/inbox", params={"status": "all"}).text
    row = inbox[inbox.index(f'id="mention-row-{thanks.id}"'):]
    assert _sentiment_badges(row)[0] == "uncertain (negative) 45%"
    other = inbox[inbox.index(f'id="mention-row-{angry.id}"'):]
    assert _sentiment_badges(other)[0] == "negative 92%"

    page = agent.get(f"/mentions/{thanks.id}").text
    assert "uncertain (negative) 45%" in _sentiment_badges(page)

    with Session(site.engine, expire_on_commit=False) as session:
        author = session.get(type(site.team["agent"]), site.team["agent"].id)
        reply = workflow.create_draft(session, session.get(Mention, thanks.id), "Glad it works!", author)  # type: ignore[arg-type]
        workflow.submit(session, site.settings, reply, author)  # type: ignore[arg-type]
        session.commit()
    queue = site.client("approver").get("/queue").text
    assert "uncertain (negative) 45%" in _sentiment_badges(queue)


def test_the_threshold_applies_at_once_without_touching_the_stored_label(site_factory: Callable[..., Site]) -> None:
    strict = site_factory(sentiment={"enabled": False, "min_confidence": 0.6})
    mention = add_mention(strict.engine, THANKS, sentiment="negative", confidence=0.55)
    assert "uncertain (negative) 55%" in _sentiment_badges(strict.client("agent").get(f"/mentions/{mention.id}").text)

    # The same database and stored row, served with a lower threshold: no migration, no rescoring.
    settings = strict.settings.model_copy(update={"sentiment": strict.settings.sentiment.model_copy(
        update={"min_confidence": 0.5})})
    lenient = Site(settings, strict.engine, create_app(settings, strict.engine), strict.team)
    assert "negative 55%" in _sentiment_badges(lenient.client("agent").get(f"/mentions/{mention.id}").text)
