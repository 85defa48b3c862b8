"""Reply rules and templates: a suggestion fires only when every placeholder has a value and it fits."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Suggestion
from responders.context import MentionContext
from responders.rules import (
    RulesFileError,
    TemplateError,
    load_reply_rules,
    placeholder_values,
    render,
    suggest_from_rules,
    template_fields,
)
from tests.responders.helpers import add_mention, make_settings, process


def context(**overrides: object) -> MentionContext:
    from listener.db import utcnow

    values: dict[str, object] = dict(
        mention_id=7, platform="x", kind="tweet", external_id="123", text="@lumenmobile the network is down again",
        created_at=utcnow(), sentiment="negative", confidence=0.9, followers=10, handle="ana_s",
        display_name="Ana Silva", tier="standard", is_customer=False, customer_name=None, own_account=False,
        retweet=False,
    )
    values.update(overrides)
    return MentionContext(**values)  # type: ignore[arg-type]


def test_placeholders_and_first_names() -> None:
    settings = make_settings("sqlite://")
    values = placeholder_values(context(), settings)
    assert values == {"first_name": "Ana", "name": "Ana Silva", "handle": "@ana_s",
                      "ticket_link": "https://help.lumen.com/t/7", "brand": "Harken"}
    assert placeholder_values(context(platform="reddit"), settings)["handle"] == "u/ana_s"
    # Display names that are not surely a name give no first name.
    for display in ("Lumen Fan 🔥", "NoSignal", "ana s2", None):
        assert placeholder_values(context(display_name=display), settings)["first_name"] is None
    # A CRM customer's name is trusted.
    crm = context(display_name="xx", is_customer=True, customer_name="Dana Whitfield", tier="vip")
    assert placeholder_values(crm, settings)["first_name"] == "Dana"
    # No ticket link template: no ticket link.
    assert placeholder_values(context(), make_settings("sqlite://", replies={"ticket_link_template": ""}))[
        "ticket_link"] is None


def test_render_refuses_a_template_with_a_missing_value() -> None:
    assert render("Hi {first_name}, see {ticket_link}", {"first_name": "Ana", "ticket_link": "https://x.co/1"}) == (
        "Hi Ana, see https://x.co/1")
    assert render("Hi {first_name}, see {ticket_link}", {"first_name": "Ana", "ticket_link": None}) is None
    assert render("Hi {first_name}!", {"first_name": "  "}) is None
    assert render("Literal {{braces}} and {handle}", {"handle": "@a"}) == "Literal {braces} and @a"
    with pytest.raises(TemplateError, match="unknown placeholder"):
        template_fields("Hi {firstname}")
    with pytest.raises(TemplateError, match="no format"):
        template_fields("Hi {first_name!r}")


RULES = """
[intents]
outage = ["outage", "network is down", "no signal"]

[[rules]]
name = "outage"
score = 0.8
when = { sentiments = ["negative"], intents = ["outage"] }
templates = [
    "Hi {first_name}, sorry! Follow the fix: {ticket_link}",
    "{handle} sorry about the outage, we're on it.",
    "Sorry about the outage, we're on it.",
]

[[rules]]
name = "long"
score = 0.9
when = { intents = ["outage"] }
templates = ["{handle} LONG_TEXT"]

[[rules]]
name = "press-only"
score = 1.0
when = { tiers = ["press"] }
templates = ["A careful answer for the press."]
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(RULES.replace("LONG_TEXT", "x" * 275))
    return path


