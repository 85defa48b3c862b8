"""The approval workflow on both databases: roles, two approvers, edits, rejections, the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from listener.models import Reply, ReplyApproval, StaffUser
from listener.platforms import ReplyTooLong
from responders import workflow
from responders.roles import Action, PermissionDenied, Role, can, roles_allowed
from tests.responders.helpers import actions, add_mention, add_staff, get, make_settings, process


@pytest.fixture
def team(engine: Engine) -> dict[str, StaffUser]:
    return {
        "agent": add_staff(engine, "ana@lumen.com", "agent"),
        "approver": add_staff(engine, "pat@lumen.com", "approver"),
        "approver2": add_staff(engine, "quinn@lumen.com", "approver"),
        "manager": add_staff(engine, "max@lumen.com", "manager"),
        "admin": add_staff(engine, "ada@lumen.com", "admin"),
    }


def draft(engine: Engine, mention_id: int, text: str, by: StaffUser, **kwargs: object) -> Reply:
    from listener.models import Mention

    with Session(engine, expire_on_commit=False) as session:
        reply = workflow.create_draft(session, session.get(Mention, mention_id), text, by, **kwargs)  # type: ignore[arg-type]
        session.commit()
        return reply


NEEDS_SETTINGS = (workflow.submit, workflow.approve)


def act(engine: Engine, function, reply_id: int, *args: object, **kwargs: object) -> Reply:  # type: ignore[no-untyped-def]
    """One workflow call in its own transaction; for submit and approve the settings come first in ``args``."""
    with Session(engine, expire_on_commit=False) as session:
        reply = workflow.get_reply(session, reply_id)
        if function in NEEDS_SETTINGS:
            settings, *rest = args
            function(session, settings, reply, *rest, **kwargs)
        else:
            function(session, reply, *args, **kwargs)
        session.commit()
        return reply


def test_permission_table() -> None:
    assert roles_allowed(Action.APPROVE) == [Role.APPROVER]
    assert set(roles_allowed(Action.TRIAGE)) == {Role.AGENT, Role.APPROVER, Role.ADMIN}
    assert set(roles_allowed(Action.READ_AUDIT)) == {Role.MANAGER, Role.ADMIN}
    assert roles_allowed(Action.MANAGE_USERS) == [Role.ADMIN]
    assert not can(StaffUser(email="x@y.z", name="x", role="approver", active=False), Action.APPROVE)
    assert not can(StaffUser(email="x@y.z", name="x", role="superuser"), Action.READ)


def test_draft_submit_approve_with_the_whole_trail_audited(engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(db_url)
    mention = add_mention(engine, "@lumenmobile my bill doubled", sentiment="negative", confidence=0.8)
    process(engine, settings)
    reply = draft(engine, mention.id, "Sorry! DM us your account email.", team["agent"])
    assert reply.state == "draft" and reply.created_by_id == team["agent"].id
    reply = act(engine, workflow.revise, reply.id, "Sorry about that! Please DM us your account email.",
                team["agent"])
    reply = act(engine, workflow.submit, reply.id, settings, team["agent"])
    assert (reply.state, reply.high_risk, reply.required_approvals) == ("pending_approval", False, 1)
    reply = act(engine, workflow.approve, reply.id, settings, team["approver"])
    assert reply.state == "approved" and reply.approved_at is not None
    assert actions(engine, "reply", reply.id) == [
        ("ana@lumen.com", "reply.draft"), ("ana@lumen.com", "reply.revise"), ("ana@lumen.com", "reply.submit"),
        ("pat@lumen.com", "reply.approve"),
    ]


def test_an_agent_or_manager_cannot_approve_and_a_drafter_cannot_approve_their_own(
    engine: Engine, db_url: str, team  # type: ignore[no-untyped-def]
) -> None:
    settings = make_settings(db_url)
    mention = add_mention(engine, "@lumenmobile hi", sentiment="neutral", confidence=0.8)
    reply = draft(engine, mention.id, "Hello!", team["approver"])
    act(engine, workflow.submit, reply.id, settings, team["approver"])
    for role in ("agent", "manager", "admin"):
        with pytest.raises(PermissionDenied, match=f"is {role}, which may not approve"):
            act(engine, workflow.approve, reply.id, settings, team[role])
    with pytest.raises(workflow.SelfApproval):
        act(engine, workflow.approve, reply.id, settings, team["approver"])
    with pytest.raises(PermissionDenied):
        act(engine, workflow.reject, reply.id, team["agent"], "no")
    with pytest.raises(PermissionDenied):
        draft(engine, add_mention(engine, "other").id, "x", team["manager"])
    assert get(engine, Reply, reply.id).state == "pending_approval"
    act(engine, workflow.approve, reply.id, settings, team["approver2"])
    assert get(engine, Reply, reply.id).state == "approved"
    # With the setting on, one's own is fine.
    lenient = make_settings(db_url, replies={"allow_self_approval": True})
    other = draft(engine, add_mention(engine, "another").id, "Hi!", team["approver"])
    act(engine, workflow.submit, other.id, lenient, team["approver"])
    assert act(engine, workflow.approve, other.id, lenient, team["approver"]).state == "approved"


@pytest.mark.parametrize(
    "kind", ["negative-high-reach", "negative-vip", "negative-press"],
)
def test_high_risk_replies_need_two_different_approvers(engine: Engine, db_url: str, team, kind: str) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(db_url)
    options = {
        "negative-high-reach": {"followers": 250_000},
        "negative-vip": {"tier": "vip", "followers": 12},
        "negative-press": {"tier": "press", "followers": 12},
    }[kind]
    mention = add_mention(engine, "@lumenmobile worst service ever", sentiment="negative", confidence=0.9,
                          **options)  # type: ignore[arg-type]
    reply = draft(engine, mention.id, "We're sorry. A manager will call you today.", team["agent"])
    reply = act(engine, workflow.submit, reply.id, settings, team["agent"])
    assert (reply.high_risk, reply.required_approvals) == (True, 2)

    reply = act(engine, workflow.approve, reply.id, settings, team["approver"])
    assert reply.state == "pending_approval"
    with pytest.raises(workflow.DuplicateApproval):
        act(engine, workflow.approve, reply.id, settings, team["approver"])
    assert get(engine, Reply, reply.id).state == "pending_approval"
    reply = act(engine, workflow.approve, reply.id, settings, team["approver2"])
    assert reply.state == "approved"
    with Session(engine) as session:
        approvers = set(session.execute(select(ReplyApproval.approver_id).where(ReplyApproval.reply_id == reply.id))
                        .scalars())
    assert approvers == {team["approver"].id, team["approver2"].id}


def test_low_risk_and_the_setting_off_need_one_approver(engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    calm = add_mention(engine, "@lumenmobile thanks!", sentiment="positive", confidence=0.9, tier="vip")
    loud = add_mention(engine, "@lumenmobile awful", sentiment="negative", confidence=0.9, followers=250_000)
    one = make_settings(db_url)
    off = make_settings(db_url, replies={"two_approvers_for_high_risk": False})
    first = act(engine, workflow.submit, draft(engine, calm.id, "Thank you!", team["agent"]).id, one, team["agent"])
    second = act(engine, workflow.submit, draft(engine, loud.id, "Sorry.", team["agent"]).id, off, team["agent"])
    assert (first.high_risk, first.required_approvals) == (False, 1)
    assert (second.high_risk, second.required_approvals) == (True, 1)


def test_the_database_refuses_a_second_approval_by_the_same_person(engine: Engine, team) -> None:  # type: ignore[no-untyped-def]
    mention = add_mention(engine, "x")
    reply = draft(engine, mention.id, "y", team["agent"])
    with Session(engine) as session:
        session.add(ReplyApproval(reply_id=reply.id, revision=1, approver_id=team["approver"].id))
        session.commit()
        session.add(ReplyApproval(reply_id=reply.id, revision=1, approver_id=team["approver"].id))
        with pytest.raises(IntegrityError):
            session.commit()


def test_an_edit_keeps_the_original_and_voids_earlier_approvals(engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(db_url)
    mention = add_mention(engine, "@lumenmobile awful", sentiment="negative", confidence=0.9, tier="press")
    reply = draft(engine, mention.id, "sorry lol", team["agent"])
    act(engine, workflow.submit, reply.id, settings, team["agent"])
    act(engine, workflow.approve, reply.id, settings, team["approver"])
    with pytest.raises(PermissionDenied):
        act(engine, workflow.edit, reply.id, "Changed by an agent", team["agent"])
    edited = act(engine, workflow.approve, reply.id, settings, team["approver2"],
                 edit_text="We're sorry. Our press office will contact you today.")
    # The second approver edited: a new revision that only they have approved so far.
    assert (edited.state, edited.revision) == ("pending_approval", 2)
    assert edited.text == "We're sorry. Our press office will contact you today."
    assert edited.original_text == "sorry lol"
    final = act(engine, workflow.approve, reply.id, settings, team["approver"])
    assert final.state == "approved" and final.original_text == "sorry lol"
    trail = actions(engine, "reply", reply.id)
    assert trail[-3:] == [("quinn@lumen.com", "reply.edit"), ("quinn@lumen.com", "reply.approve"),
                          ("pat@lumen.com", "reply.approve")]


def test_rejection_needs_a_reason_and_is_final(engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(db_url)
    reply = draft(engine, add_mention(engine, "hey").id, "Hi", team["agent"])
    act(engine, workflow.submit, reply.id, settings, team["agent"])
    with pytest.raises(workflow.MissingReason):
        act(engine, workflow.reject, reply.id, team["approver"], "  ")
    rejected = act(engine, workflow.reject, reply.id, team["approver"], "Too curt for this customer")
    assert (rejected.state, rejected.rejected_reason, rejected.rejected_by_id) == (
        "rejected", "Too curt for this customer", team["approver"].id)
    with pytest.raises(workflow.IllegalTransition, match="is rejected: cannot approve"):
        act(engine, workflow.approve, reply.id, settings, team["approver2"])
    with pytest.raises(workflow.IllegalTransition):
        act(engine, workflow.retry, reply.id, team["approver"])
    # A rejected reply is not open: a new draft for the mention is allowed.
    again = draft(engine, reply.mention_id, "Hi there! How can we help?", team["agent"])
    assert again.state == "draft"


def test_illegal_transitions_and_bad_texts_raise_named_errors(engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(db_url)
    mention = add_mention(engine, "hey")
    with pytest.raises(workflow.EmptyReply):
        draft(engine, mention.id, "   ", team["agent"])
    with pytest.raises(ReplyTooLong):
        draft(engine, mention.id, "a" * 281, team["agent"])
    reply = draft(engine, mention.id, "Hi", team["agent"])
    with pytest.raises(workflow.ReplyAlreadyOpen):
        draft(engine, mention.id, "Hi again", team["approver"])
    with pytest.raises(workflow.IllegalTransition, match="is a draft: cannot approve"):
        act(engine, workflow.approve, reply.id, settings, team["approver"])
    with pytest.raises(workflow.IllegalTransition):
        act(engine, workflow.retry, reply.id, team["approver"])
    act(engine, workflow.submit, reply.id, settings, team["agent"])
    with pytest.raises(workflow.IllegalTransition, match="cannot submit"):
        act(engine, workflow.submit, reply.id, settings, team["agent"])
    with pytest.raises(workflow.IllegalTransition, match="cannot revise"):
        act(engine, workflow.revise, reply.id, "changed after submitting", team["agent"])
    with pytest.raises(workflow.ReplyNotFound):
        act(engine, workflow.submit, 999_999, settings, team["agent"])


def test_the_database_allows_one_open_reply_per_mention(engine: Engine, team) -> None:  # type: ignore[no-untyped-def]
    mention = add_mention(engine, "hey")
    with Session(engine) as session:
        session.add(Reply(mention_id=mention.id, state="approved", text="a"))
        session.add(Reply(mention_id=mention.id, state="sent", text="b"))
        session.commit()
        session.add(Reply(mention_id=mention.id, state="draft", text="c"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_reject_racing_the_sender_leaves_exactly_one_winner(engine: Engine, db_url: str, team) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(db_url)
    reply = draft(engine, add_mention(engine, "race").id, "Hi", team["agent"])
    act(engine, workflow.submit, reply.id, settings, team["agent"])
    act(engine, workflow.approve, reply.id, settings, team["approver"])
    with Session(engine, expire_on_commit=False) as person, Session(engine, expire_on_commit=False) as sender:
        seen_by_person = workflow.get_reply(person, reply.id)
        seen_by_sender = workflow.get_reply(sender, reply.id)
        workflow.begin_attempt(sender, seen_by_sender)
        sender.commit()
        assert seen_by_person.state == "approved"  # stale in the person's session
        with pytest.raises(workflow.IllegalTransition):
            workflow.reject(person, seen_by_person, team["approver"], "too late")
        person.rollback()
    assert get(engine, Reply, reply.id).state == "sending"
