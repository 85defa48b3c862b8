"""Suggested links: found with reasons, never applied until a person confirms; dismissed pairs stay dismissed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import AuditEvent, CustomerProfile, Identity, LinkSuggestion, Mention
from listener.profiles import (
    SuggestionAlreadyDecided,
    confirm_suggestion,
    create_profile,
    dismiss_suggestion,
    link_identity,
    list_suggestions,
    suggest_links,
)
from listener.profiles.keys import name_keys, normalise_name
from listener.profiles.link_suggestions import bio_findings, combined_score
from tests.profiles.helpers import author, mention, process, profile_of, rule_names, store, suggestions


def test_same_handle_on_x_and_reddit_is_suggested_with_reasons_but_not_applied(engine: Engine) -> None:
    on_x = mention(author("x", "42", "carol_codes", "Carol Chen"), "love the new phone")
    on_reddit = mention(author("reddit", "t2_c", "carol_codes"), "battery drains fast")
    store(engine, on_x)
    process(engine)
    store(engine, on_reddit)
    process(engine)
    x_profile, reddit_profile = profile_of(engine, on_x.external_id), profile_of(engine, on_reddit.external_id)
    assert x_profile != reddit_profile  # not applied
    with Session(engine) as session:
        (suggestion,) = suggestions(session)
        assert suggestion.status == "open"
        assert {suggestion.profile_a_id, suggestion.profile_b_id} == {x_profile, reddit_profile}
        assert "same_handle" in rule_names(suggestion)
        assert suggestion.score >= 0.6
        assert any("carol_codes" in reason["detail"] for reason in suggestion.reasons)
        (view,) = list_suggestions(session)
        assert view.reasons == suggestion.reasons and view.profile_b.id == reddit_profile
        suggestion_id = suggestion.id
        merge = confirm_suggestion(session, suggestion_id, by="dana")
        assert merge.survivor_id == x_profile  # both prospects: the older one survives
        session.commit()
    assert profile_of(engine, on_reddit.external_id) == x_profile
    with Session(engine) as session:
        suggestion = session.get(LinkSuggestion, suggestion_id)
        assert suggestion is not None
        assert (suggestion.status, suggestion.decided_by) == ("confirmed", "dana")
        assert suggestion.decided_at is not None


def test_similar_display_names_on_both_platforms_are_suggested(engine: Engine) -> None:
    store(engine, mention(author("x", "1", "jsmith_tweets", "Jonathan Smith")))
    store(engine, mention(author("reddit", "t2_1", "Jonathan_Smyth")))
    store(engine, mention(author("x", "2", "someone", "Someone Else Entirely")))
    process(engine)
    with Session(engine) as session:
        (suggestion,) = suggestions(session)
        assert rule_names(suggestion) == {"similar_display_name"}
        assert "%" in suggestion.reasons[0]["detail"]


def test_similar_names_on_one_platform_or_with_other_numbers_are_not_suggested(engine: Engine) -> None:
    store(engine, mention(author("x", "1", "a1", "Jonathan Smith")), mention(author("x", "2", "a2", "Jonathan Smyth")))
    store(engine, mention(author("x", "3", "f1", "Fan Account 2024")))
    store(engine, mention(author("reddit", "t2_9", "Fan_Account_1999")))
    process(engine)
    with Session(engine) as session:
        assert suggestions(session) == []


def test_email_and_profile_url_in_the_bio_are_suggested(engine: Engine) -> None:
    with Session(engine) as session:
        erin = create_profile(session, "Erin Example", emails=["erin@example.com"], crm_id="C-1")
        frank = create_profile(session, "Frank Foe", crm_id="C-2")
        link_identity(session, frank.id, "reddit", "frank_f", platform_user_id="t2_f")
        session.commit()
        erin_id, frank_id = erin.id, frank.id
    store(
        engine,
        mention(author("x", "1", "e_rin", "E.", bio="Write to ERIN@example.com for work")),
        mention(author("x", "2", "ff", "F", bio="also on https://www.reddit.com/user/Frank_F/ and u/other")),
    )
    process(engine)
    with Session(engine) as session:
        found = {(s.profile_a_id, frozenset(rule_names(s))) for s in suggestions(session)}
    assert (erin_id, frozenset({"bio_email"})) in found
    assert (frank_id, frozenset({"bio_profile_url"})) in found


def test_a_name_matching_an_imported_customer_is_suggested(engine: Engine) -> None:
    with Session(engine) as session:
        customer = create_profile(session, "Gabriela Hernández", crm_id="C-9", tier="vip")
        create_profile(session, "Totally Different", crm_id="C-10")
        session.commit()
        customer_id = customer.id
    store(engine, mention(author("x", "7", "gabyh", "gabriela hernandez 🌸")))
    process(engine)
    with Session(engine) as session:
        (suggestion,) = suggestions(session)
        assert suggestion.profile_a_id == customer_id
        assert rule_names(suggestion) == {"customer_name"}
        prospect = session.get(CustomerProfile, suggestion.profile_b_id)
        assert prospect is not None and prospect.is_prospect
        # Confirming keeps the imported customer, whatever the ids.
        merge = confirm_suggestion(session, suggestion.id, by="ops")
        assert merge.survivor_id == customer_id


def test_a_dismissed_pair_is_never_suggested_again_and_open_ones_are_not_duplicated(engine: Engine) -> None:
    store(engine, mention(author("x", "1", "hank")), mention(author("reddit", "t2_1", "hank")))
    process(engine)
    with Session(engine) as session:
        (suggestion,) = suggestions(session)
        suggestion_id, ids = suggestion.id, [suggestion.profile_a_id, suggestion.profile_b_id]
        assert suggest_links(session, ids) == []  # asked again: no duplicate of the open one
        dismissed = dismiss_suggestion(session, suggestion.id, by="ivy")
        assert (dismissed.status, dismissed.decided_by) == ("dismissed", "ivy")
        session.commit()
    with Session(engine) as session:
        assert suggest_links(session, ids) == []
        assert len(suggestions(session)) == 1
        audit = session.execute(select(AuditEvent)).scalar_one()
        assert (audit.actor, audit.action) == ("ivy", "profile_suggestion.dismiss")
        with pytest.raises(SuggestionAlreadyDecided, match="dismissed by ivy"):
            confirm_suggestion(session, suggestion_id, by="ivy")
    # The profiles stay apart: a dismissed suggestion changes nothing.
    with Session(engine) as session:
        assert session.scalar(select(func.count(func.distinct(Mention.profile_id)))) == 2
        assert session.scalar(select(func.count()).select_from(Identity)) == 2


def test_scores_combine_as_independent_evidence() -> None:
    assert combined_score([0.6]) == 0.6
    assert combined_score([0.6, 0.5]) == 0.8
    assert combined_score([]) == 0.0


def test_normal_forms_and_blocking_keys() -> None:
    assert normalise_name("Zoë O'Brien") == "zoe brien"
    assert normalise_name("JohnSmith88") == "john smith"
    # Names fuzzy matching calls similar share a blocking key.
    for a, b in [("Jon Smith", "John Smith"), ("Smith, John", "John Smith"), ("johnsmith", "John Smith"),
                 ("alice", "alicee")]:
        assert set(name_keys(a)) & set(name_keys(b)), (a, b)
    assert name_keys("") == [] and name_keys("🙂🙂") == []
    emails, accounts = bio_findings("me: A.B@Example.org | twitter.com/@Someone | x.com/home | /u/red_dit")
    assert emails == ["a.b@example.org"]
    assert accounts == [("x", "someone"), ("reddit", "red_dit")]
