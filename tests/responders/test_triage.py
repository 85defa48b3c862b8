"""Triage: priority and SLA, the queue order, auto-ignore and auto-assign rules, people's triage (both databases)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import utcnow
from listener.models import Mention
from responders.mention_queue import list_queue
from responders.roles import PermissionDenied
from responders.rules import RulesFileError
from responders.triage import (
    InvalidAssignee,
    InvalidStatusChange,
    assign,
    compute_priority,
    load_triage_rules,
    refresh_priorities,
    set_status,
)
from tests.responders.helpers import actions, add_mention, add_staff, get, make_settings, process


def test_a_negative_vip_complaint_sorts_above_a_neutral_stranger(engine: Engine, db_url: str) -> None:
    settings = make_settings(db_url)
    stranger = add_mention(engine, "@lumenmobile what time do stores open?", sentiment="neutral", confidence=0.9,
                           followers=90_000)
    vip = add_mention(engine, "@lumenmobile third dropped call today, this is unacceptable", sentiment="negative",
                      confidence=0.92, followers=150, tier="vip", customer_name="Dana Whitfield")
    happy = add_mention(engine, "@lumenmobile love the new plan", sentiment="positive", confidence=0.95, followers=20)
    process(engine, settings)

    with Session(engine) as session:
        queue = list_queue(session)
    assert [item.mention_id for item in queue] == [vip.id, stranger.id, happy.id]
    top, second = queue[0], queue[1]
    assert top.priority > second.priority and top.priority_level == "urgent" and top.tier == "vip"
    assert second.priority_level in ("normal", "high")
    # The SLA runs from when it was posted, by the level's minutes in the settings.
    stored = get(engine, Mention, vip.id)
    assert stored.sla_due_at == vip.created_at + timedelta(minutes=settings.triage.sla_minutes["urgent"])


def test_sla_minutes_and_reach_come_from_the_settings(engine: Engine, db_url: str) -> None:
    settings = make_settings(db_url, triage={"sla_minutes": {"urgent": 5, "high": 10, "normal": 15, "low": 20},
                                             "high_reach_followers": 1000})
    loud = add_mention(engine, "@lumenmobile no signal downtown", sentiment="negative", confidence=0.9,
                       followers=5000)
    process(engine, settings)
    stored = get(engine, Mention, loud.id)
    assert stored.priority_level == "high"  # 36 mood + 25 reach (over the 1,000 threshold)
    assert stored.sla_due_at == loud.created_at + timedelta(minutes=10)


def test_priority_grows_with_age_and_refresh_recomputes_it(engine: Engine, db_url: str) -> None:
    settings = make_settings(db_url)
    mention = add_mention(engine, "@lumenmobile hello?", sentiment="neutral", confidence=0.8, followers=0)
    process(engine, settings)
    before = get(engine, Mention, mention.id).priority
    assert refresh_priorities(engine, settings, now=utcnow() + timedelta(hours=30)) == 1
    after = get(engine, Mention, mention.id)
    assert after.priority == pytest.approx(before + 10, abs=0.2)  # the age part tops out at 10 after a day


def test_priority_formula_parts() -> None:
    from responders.context import MentionContext

    settings = make_settings("sqlite:///unused.db")
    now = utcnow()
    base = dict(mention_id=1, platform="x", kind="tweet", external_id="1", text="t", created_at=now, handle="a",
                display_name=None, is_customer=False, customer_name=None, own_account=False, retweet=False)
    press = compute_priority(MentionContext(**base, sentiment="negative", confidence=1.0, followers=10_000,
                                            tier="press"), settings, now)
    assert press.parts == {"mood": 40.0, "reach": 25.0, "tier": 25.0, "age": 0.0} and press.score == 90.0
    unknown = compute_priority(MentionContext(**base, sentiment="unscored", confidence=None, followers=None,
                                              tier="standard"), settings, now)
    assert unknown.score == 12.0 and unknown.level == "low"


def test_rules_ignore_retweets_spam_and_the_brands_own_account(engine: Engine, db_url: str) -> None:
    settings = make_settings(db_url)
    retweet = add_mention(engine, "RT @someone: @lumenmobile is down again", sentiment="negative", confidence=0.9)
    quoted = add_mention(engine, "@lumenmobile down", raw=json.dumps({"referenced_tweets": [{"type": "retweeted",
                                                                                             "id": "5"}]}))
    spam = add_mention(engine, "Crypto giveaway!!! tag @lumenmobile and win", sentiment="positive", confidence=0.7)
    own = add_mention(engine, "We're aware of an outage in Ohio", handle="LumenMobile")
    own_reddit = add_mention(engine, "Pinned: support hours", platform="reddit", handle="lumenmobile_support")
    real = add_mention(engine, "@lumenmobile my bill is wrong", sentiment="negative", confidence=0.8)
    process(engine, settings)

    for ignored in (retweet, quoted, spam, own, own_reddit):
        stored = get(engine, Mention, ignored.id)
        assert stored.status == "ignored", stored.text
        assert stored.triage_reason.startswith("rule ")
        assert stored.sla_due_at is None
    assert get(engine, Mention, real.id).status == "new"
    assert ("system:triage", "mention.status") in actions(engine, "mention", spam.id)
    with Session(engine) as session:
        assert [item.mention_id for item in list_queue(session)] == [real.id]
        assert len(list_queue(session, ["ignored"])) == 5


def test_assign_rules_by_keyword_and_platform(engine: Engine, db_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "triage.toml"
    rules.write_text("""
