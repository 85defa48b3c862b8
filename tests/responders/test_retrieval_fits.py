"""Past replies offered again only when they fit: the old customer's details out, the same tone (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Reply, Suggestion
from responders.scrub import foreign_details, redact, scrub_past_reply
from responders.similar import Encoder, get_encoder
from tests.responders.helpers import add_mention, make_settings, process


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return get_encoder()


def test_scrub_takes_out_a_greetings_name_and_refuses_other_customers_details() -> None:
    assert scrub_past_reply("Hi Harry! Sorry about that, try restarting the router.") == (
        "Hi! Sorry about that, try restarting the router.")
    assert scrub_past_reply("Hi {first_name}, sorry about that.") == "Hi {first_name}, sorry about that."
    # A time, a date, an order number, another handle or an email cannot be taken out without breaking the reply.
    for particular in ("Your flight BA117 now leaves at 6:40pm.", "It ships on Tuesday.",
                       "Order #554433 is on its way.", "Ask @harry_p, he had the same.",
                       "Write to harry@example.com", "It will be back by 6pm."):
        assert scrub_past_reply(particular) is None, particular
    assert scrub_past_reply("DM us at @LumenHelp please", brand_handles=["lumenhelp"]) == "DM us at @LumenHelp please"


def test_redact_replaces_emails_phones_and_order_numbers() -> None:
    assert redact("I'm ana.s@mail.com, +44 7700 900123, order #123456 still missing") == (
        "I'm [email], [phone], [order] still missing")
    assert foreign_details("Your order #55512 ships at 5pm today", "where is my order") == ["order #55512", "5pm"]


def _approve(engine: Engine, mention_id: int, text: str) -> None:
    with Session(engine) as session:
        session.add(Reply(mention_id=mention_id, state="sent", text=text, platform_reply_id=str(mention_id)))
        session.commit()


def _offered(engine: Engine, mention_id: int) -> list[str]:
    with Session(engine) as session:
        return list(session.execute(select(Suggestion.text).where(Suggestion.mention_id == mention_id,
                                                                  Suggestion.origin == "similar")).scalars())


def test_a_past_reply_never_carries_its_customers_name_or_times(sqlite_engine: Engine, sqlite_url: str,
                                                                 tmp_path: Path, encoder: Encoder) -> None:
    empty_rules = tmp_path / "none.toml"
    empty_rules.write_text("")
    settings = make_settings(sqlite_url, replies={"similar_replies": True, "rules_file": str(empty_rules),
                                                  "similar_min_score": 0.5})
    # Harry's display name is not surely a name, so generalising cannot know that "Harry" is his.
    harry = add_mention(sqlite_engine, "@lumenair my flight to Rome was cancelled, what now?",
                        display_name="Harry ✈", handle="hp_travels", sentiment="negative", confidence=0.9)
    late = add_mention(sqlite_engine, "@lumenair my flight to Paris is cancelled, what do I do?",
                       display_name="Tess Ray", handle="tess", sentiment="negative", confidence=0.9)
    process(sqlite_engine, settings, encoder_factory=lambda: encoder)
    _approve(sqlite_engine, harry.id, "Hi Harry! So sorry. You can rebook for free in the app under My Trips.")
    _approve(sqlite_engine, late.id, "Hi Tess, sorry! We moved you to the 6:40pm flight tomorrow.")

    new = add_mention(sqlite_engine, "@lumenair flight cancelled!! what am I supposed to do now?",
                      display_name="Bob Stone", handle="bobs", sentiment="negative", confidence=0.9)
    process(sqlite_engine, settings, encoder_factory=lambda: encoder)
    offered = _offered(sqlite_engine, new.id)
    assert offered == ["Hi! So sorry. You can rebook for free in the app under My Trips."]
    assert not any("Harry" in text or "6:40" in text for text in offered)


def test_praise_never_gets_a_troubleshooting_reply(sqlite_engine: Engine, sqlite_url: str, tmp_path: Path,
                                                   encoder: Encoder) -> None:
    empty_rules = tmp_path / "none.toml"
    empty_rules.write_text("")
    settings = make_settings(sqlite_url, replies={"similar_replies": True, "rules_file": str(empty_rules),
                                                  "similar_min_score": 0.3})
    complaint = add_mention(sqlite_engine, "@lumenmobile the new update makes my phone freeze",
                            sentiment="negative", confidence=0.9)
    praise = add_mention(sqlite_engine, "@lumenmobile loving the new update, great job",
                         sentiment="positive", confidence=0.9)
    process(sqlite_engine, settings, encoder_factory=lambda: encoder)
    _approve(sqlite_engine, complaint.id, "Sorry about that! Hold the power button for 10 seconds to restart it.")
    _approve(sqlite_engine, praise.id, "Thank you! The team worked hard on it.")

    fan = add_mention(sqlite_engine, "@lumenmobile the new update is great, love it",
                      sentiment="positive", confidence=0.95)
    sarcastic = add_mention(sqlite_engine, "@lumenmobile love the new update!!!! my phone freezes every hour",
                            sentiment="positive", confidence=0.8)
    process(sqlite_engine, settings, encoder_factory=lambda: encoder)
    assert _offered(sqlite_engine, fan.id) == ["Thank you! The team worked hard on it."]
    assert _offered(sqlite_engine, sarcastic.id) == [
        "Sorry about that! Hold the power button for 10 seconds to restart it."]
