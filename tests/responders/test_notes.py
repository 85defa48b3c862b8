"""Internal notes: @-mentions of active colleagues by name or email, the unread count, deletion rights, audit."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Mention, StaffUser
from responders.notes import (
    NOTE_LIMIT,
    InvalidNote,
    NoteNotFound,
    NotYourNote,
    add_note,
    colleagues,
    delete_note,
    mark_read,
    mentions_of,
    notes_on,
    unread_count,
)
from responders.roles import PermissionDenied
from tests.responders.helpers import actions, add_mention


def _staff(session: Session, email: str, name: str, role: str = "agent", active: bool = True) -> StaffUser:
    user = StaffUser(email=email, name=name, role=role, active=active)
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def team(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        made = {
            "ana": _staff(session, "ana@lumen.test", "Ana"),
            "dana": _staff(session, "dana.k@lumen.test", "Dana Kovač"),
            "dan": _staff(session, "dan@lumen.test", "Daniel Ek", role="approver"),
            "gone": _staff(session, "dave@lumen.test", "Dave", active=False),
            "max": _staff(session, "max@lumen.test", "Max", role="manager"),
            "ada": _staff(session, "ada@lumen.test", "Ada", role="admin"),
        }
        session.commit()
        return {key: user.id for key, user in made.items()}  # type: ignore[misc]


def _user(session: Session, team: dict[str, int], key: str) -> StaffUser:
    return session.get(StaffUser, team[key])  # type: ignore[return-value]


def test_a_note_mentions_colleagues_by_name_or_email_and_leaves_unknown_names_as_text(
        engine: Engine, team: dict[str, int]) -> None:
    mention = add_mention(engine, "my refund never came")
    with Session(engine) as session:
        ana = _user(session, team, "ana")
        text = ("@Dana can you check the refund? cc @dan.  @nobody and @dave (gone) are not told, "
                "nor is ana@lumen.test, and @ana writes it")
        view = add_note(session, session.get(Mention, mention.id), ana, text)  # type: ignore[arg-type]
        session.commit()
        assert [user.email for user in view.mentioned] == ["dana.k@lumen.test", "dan@lumen.test"]
        highlighted = [piece for piece, who in view.parts if who is not None]
        assert highlighted == ["@Dana", "@dan"]
        assert "".join(piece for piece, _ in view.parts) == text  # nothing lost or added
        dana, dan, dave = (_user(session, team, key) for key in ("dana", "dan", "gone"))
        assert (unread_count(session, dana), unread_count(session, dan), unread_count(session, dave)) == (1, 1, 0)
        assert unread_count(session, ana) == 0  # the author is not told of their own note

        [found] = mentions_of(session, dana)
        assert (found.mention.id, found.view.note.text, found.read_at) == (mention.id, text, None)
        assert mark_read(session, dana, mention.id) == 1
        session.commit()
        assert unread_count(session, dana) == 0 and unread_count(session, dan) == 1
        assert mentions_of(session, dana)[0].read_at is not None
    assert actions(engine, "note") == [("ana@lumen.test", "note.added")]


def test_an_email_local_part_beats_a_first_name_and_a_shared_first_name_names_no_one(
        engine: Engine, team: dict[str, int]) -> None:
    mention = add_mention(engine, "where is my order")
    with Session(engine) as session:
        _staff(session, "pat@lumen.test", "Dana Pat")  # a second Dana: "@dana" no longer names one person
        ana = _user(session, team, "ana")
        view = add_note(session, session.get(Mention, mention.id), ana, "@dana @dana.k @DanaKovač @pat")  # type: ignore[arg-type]
        assert [user.email for user in view.mentioned] == ["dana.k@lumen.test", "pat@lumen.test"]
        assert [piece for piece, who in view.parts if who] == ["@dana.k", "@DanaKovač", "@pat"]


def test_only_active_colleagues_are_offered_and_each_with_a_name_that_names_them(
        engine: Engine, team: dict[str, int]) -> None:
    with Session(engine) as session:
        offered = colleagues(session, exclude=_user(session, team, "ana"))
    by_email = {c.email: c for c in offered}
    assert "dave@lumen.test" not in by_email and "ana@lumen.test" not in by_email
    assert by_email["dana.k@lumen.test"].handle == "Dana"
    assert "kovač" in by_email["dana.k@lumen.test"].words and "dana.k" in by_email["dana.k@lumen.test"].words
    assert by_email["dan@lumen.test"].handle == "Daniel"


def test_empty_too_long_and_control_characters(engine: Engine, team: dict[str, int]) -> None:
    mention = add_mention(engine, "help")
    with Session(engine) as session:
        ana, found = _user(session, team, "ana"), session.get(Mention, mention.id)
        with pytest.raises(InvalidNote, match="empty"):
            add_note(session, found, ana, " \n\t ")  # type: ignore[arg-type]
        with pytest.raises(InvalidNote, match=f"2,001 characters long: at most {NOTE_LIMIT:,}"):
            add_note(session, found, ana, "x" * (NOTE_LIMIT + 1))  # type: ignore[arg-type]
        view = add_note(session, found, ana, "  line one\r\nline\x00 two\x1b[2J  ")  # type: ignore[arg-type]
        assert view.note.text == "line one\nline two"
        with pytest.raises(PermissionDenied):  # managers read notes; they change nothing
            add_note(session, found, _user(session, team, "max"), "a manager's note")  # type: ignore[arg-type]


def test_the_author_or_an_admin_deletes_a_note_and_the_audit_keeps_what_it_said(
        engine: Engine, team: dict[str, int]) -> None:
    mention = add_mention(engine, "help")
    with Session(engine) as session:
        ana, found = _user(session, team, "ana"), session.get(Mention, mention.id)
        first = add_note(session, found, ana, "first, for @Dana").note.id  # type: ignore[arg-type]
        second = add_note(session, found, ana, "second").note.id  # type: ignore[arg-type]
        session.commit()
        with pytest.raises(NotYourNote, match="only the note's author or an admin"):
            delete_note(session, mention.id, first, _user(session, team, "dan"))  # type: ignore[arg-type]
        with pytest.raises(NoteNotFound):
            delete_note(session, mention.id + 1, first, ana)  # type: ignore[arg-type,operator]
        delete_note(session, mention.id, first, ana)  # type: ignore[arg-type]
        delete_note(session, mention.id, second, _user(session, team, "ada"))  # type: ignore[arg-type]
        session.commit()
        assert notes_on(session, mention.id) == []  # type: ignore[arg-type]
        assert unread_count(session, _user(session, team, "dana")) == 0  # a deleted note mentions no one
    assert actions(engine, "note") == [("ana@lumen.test", "note.added"), ("ana@lumen.test", "note.added"),
                                       ("ana@lumen.test", "note.deleted"), ("ada@lumen.test", "note.deleted")]
    from responders.audit import events_for
    with Session(engine) as session:
        deleted = events_for(session, "note", first)[-1]
    assert deleted.before["text"] == "first, for @Dana" and deleted.before["mentioned"] == ["dana.k@lumen.test"]