def test_a_suggestion_fires_only_when_every_placeholder_has_a_value_and_it_fits(rules_file: Path) -> None:
    settings = make_settings("sqlite://")
    rules = {rule.name: rule for rule in load_reply_rules(rules_file)}

    full = rules["outage"].evaluate(context(), placeholder_values(context(), settings))
    assert [c.text for c in full.candidates] == [
        "Hi Ana, sorry! Follow the fix: https://help.lumen.com/t/7",
        "@ana_s sorry about the outage, we're on it.",
        "Sorry about the outage, we're on it.",
    ]
    assert [c.score for c in full.candidates] == [0.8, 0.79, 0.78]

    stranger = context(display_name="NoSignal 🔥")
    partial = rules["outage"].evaluate(stranger, placeholder_values(stranger, settings))
    assert [c.template_index for c in partial.candidates] == [1, 2]
    assert partial.skipped == ["template 1: no value for {first_name}"]

    # 2 ("@ana_s" is 6) + 1 + 275 = 282 on X: too long there, fine on Reddit.
    too_long = rules["long"].evaluate(context(), placeholder_values(context(), settings))
    assert too_long.candidates == [] and "over x's 280" in too_long.skipped[0]
    on_reddit = context(platform="reddit")
    assert len(rules["long"].evaluate(on_reddit, placeholder_values(on_reddit, settings)).candidates) == 1

    not_matching = rules["outage"].evaluate(context(sentiment="positive"), placeholder_values(context(), settings))
    assert not_matching.candidates == [] and "sentiments is one of negative" in not_matching.skipped[0]

    ranked = suggest_from_rules(list(rules.values()), context(tier="press"), placeholder_values(context(), settings))
    assert ranked[0].rule == "press-only" and [c.rule for c in ranked[1:]] == ["outage"] * 3


def test_rules_file_errors_name_the_file_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[rules]]\nname = "greet"\ntemplates = ["Hi {frist_name}"]\n')
    with pytest.raises(RulesFileError, match=r"bad.toml: rule 'greet': templates: unknown placeholder \{frist_name\}"):
        load_reply_rules(path)
    path.write_text('[[rules]]\nname = "a"\ntemplates = ["x"]\n[[rules]]\nname = "a"\ntemplates = ["y"]\n')
    with pytest.raises(RulesFileError, match="two rules are named 'a'"):
        load_reply_rules(path)
    path.write_text('[[rules]]\nname = "re"\ntemplates = ["x"]\nwhen = { pattern = "(unclosed" }\n')
    with pytest.raises(RulesFileError, match="not a valid regular expression"):
        load_reply_rules(path)
    path.write_text("[[rules]\n")
    with pytest.raises(RulesFileError, match="not valid TOML"):
        load_reply_rules(path)
    bundled = load_reply_rules(make_settings("sqlite://").replies.rules_path)
    assert len(bundled) >= 5


def test_the_suggestion_step_stores_several_ranked_alternatives(engine: Engine, db_url: str, rules_file: Path) -> None:
    settings = make_settings(db_url, replies={"rules_file": str(rules_file), "max_suggestions": 3})
    outage = add_mention(engine, "@lumenmobile the network is down again", sentiment="negative", confidence=0.9,
                         display_name="Ana Silva", handle="ana_s")
    nothing = add_mention(engine, "@lumenmobile nice ad", sentiment="positive", confidence=0.9)
    spam = add_mention(engine, "crypto giveaway, the network is down", sentiment="negative", confidence=0.9)
    process(engine, settings)
    with Session(engine) as session:
        rows = session.execute(select(Suggestion).order_by(Suggestion.mention_id, Suggestion.rank)).scalars().all()
    by_mention: dict[int, list[Suggestion]] = {}
    for row in rows:
        by_mention.setdefault(row.mention_id, []).append(row)
    assert set(by_mention) == {outage.id}  # nothing matched the positive one; spam is ignored by triage
    assert nothing.id not in by_mention and spam.id not in by_mention
    stored = by_mention[outage.id]
    assert [(s.rank, s.origin, s.rule, s.score) for s in stored] == [
        (1, "rule", "outage", 0.8), (2, "rule", "outage", 0.79), (3, "rule", "outage", 0.78)]
    assert stored[0].text == f"Hi Ana, sorry! Follow the fix: https://help.lumen.com/t/{outage.id}"
