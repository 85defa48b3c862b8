"""The bundled reply rules on the customer messages issue 19 showed they got wrong."""

from __future__ import annotations

import pytest

from listener.db import utcnow
from responders.context import MentionContext
from responders.rules import RulesFileError, load_reply_rules, placeholder_values, suggest_from_rules
from tests.responders.helpers import make_settings


def context(text: str, sentiment: str) -> MentionContext:
    return MentionContext(
        mention_id=7, platform="x", kind="tweet", external_id="123", text=text, created_at=utcnow(),
        sentiment=sentiment, confidence=0.8, followers=10, handle="sam_k", display_name="NoBars", tier="standard",
        is_customer=False, customer_name=None, own_account=False, retweet=False,
    )


def fired(text: str, sentiment: str) -> list[str]:
    """The names of the bundled rules whose suggestions this message gets, best first."""
    settings = make_settings("sqlite://")
    rules = load_reply_rules(settings.replies.rules_path)
    mention = context(text, sentiment)
    candidates = suggest_from_rules(rules, mention, placeholder_values(mention, settings))
    return list(dict.fromkeys(c.rule for c in candidates))


def test_leaving_a_voicemail_is_not_leaving_the_brand() -> None:
    assert "retention" not in fired("Been leaving a voicemail for 3 days and nobody calls back", "negative")
    assert fired("That's it, I'm leaving you for another carrier", "negative")[0] == "retention"
    assert "retention" in fired("switching to another provider next month, cancel my contract", "negative")


def test_my_internet_is_down_hits_the_outage_rule() -> None:
    assert fired("my internet is down AGAIN", "negative")[0] == "outage-apology"
    assert fired("no internet since last night", "neutral")[0] == "outage-apology"


def test_praise_around_a_fault_is_not_thanked_but_answered() -> None:
    sarcastic = fired("Love the new update!!!! my phone freezes every five minutes", "positive")
    assert "thanks" not in sarcastic
    assert sarcastic[0] == "sarcastic-complaint"
    assert fired("Love the new update, thank you!", "positive") == ["thanks"]


def test_a_neutral_statement_of_a_fault_gets_an_answer() -> None:
    assert fired("Great, my order never arrived. Third time.", "neutral") == ["sarcastic-complaint"]


def test_an_unhappy_question_gets_a_reply_that_asks_what_is_needed_to_answer_it() -> None:
    rules = fired("Why is the app logging me out every day?", "negative")
    assert rules[0] == "question-complaint"
    assert "general-complaint" in rules  # still offered, ranked below


def test_an_unknown_intent_in_not_intents_stops_loading(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rules.toml"
    path.write_text('[intents]\nx = ["a"]\n[[rules]]\nname = "r"\nwhen = { not_intents = ["y"] }\ntemplates = ["t"]\n')
    with pytest.raises(RulesFileError, match="rule 'r': unknown intent"):
        load_reply_rules(path)
