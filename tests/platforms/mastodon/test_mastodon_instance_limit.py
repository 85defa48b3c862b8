"""The Mastodon instance's own status limit, read from ``/api/v2/instance``, in suggestions, drafts and replies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.demo import demo_settings
from listener.models import Mention
from listener.platforms import ReplyTooLong, get_platform
from listener.platforms.mastodon.simulator import MastodonSimulator
from listener.settings import Settings
from responders import workflow
from responders.drafts.checks import check_draft
from responders.drafts.grounding import Grounding
from responders.rules import load_reply_rules, placeholder_values
from tests.responders.helpers import add_mention, add_staff
from tests.responders.test_rules import context

LONG_REPLY = ("Sorry about that. " + "We are looking into it and will write back soon. " * 13).strip()  # 667


@pytest.fixture
def roomy() -> Iterator[MastodonSimulator]:
    """An instance that allows 1,000 characters, under its own address (the limit is cached per instance)."""
    with MastodonSimulator(max_characters=1000, domain="roomy.example") as simulator:
        yield simulator


def settings_for(sim: MastodonSimulator, url: str = "sqlite://") -> Settings:
    return demo_settings({"mastodon": sim}, url, sentiment={"enabled": False})


def test_the_instance_limit_is_read_once_and_500_when_absent_or_unreachable(roomy: MastodonSimulator) -> None:
    mastodon = get_platform("mastodon")
    section = settings_for(roomy).mastodon
    assert mastodon.limit_for(section) == 1000
    assert mastodon.limit_for(section) == 1000
    assert sum(request.path.rstrip("/") == "/api/v2/instance" for request in roomy.requests) == 1
    with MastodonSimulator(max_characters=None) as silent:
        assert mastodon.limit_for(settings_for(silent).mastodon) == 500
    gone = settings_for(roomy).mastodon.model_copy(update={"api_base_url": "http://127.0.0.1:9"})
    assert mastodon.limit_for(gone) == 500
    assert get_platform("x").limit_for(None) == 280  # platforms with one limit keep it


def test_rules_suggest_a_reply_the_instance_allows_and_skip_what_it_does_not(
        roomy: MastodonSimulator, tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(f'[intents]\noutage = ["down"]\n\n[[rules]]\nname = "long"\nscore = 0.5\n'
                    f'when = {{ intents = ["outage"] }}\ntemplates = ["{LONG_REPLY}", "{LONG_REPLY * 2}"]\n')
    rule = load_reply_rules(path)[0]
    settings = settings_for(roomy)
    mention = context(platform="mastodon", kind="status", handle="ana@social.example")

    outcome = rule.evaluate(mention, placeholder_values(mention, settings), settings)

    assert [candidate.text for candidate in outcome.candidates] == [LONG_REPLY]
    assert outcome.skipped == [f"template 2: {len(LONG_REPLY) * 2} characters, over mastodon's 1000"]
    # Without the settings (nothing known about the instance) the usual 500 applies.
    assert rule.evaluate(mention, placeholder_values(mention, settings)).candidates == []


def test_a_draft_check_keeps_a_reply_within_the_instance_limit(roomy: MastodonSimulator) -> None:
    grounding = Grounding(mention_id=1, platform="mastodon", mention_text="the network is down", language=None,
                          author_handle="ana@social.example", allowed_links=set(), system="", data={},
                          limit=get_platform("mastodon").limit_for(settings_for(roomy).mastodon))
    checked = check_draft(LONG_REPLY, grounding)
    assert (checked.text, checked.problems, checked.shortened) == (LONG_REPLY, [], False)
    at_500 = check_draft(LONG_REPLY, Grounding(**{**grounding.__dict__, "limit": None}))
    assert at_500.shortened and len(at_500.text or "") <= 500


def test_drafts_and_submissions_are_checked_against_the_instance_limit(
        roomy: MastodonSimulator, engine: Engine, db_url: str) -> None:
    settings = settings_for(roomy, db_url)
    agent = add_staff(engine, "ana@lumen.com", "agent")
    mention_id = add_mention(engine, "@lumenmobile the network is down", platform="mastodon").id
    with Session(engine, expire_on_commit=False) as session:
        mention = session.get(Mention, mention_id)
        with pytest.raises(ReplyTooLong, match="the limit is 1000"):
            workflow.create_draft(session, mention, LONG_REPLY * 2, agent, settings=settings)  # type: ignore[arg-type]
        reply = workflow.create_draft(session, mention, LONG_REPLY, agent, settings=settings)  # type: ignore[arg-type]
        workflow.submit(session, settings, reply, agent)
        session.commit()
    assert reply.state == "pending_approval" and reply.text == LONG_REPLY
