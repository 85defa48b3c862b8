"""A label below [sentiment] min_confidence is "uncertain": rules asking for a sentiment skip it (both databases)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Mention, Suggestion
from listener.sentiment.certainty import UNCERTAIN, is_uncertain, shown_sentiment
from tests.responders.helpers import add_mention, add_staff, get, make_settings, process

APOLOGY_RULES = """
[intents]
outage = ["outage", "no signal"]

[[rules]]
name = "apology"
when = { sentiments = ["negative"] }
templates = ["Sorry about that, we're on it."]

[[rules]]
name = "check-by-hand"
when = { sentiments = ["uncertain"], intents = ["outage"] }
templates = ["Is everything working for you now?"]
"""

ESCALATION_RULES = """
[[rules]]
name = "negatives-to-bea"
action = "assign"
assignee = "bea@lumen.com"
when = { sentiments = ["negative"] }
"""


def _suggested_rules(engine: Engine, mention_id: int) -> list[str]:
    with Session(engine) as session:
        rows = session.execute(select(Suggestion).where(Suggestion.mention_id == mention_id)).scalars()
        return sorted({row.rule for row in rows if row.rule})


def test_the_helper_treats_only_low_confidence_scored_labels_as_uncertain() -> None:
    assert shown_sentiment("negative", 0.49, 0.5) == UNCERTAIN
    assert shown_sentiment("negative", 0.5, 0.5) == "negative"
    assert shown_sentiment("unscored", 0.1, 0.5) == "unscored"  # nothing to doubt
    assert shown_sentiment(None, None, 0.5) == "unscored"
    assert not is_uncertain("positive", None, 0.5)  # an imported label with no confidence is taken as given
    assert not is_uncertain("negative", 0.2, 0.0)  # 0 turns the feature off


def test_a_negative_rule_does_not_fire_on_an_uncertain_negative(engine: Engine, db_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(APOLOGY_RULES)
    settings = make_settings(db_url, replies={"rules_file": str(rules)}, sentiment={"min_confidence": 0.5})
    thanks = add_mention(engine, "@lumenmobile thanks for the quick fix yesterday, everything works now",
                         sentiment="negative", confidence=0.45)
    angry = add_mention(engine, "@lumenmobile third outage this week, useless", sentiment="negative", confidence=0.93)
    unsure_outage = add_mention(engine, "@lumenmobile was there an outage? no signal earlier",
                                sentiment="negative", confidence=0.4)
    process(engine, settings)

    assert _suggested_rules(engine, thanks.id) == []  # no apology for a thank-you the model doubted
    assert _suggested_rules(engine, angry.id) == ["apology"]
    assert _suggested_rules(engine, unsure_outage.id) == ["check-by-hand"]  # "uncertain" can be asked for


def test_a_triage_rule_on_negatives_skips_uncertain_ones(engine: Engine, db_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "triage.toml"
    rules.write_text(ESCALATION_RULES)
    settings = make_settings(db_url, triage={"rules_file": str(rules)}, sentiment={"min_confidence": 0.6})
    bea = add_staff(engine, "bea@lumen.com", "agent")
    unsure = add_mention(engine, "@lumenmobile hmm, ok I guess", sentiment="negative", confidence=0.55)
    sure = add_mention(engine, "@lumenmobile you overcharged me again", sentiment="negative", confidence=0.8)
    process(engine, settings)

    assert get(engine, Mention, unsure.id).assignee_id is None
    assert get(engine, Mention, sure.id).assignee_id == bea.id
