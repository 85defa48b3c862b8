"""The plain words for Harken's internal names: every status, reply state, audit action and system actor has
them, so a new one added without words fails here instead of reaching a page as ``pending_approval``."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Mention, Reply
from listener.statuses import LINK_SUGGESTION_STATUSES, MENTION_STATUSES, REPLY_STATES
from listener.threads import body_of, thread_chain
from responders import words
from responders.digests.periods import so_far
from responders.digests.render import volume_change
from responders.workflow import IllegalTransition
from tests.responders.helpers import add_mention

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "responders").rglob("*.py")), *sorted((ROOT / "listener").rglob("*.py"))]


def _is_plain(text: str) -> bool:
    return bool(text) and "_" not in text and "." not in text and ":" not in text


def _audit_actions() -> set[str]:
    """Every action the code writes to the audit log: ``record(session, actor, "x.y", ...)`` and
    ``AuditEvent(action="x.y")``, a module constant resolved where the action is named by one."""
    found: set[str] = set()
    for path in SOURCES:
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                     for target in node.targets if isinstance(target, ast.Name)
                     and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            given: list[ast.expr] = []
            if name == "record" and len(node.args) >= 3:
                given.append(node.args[2])
            if name in ("record", "AuditEvent"):
                given.extend(keyword.value for keyword in node.keywords if keyword.arg == "action")
            for value in given:
                if isinstance(value, ast.IfExp):
                    found.update(v.value for v in (value.body, value.orelse) if isinstance(v, ast.Constant))
                elif isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.add(value.value)
                elif isinstance(value, ast.Name) and value.id in constants:
                    found.add(constants[value.id])
    return {action for action in found if "." in action}


def _system_actors() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("system:") \
                    and node.value[7:].isidentifier():
                found.add(node.value)
    return found


def test_every_audit_action_written_anywhere_has_plain_words() -> None:
    actions = _audit_actions()
    assert {"reply.draft", "reply.approve", "mention.status", "user.sign_in", "settings.change",
            "profile.merge", "user.activate", "user.deactivate"} <= actions  # the scan finds all kinds of call
    missing = sorted(actions - set(words.ACTION_WORDS))
    assert not missing, f"audit actions without words in responders/words.py ACTION_WORDS: {missing}"
    for action in actions:
        assert _is_plain(words.action_words(action)), action


def test_every_status_and_reply_state_has_plain_words() -> None:
    assert set(MENTION_STATUSES) == set(words.MENTION_STATUS_WORDS)
    assert set(REPLY_STATES) == set(words.REPLY_STATE_WORDS)
    assert set(LINK_SUGGESTION_STATUSES) == set(words.LINK_STATUS_WORDS)
    for status in MENTION_STATUSES:
        assert _is_plain(words.status_word(status)), status
    for state in REPLY_STATES:
        assert _is_plain(words.reply_state_word(state)), state
    assert words.status_word("needs_reply") == "needs a reply"
    assert words.reply_state_word("pending_approval") == "waiting for approval"


def test_harkens_own_workers_are_named_in_words_and_staff_by_name() -> None:
    actors = _system_actors()
    assert {"system:sender", "system:triage", "system:drafts", "system:config"} <= actors
    for actor in actors:
        assert actor in words.SYSTEM_ACTOR_WORDS, f"{actor} has no words in SYSTEM_ACTOR_WORDS"
        assert "system:" not in words.actor_words(actor)
    assert words.actor_words("system:sender") == "Harken (sender)"
    assert words.actor_words("pat@lumen.test", {"pat@lumen.test": "Pat"}) == "Pat"
    assert words.actor_words("gone@lumen.test", {}) == "gone@lumen.test"


def test_a_status_change_names_the_new_status_and_the_model_has_no_hash() -> None:
    assert words.action_words("mention.status", {"status": "needs_reply"}) == "set this mention to needs a reply"
    assert words.action_words("mention.assign", {"assignee": None}) == "unassigned this mention"
    assert words.model_words("default") == "Harken's built-in model"
    assert words.model_words("cardiffnlp/twitter-roberta") == "the model cardiffnlp/twitter-roberta"


def test_a_refused_transition_says_the_states_in_words() -> None:
    reply = Reply(id=7, mention_id=1, text="thanks", state="rejected")
    message = str(IllegalTransition(reply, "approve", ("pending_approval",)))
    assert message == ("reply 7 is rejected: cannot approve it now "
                       "(that works only for a reply that is waiting for approval)")
    message = str(IllegalTransition(Reply(id=8, mention_id=1, text="x", state="draft"), "retry", ("failed",)))
    assert "pending_approval" not in message and "is a draft" in message and "not sent (failed)" in message


@pytest.mark.parametrize(("now", "before", "shown"), [
    (387, 1, "+386 mentions"), (5, 0, "new"), (0, 0, "–"), (3, 4, "−1 mention"), (4, 4, "no change"),
    (150, 100, "+50.0%"), (80, 100, "−20.0%"),
])
def test_volume_change_from_a_tiny_base_is_told_in_mentions(now: int, before: int, shown: str) -> None:
    assert volume_change(now, before) == shown


def test_periods_so_far_start_at_the_readers_midnight_and_compare_with_the_same_stretch_before() -> None:
    now = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)  # a Wednesday; 10:30 in Ljubljana
    today = so_far("today", "Europe/Ljubljana", now)
    assert (today.start, today.end) == (datetime(2026, 3, 3, 23, 0, tzinfo=UTC), now)
    assert (today.previous().start, today.previous().end) == (datetime(2026, 3, 2, 23, 0, tzinfo=UTC),
                                                              datetime(2026, 3, 3, 9, 30, tzinfo=UTC))
    week = so_far("this_week", "Europe/Ljubljana", now)
    assert week.start == datetime(2026, 3, 1, 23, 0, tzinfo=UTC) and week.label == "this week so far"
    month = so_far("this_month", "America/New_York", now)
    assert month.start == datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
    assert month.previous().start == datetime(2026, 2, 1, 5, 0, tzinfo=UTC)
    assert month.previous().end == month.previous().start + (now - month.start)
    midnight = so_far("today", "UTC", datetime(2026, 3, 4, tzinfo=UTC))
    assert midnight.end - midnight.start == timedelta(seconds=1)  # never an empty period


def _reply_to(engine: Engine, text: str, parent: Mention | None, post: Mention, platform: str) -> Mention:
    mention = add_mention(engine, text, platform=platform)
    with Session(engine, expire_on_commit=False) as session:
        stored = session.get(Mention, mention.id)
        assert stored is not None
        stored.in_reply_to_external_id = (parent or post).external_id
        stored.conversation_external_id = post.external_id
        session.commit()
        return stored


@pytest.mark.parametrize("platform", ["reddit", "x"])
def test_the_thread_is_the_mentions_own_chain_up_to_the_post(sqlite_engine: Engine, platform: str) -> None:
    post = add_mention(sqlite_engine, "Lumen Mobile outage?\n\nNo signal since noon", platform=platform)
    with Session(sqlite_engine, expire_on_commit=False) as session:
        stored_post = session.get(Mention, post.id)
        assert stored_post is not None
        stored_post.title, stored_post.conversation_external_id = "Lumen Mobile outage?", stored_post.external_id
        session.commit()
    first = _reply_to(sqlite_engine, "same here", None, stored_post, platform)
    second = _reply_to(sqlite_engine, "still down for you?", first, stored_post, platform)
    sibling = _reply_to(sqlite_engine, "works for me", None, stored_post, platform)
    orphan = add_mention(sqlite_engine, "answering a comment never collected", platform=platform)
    with Session(sqlite_engine, expire_on_commit=False) as session:
        lost = session.get(Mention, orphan.id)
        assert lost is not None
        lost.in_reply_to_external_id, lost.conversation_external_id = "never-seen", stored_post.external_id
        session.commit()
        assert [m.id for m, _ in thread_chain(session, second)] == [post.id, first.id]
        assert [m.id for m, _ in thread_chain(session, sibling)] == [post.id]
        assert [m.id for m, _ in thread_chain(session, lost)] == [post.id]
        assert thread_chain(session, stored_post) == []
        assert all(handle for _, handle in thread_chain(session, second))
    assert body_of(stored_post) == "No signal since noon"  # the title is shown once, above it
    assert body_of(first) == "same here"
