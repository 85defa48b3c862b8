"""Merge and unmerge: identities and mentions move, and every merge can be undone exactly."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import CustomerProfile, LinkSuggestion, ProfileMatchKey
from listener.profiles import (
    MergeRefused,
    ProfileMergedAway,
    UnmergeRefused,
    create_profile,
    link_identity,
    list_profiles,
    merge_profiles,
    unmerge,
    update_profile,
)
from listener.profiles.keys import profile_keys
from tests.profiles.helpers import author, mention, process, profile_of, snapshot, store, suggestions


def two_people(engine: Engine) -> tuple[int, int]:
    """A VIP customer seen on X, and a Reddit prospect who is the same person, each with mentions."""
    with Session(engine) as session:
        vip = create_profile(
            session, "Kim Lee", tier="vip", emails=["kim@corp.example"], company="Corp, Inc.", crm_id="C-1",
            tags=["vip", "beta"], notes="prefers email",
        )
        link_identity(session, vip.id, "x", "kimlee", provenance="imported")
        session.commit()
        vip_id = vip.id
    store(engine, mention(author("x", "1", "kimlee", "Kim Lee")), mention(author("x", "1", "kimlee", "Kim Lee")))
    store(engine, mention(author("reddit", "t2_k", "kimlee", bio="kim@home.example")))
    store(engine, mention(author("reddit", "t2_k", "kimlee")))
    process(engine)
    with Session(engine) as session:
        prospect = session.execute(select(CustomerProfile).where(CustomerProfile.is_prospect)).scalar_one()
        update_profile(session, prospect.id, emails=["kim@home.example"], tags=["reddit", "beta"])
        session.commit()
        return vip_id, prospect.id  # type: ignore[return-value]


def keys_of(session: Session, profile_id: int) -> set[str]:
    return set(session.execute(select(ProfileMatchKey.key).where(ProfileMatchKey.profile_id == profile_id)).scalars())


def test_merge_then_unmerge_restores_both_profiles_exactly(engine: Engine) -> None:
    vip_id, prospect_id = two_people(engine)
    with Session(engine) as session:
        before_vip, before_prospect = snapshot(session, vip_id), snapshot(session, prospect_id)
        before_suggestions = [(s.id, s.status, s.decided_by, s.decided_at) for s in suggestions(session)]
        assert before_suggestions and all(status == "open" for _, status, _, _ in before_suggestions)
        assert before_vip["identities"] and before_prospect["identities"]
        assert len(before_vip["mentions"]) == 2 and len(before_prospect["mentions"]) == 2

        merge = merge_profiles(session, vip_id, prospect_id, by="lead")
        session.commit()
        merge_id = merge.id
        merged_vip = snapshot(session, vip_id)
        assert merged_vip["identities"] == before_vip["identities"] | before_prospect["identities"]
        assert merged_vip["mentions"] == before_vip["mentions"] | before_prospect["mentions"]
        assert merged_vip["fields"]["emails"] == ["kim@corp.example", "kim@home.example"]
        assert merged_vip["fields"]["tags"] == ["vip", "beta", "reddit"]
        for name in ("display_name", "tier", "company", "crm_id", "notes", "is_prospect", "created_at"):
            assert merged_vip["fields"][name] == before_vip["fields"][name]
        gone = snapshot(session, prospect_id)
        assert gone["fields"]["merged_into_id"] == vip_id and not gone["identities"] and not gone["mentions"]
        assert prospect_id not in {p.id for p in list_profiles(session)}
        assert {s.status for s in suggestions(session)} == {"superseded"}
        assert keys_of(session, prospect_id) == set()

    with Session(engine) as session:
        result = unmerge(session, merge_id, by="lead")
        session.commit()
        assert result.kept_later_edits == []
    with Session(engine) as session:
        assert snapshot(session, vip_id) == before_vip
        assert snapshot(session, prospect_id) == before_prospect
        after_suggestions = [(s.id, s.status, s.decided_by, s.decided_at) for s in suggestions(session)]
        assert after_suggestions == before_suggestions
        assert keys_of(session, prospect_id) == set(profile_keys("kimlee", ["kim@home.example"]))
        assert keys_of(session, vip_id) == set(profile_keys("Kim Lee", ["kim@corp.example"]))
        assert {p.id for p in list_profiles(session)} == {vip_id, prospect_id}


def test_confirmed_suggestion_merges_and_unmerge_reopens_it(engine: Engine) -> None:
    from listener.profiles import confirm_suggestion

    vip_id, prospect_id = two_people(engine)
    with Session(engine) as session:
        pair = next(s for s in suggestions(session) if {s.profile_a_id, s.profile_b_id} == {vip_id, prospect_id})
        merge = confirm_suggestion(session, pair.id, by="lead")
        assert (merge.survivor_id, merge.merged_id, merge.suggestion_id) == (vip_id, prospect_id, pair.id)
        session.commit()
        merge_id, pair_id = merge.id, pair.id
    with Session(engine) as session:
        unmerge(session, merge_id, by="lead")
        session.commit()
        reopened = session.get(LinkSuggestion, pair_id)
        assert reopened is not None and (reopened.status, reopened.decided_by) == ("open", None)


def test_mentions_after_a_merge_follow_the_account_back_on_unmerge(engine: Engine) -> None:
    vip_id, prospect_id = two_people(engine)
    with Session(engine) as session:
        merge_id = merge_profiles(session, vip_id, prospect_id, by="lead").id
        session.commit()
    later = mention(author("reddit", "t2_k", "kimlee"), "posted while merged")
    store(engine, later)
    process(engine)
    assert profile_of(engine, later.external_id) == vip_id
    with Session(engine) as session:
        unmerge(session, merge_id, by="lead")
        session.commit()
    assert profile_of(engine, later.external_id) == prospect_id


def test_unmerge_is_refused_while_a_later_merge_depends_on_it(engine: Engine) -> None:
    vip_id, prospect_id = two_people(engine)
    with Session(engine) as session:
        third = create_profile(session, "Third Person", crm_id="C-3").id
        first = merge_profiles(session, vip_id, prospect_id, by="lead").id
        second = merge_profiles(session, third, vip_id, by="lead").id
        session.commit()
        with pytest.raises(UnmergeRefused, match=f"merge {second} .*first"):
            unmerge(session, first, by="lead")
        with pytest.raises(MergeRefused, match="already merged into"):
            merge_profiles(session, prospect_id, third, by="lead")
        with pytest.raises(MergeRefused, match="into itself"):
            merge_profiles(session, third, third, by="lead")
        with pytest.raises(ProfileMergedAway):
            update_profile(session, vip_id, notes="edit of a merged-away profile")
        unmerge(session, second, by="lead")
        unmerge(session, first, by="lead")
        session.commit()
        with pytest.raises(UnmergeRefused, match="already undone by lead"):
            unmerge(session, first, by="lead")
        assert {p.id for p in list_profiles(session)} == {vip_id, prospect_id, third}


def test_edits_to_the_survivor_after_the_merge_are_kept_and_reported(engine: Engine) -> None:
    vip_id, prospect_id = two_people(engine)
    with Session(engine) as session:
        merge_id = merge_profiles(session, vip_id, prospect_id, by="lead").id
        update_profile(session, vip_id, notes="called on Monday", tags=["vip", "beta", "reddit", "called"])
        session.commit()
        result = unmerge(session, merge_id, by="lead")
        session.commit()
        assert sorted(result.kept_later_edits) == ["notes", "tags"]
        vip = session.get(CustomerProfile, vip_id)
        assert vip is not None
        assert vip.notes == "called on Monday"
        assert vip.tags == ["vip", "beta", "called"]  # "reddit" came with the merge and leaves with it
        assert vip.emails == ["kim@corp.example"]
