"""Two people racing the same change on the same version: exactly one wins, the other is told who won.

Each person is a thread with its own connection to the same real database (a SQLite file, then the
PostgreSQL server). Both read the item at the same version before either writes (a barrier holds the
first back until the second has read), so a check made by reading and then writing would let both
through; the conditional UPDATE (``... WHERE version = :seen``) lets exactly one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Mention, Reply, StaffUser
from responders import workflow
from responders.triage import assign, set_status
from responders.versions import StaleReply, StaleVersion
from tests.responders.helpers import actions, add_mention, add_staff, get, make_settings

Change = Callable[[Session, Any], object]


def race(engine: Engine, load: Callable[[Session], Any], changes: dict[str, Change]) -> dict[str, object]:
    """Run each person's change in its own thread and transaction, all on the version read before any
    writes; returns, per person, None when their change was committed or the error that refused it."""
    outcome: dict[str, object] = {}
    everyone_has_read = threading.Barrier(len(changes))

    def person(name: str, change: Change) -> None:
        with Session(engine, expire_on_commit=False) as session:
            item = load(session)
            everyone_has_read.wait(timeout=30)
            try:
                change(session, item)
                session.commit()
                outcome[name] = None
            except (StaleVersion, StaleReply) as refused:
                session.rollback()
                outcome[name] = refused

    threads = [threading.Thread(target=person, args=pair) for pair in changes.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcome) == len(changes), f"a racer never finished: {outcome}"
    return outcome


def _winner_and_loser(outcome: dict[str, object]) -> tuple[str, object]:
    winners = [name for name, refused in outcome.items() if refused is None]
    losers = [refused for refused in outcome.values() if refused is not None]
    assert len(winners) == 1 and len(losers) == 1, f"exactly one must win: {outcome}"
    return winners[0], losers[0]


@pytest.fixture
def people(engine: Engine) -> dict[str, StaffUser]:
    return {"Pat": add_staff(engine, "pat@lumen.com", "approver"),
            "Dana": add_staff(engine, "dana@lumen.com", "approver"),
            "Ana": add_staff(engine, "ana@lumen.com", "agent")}


def test_two_people_taking_the_same_mention_at_once_one_wins_the_other_hears_who(
    engine: Engine, people: dict[str, StaffUser]
) -> None:
    mention_id = add_mention(engine, "@lumenmobile no signal since noon").id
    seen = get(engine, Mention, mention_id).version
    outcome = race(engine, lambda session: session.get(Mention, mention_id), {
        name: (lambda session, mention, me=people[name]: assign(session, mention, me, me, seen_version=seen))
        for name in ("Pat", "Dana")
    })
    winner, refused = _winner_and_loser(outcome)
    assert isinstance(refused, StaleVersion)
    assert str(refused).startswith(f"{winner} took this mention just now; your change was made on an older version")
    stored = get(engine, Mention, mention_id)
    assert (stored.assignee_id, stored.version) == (people[winner].id, seen + 1)
    assert [action for action in actions(engine, "mention", mention_id)] == [(f"{winner.lower()}@lumen.com",
                                                                             "mention.assign")]


def test_a_status_change_racing_an_assignment_on_the_same_version_is_refused_or_wins_whole(
    engine: Engine, people: dict[str, StaffUser]
) -> None:
    mention_id = add_mention(engine, "@lumenmobile still down").id
    seen = get(engine, Mention, mention_id).version
    outcome = race(engine, lambda session: session.get(Mention, mention_id), {
        "Pat": lambda session, mention: assign(session, mention, people["Pat"], people["Pat"], seen_version=seen),
        "Dana": lambda session, mention: set_status(session, mention, "ignored", people["Dana"], seen_version=seen),
    })
    winner, refused = _winner_and_loser(outcome)
    stored = get(engine, Mention, mention_id)
    if winner == "Pat":
        assert (stored.assignee_id, stored.status) == (people["Pat"].id, "assigned")
        assert str(refused).startswith("Pat took this mention just now")
    else:
        assert (stored.assignee_id, stored.status) == (None, "ignored")
        assert str(refused).startswith("Dana set this mention to ignored just now")
    assert stored.version == seen + 1


def _pending_reply(engine: Engine, people: dict[str, StaffUser], db_url: str) -> int:
    settings = make_settings(db_url)
    with Session(engine, expire_on_commit=False) as session:
        mention = add_mention(engine, "@lumenmobile my refund?")
        reply = workflow.create_draft(session, session.get(Mention, mention.id), "Sorry! It is on its way.",  # type: ignore[arg-type]
                                      people["Ana"])
        workflow.submit(session, settings, reply, people["Ana"])
        session.commit()
        assert reply.id is not None
        return reply.id


def test_two_approvers_deciding_the_same_reply_at_once_one_decision_counts(
    engine: Engine, db_url: str, people: dict[str, StaffUser]
) -> None:
    settings = make_settings(db_url)
    reply_id = _pending_reply(engine, people, db_url)
    seen = get(engine, Reply, reply_id).version
    outcome = race(engine, lambda session: workflow.get_reply(session, reply_id), {
        "Pat": lambda session, reply: workflow.approve(session, settings, reply, people["Pat"], seen_version=seen),
        "Dana": lambda session, reply: workflow.reject(session, reply, people["Dana"], "tone", seen_version=seen),
    })
    winner, refused = _winner_and_loser(outcome)
    assert isinstance(refused, StaleReply) and refused.reply_id == reply_id
    stored = get(engine, Reply, reply_id)
    assert stored.state == ("approved" if winner == "Pat" else "rejected") and stored.version == seen + 1
    said = "approved this reply" if winner == "Pat" else "rejected this reply"
    assert str(refused).startswith(f"{winner} {said} just now; your change was made on an older version")
    decisions = [action for _, action in actions(engine, "reply", reply_id) if action in ("reply.approve",
                                                                                          "reply.reject")]
    assert len(decisions) == 1  # the loser's decision left nothing behind, not even an approval row


def test_an_edit_racing_an_approval_never_approves_a_text_the_approver_did_not_see(
    engine: Engine, db_url: str, people: dict[str, StaffUser]
) -> None:
    settings = make_settings(db_url)
    reply_id = _pending_reply(engine, people, db_url)
    seen = get(engine, Reply, reply_id).version
    outcome = race(engine, lambda session: workflow.get_reply(session, reply_id), {
        "Pat": lambda session, reply: workflow.approve(session, settings, reply, people["Pat"], seen_version=seen),
        "Dana": lambda session, reply: workflow.edit(session, reply, "Sorry! Your refund was sent today.",
                                                     people["Dana"], seen_version=seen),
    })
    winner, _ = _winner_and_loser(outcome)
    stored = get(engine, Reply, reply_id)
    if winner == "Pat":
        assert (stored.state, stored.text) == ("approved", "Sorry! It is on its way.")
    else:
        assert (stored.state, stored.text) == ("pending_approval", "Sorry! Your refund was sent today.")
        with Session(engine) as session:
            assert workflow.approvals(session, stored) == []