[intents]
billing = ["bill", "refund"]

[[rules]]
name = "billing-team"
action = "assign"
assignee = "Bea@Lumen.com"
when = { intents = ["billing"] }

[[rules]]
name = "reddit-community"
action = "assign"
assignee = "rik@lumen.com"
when = { platforms = ["reddit"] }

[[rules]]
name = "nobody-home"
action = "assign"
assignee = "ghost@lumen.com"
when = { keywords = ["ghost"] }
""")
    settings = make_settings(db_url, triage={"rules_file": str(rules)})
    bea = add_staff(engine, "bea@lumen.com", "agent")
    rik = add_staff(engine, "rik@lumen.com", "approver")
    billing = add_mention(engine, "@lumenmobile where is my REFUND")
    reddit = add_mention(engine, "lumen mobile coverage in Maine?", platform="reddit")
    both = add_mention(engine, "my bill is wrong", platform="reddit")
    ghost = add_mention(engine, "ghost charges")
    process(engine, settings)

    assert (get(engine, Mention, billing.id).assignee_id, get(engine, Mention, billing.id).status) == (bea.id,
                                                                                                       "assigned")
    assert get(engine, Mention, reddit.id).assignee_id == rik.id
    assert get(engine, Mention, both.id).assignee_id == bea.id  # the first matching rule wins
    assert (get(engine, Mention, ghost.id).assignee_id, get(engine, Mention, ghost.id).status) == (None, "new")
    assert ("system:triage", "mention.assign") in actions(engine, "mention", billing.id)


def test_triage_rules_file_errors_name_the_rule(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nname = "everything"\naction = "ignore"\n')
    with pytest.raises(RulesFileError, match=r"everything.*at least one condition"):
        load_triage_rules(bad)
    bad.write_text('[[rules]]\nname = "typo"\naction = "ignore"\nwhen = { platfroms = ["x"] }\n')
    with pytest.raises(RulesFileError, match=r"typo.*platfroms.*not a known key"):
        load_triage_rules(bad)
    bad.write_text('[[rules]]\nname = "intent"\naction = "ignore"\nwhen = { intents = ["nope"] }\n')
    with pytest.raises(RulesFileError, match="unknown intent"):
        load_triage_rules(bad)
    assert [r.rule.name for r in load_triage_rules(make_settings("sqlite://").triage.rules_path)] == [
        "own-account", "retweets", "spam"]


def test_people_change_status_and_assignee_and_each_change_is_audited(engine: Engine, db_url: str) -> None:
    settings = make_settings(db_url)
    agent = add_staff(engine, "ana@lumen.com", "agent")
    manager = add_staff(engine, "max@lumen.com", "manager")
    gone = add_staff(engine, "old@lumen.com", "agent", active=False)
    mention = add_mention(engine, "@lumenmobile help")
    process(engine, settings)
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Mention, mention.id)
        with pytest.raises(InvalidStatusChange):
            set_status(session, row, "assigned", agent)
        assign(session, row, agent, agent)
        assert row.status == "assigned"
        with pytest.raises(InvalidAssignee):
            assign(session, row, manager, agent)  # a manager reads; does not work the queue
        with pytest.raises(InvalidAssignee):
            assign(session, row, gone, agent)
        with pytest.raises(PermissionDenied):
            set_status(session, row, "resolved", manager)
        set_status(session, row, "resolved", agent, note="answered by phone")
        assign(session, row, None, agent)
        session.commit()
    assert actions(engine, "mention", mention.id) == [
        ("ana@lumen.com", "mention.assign"), ("ana@lumen.com", "mention.status"), ("ana@lumen.com", "mention.assign"),
    ]
    assert get(engine, Mention, mention.id).status == "resolved"
