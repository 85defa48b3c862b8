"""Internal notes on a mention: what colleagues tell each other about it, with @-mentions of one another.

A note is for staff only. It lives in its own tables (``notes``, ``note_mentions``), which
nothing that speaks to the outside reads: the sender posts replies, the digest counts
mentions, ``harken export mentions`` writes mentions. Writing ``@`` and a colleague's name or
the local part of their email mentions them: they see the note in their "Mentions" until
they open the mention it is on. An ``@word`` that names no active colleague stays plain text.

Every note added or deleted goes to the audit log. A note is deleted by its author, or by an
admin (who may have to remove what should not have been written).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from listener.db import utcnow
from listener.errors import HarkenError
from listener.models import Mention, Note, NoteMention, StaffUser
from listener.safe_text import terminal_text
from responders import audit
from responders.roles import Action, PermissionDenied, Role, can, require

NOTE_LIMIT = 2000
"""Characters in one note: room for a paragraph or two, not a document."""

WRITE_NOTES = Action.TRIAGE
"""Those who work the mentions write notes on them; managers read them (they change nothing)."""

# "@" not inside a word or an email address (ana@lumen.test mentions no one), then a name or a local part.
_AT = re.compile(r"(?<![\w@.+-])@([\w][\w.+-]*)")
# An "@dana." at the end of a sentence: the full stop is not part of the name.
_TRAILING = ".+-"


class NoteError(HarkenError):
    """Base of the note errors."""


class InvalidNote(NoteError, ValueError):
    """An empty note, or one beyond :data:`NOTE_LIMIT`."""


class NoteNotFound(NoteError, LookupError):
    pass


class NotYourNote(PermissionDenied):
    """Only a note's author, or an admin, deletes it."""

    def __init__(self, user: StaffUser) -> None:
        HarkenError.__init__(self, "only the note's author or an admin can delete it")
        self.user = user
        self.action = Action.READ


@dataclass(frozen=True)
class Colleague:
    """An active colleague as the @-suggestions offer them: ``handle`` is what to type after the ``@``."""

    id: int
    name: str
    email: str
    handle: str
    words: tuple[str, ...]  # what "@da" may be the start of: their name's words and their email's local part


@dataclass(frozen=True)
class NoteView:
    """A note as pages and the API show it: its author, and the colleagues it mentions."""

    note: Note
    author: StaffUser
    mentioned: list[StaffUser] = field(default_factory=list)

    @property
    def parts(self) -> list[tuple[str, StaffUser | None]]:
        return note_parts(self.note.text, self.mentioned)


@dataclass(frozen=True)
class MentionOfYou:
    """A note that mentions the reader, on which mention, and whether they have opened it since."""

    view: NoteView
    mention: Mention
    read_at: datetime | None


def _local_part(user: StaffUser) -> str:
    return user.email.split("@", 1)[0].lower()


def _name_keys(user: StaffUser) -> tuple[str, str]:
    """Their whole name without spaces (``@danascully``) and its first word (``@dana``), lower case."""
    words = user.name.lower().split()
    return "".join(words), words[0] if words else ""


def _directory(users: Iterable[StaffUser]) -> dict[str, StaffUser]:
    """Who each ``@word`` (lower case) names. An email's local part comes first, then a whole name, then a
    first name; a word that would name two colleagues at the same rank names no one (never the wrong one)."""
    users = list(users)
    directory: dict[str, StaffUser] = {}
    ranks = (lambda u: _local_part(u), lambda u: _name_keys(u)[0], lambda u: _name_keys(u)[1])
    for key_of in ranks:
        claimed: dict[str, list[StaffUser]] = {}
        for user in users:
            key = key_of(user)
            if key:
                claimed.setdefault(key, []).append(user)
        for key, owners in claimed.items():
            if key not in directory and len(owners) == 1:
                directory[key] = owners[0]
    return directory


def _resolve(word: str, directory: dict[str, StaffUser]) -> tuple[StaffUser, str] | None:
    """The colleague ``word`` names and the part of it that is their name (trailing punctuation left out)."""
    for candidate in (word, word.rstrip(_TRAILING)):
        found = directory.get(candidate.lower())
        if found is not None:
            return found, candidate
    return None


def _active_staff(db: Session) -> list[StaffUser]:
    return list(db.execute(select(StaffUser).where(StaffUser.active).order_by(StaffUser.name)).scalars())  # type: ignore[arg-type]


def colleagues(db: Session, exclude: StaffUser | None = None) -> list[Colleague]:
    """The active colleagues a note may mention (deactivated ones are never offered), by name."""
    staff = _active_staff(db)
    directory = _directory(staff)
    found = []
    for user in staff:
        if exclude is not None and user.id == exclude.id:
            continue
        whole, first = _name_keys(user)
        # What the suggestion inserts: the shortest word that names them alone, as they are called.
        handle = next((key for key in (first, whole) if key and directory.get(key) is user), _local_part(user))
        shown = next((word for word in user.name.split() if word.lower() == handle), None)
        words = tuple(dict.fromkeys([*user.name.lower().split(), _local_part(user)]))
        found.append(Colleague(user.id, user.name, user.email, shown or handle, words))  # type: ignore[arg-type]
    return found


def mentioned_in(db: Session, text: str) -> list[StaffUser]:
    """The active colleagues ``text`` @-mentions, each once, in the order they come."""
    directory = _directory(_active_staff(db))
    found: dict[int, StaffUser] = {}
    for match in _AT.finditer(text):
        resolved = _resolve(match.group(1), directory)
        if resolved is not None:
            found.setdefault(resolved[0].id, resolved[0])  # type: ignore[arg-type]
    return list(found.values())


def note_parts(text: str, mentioned: Sequence[StaffUser]) -> list[tuple[str, StaffUser | None]]:
    """``text`` cut into plain pieces and the ``@name`` pieces that mention one of ``mentioned``, to highlight.

    Only the colleagues the note mentioned when it was written are highlighted; any other ``@word`` is text.
    """
    directory = _directory(mentioned)
    pieces: list[tuple[str, StaffUser | None]] = []
    start = 0
    for match in _AT.finditer(text):
        resolved = _resolve(match.group(1), directory)
        if resolved is None:
            continue
        user, name = resolved
        pieces.append((text[start:match.start()], None))
        pieces.append(("@" + name, user))
        start = match.start() + 1 + len(name)
    pieces.append((text[start:], None))
    return [(piece, user) for piece, user in pieces if piece]


def checked_text(text: str) -> str:
    """The note as it will be kept: without surrounding blank space or control characters; refused when
    empty or longer than :data:`NOTE_LIMIT`."""
    cleaned = terminal_text(text.replace("\r\n", "\n")).strip()
    if not cleaned:
        raise InvalidNote("the note is empty: write something first")
    if len(cleaned) > NOTE_LIMIT:
        raise InvalidNote(f"the note is {len(cleaned):,} characters long: at most {NOTE_LIMIT:,} characters")
    return cleaned


def add_note(db: Session, mention: Mention, author: StaffUser, text: str) -> NoteView:
    """Keep a note on ``mention`` and tell the colleagues it mentions (never its author: they know)."""
    require(author, WRITE_NOTES)
    cleaned = checked_text(text)
    note = Note(mention_id=mention.id, author_id=author.id, text=cleaned)  # type: ignore[arg-type]
    db.add(note)
    db.flush()
    mentioned = [user for user in mentioned_in(db, cleaned) if user.id != author.id]
    for user in mentioned:
        db.add(NoteMention(note_id=note.id, user_id=user.id))  # type: ignore[arg-type]
    audit.record(db, author, "note.added", ("note", note.id),  # type: ignore[arg-type]
                 after={"mention_id": mention.id, "text": cleaned, "mentioned": [user.email for user in mentioned]})
    db.flush()
    return NoteView(note, author, mentioned)


def get_note(db: Session, mention_id: int, note_id: int) -> Note:
    note = db.get(Note, note_id)
    if note is None or note.mention_id != mention_id:
        raise NoteNotFound(f"no note {note_id} on mention {mention_id}: it may have been deleted meanwhile")
    return note


def may_delete(user: StaffUser, note: Note) -> bool:
    """The author, while their account is active, or an admin."""
    return can(user, Action.READ) and (user.id == note.author_id or user.role == Role.ADMIN)


def delete_note(db: Session, mention_id: int, note_id: int, by: StaffUser) -> None:
    """Delete a note and its @-mentions; the audit log keeps what it said and who deleted it."""
    note = get_note(db, mention_id, note_id)
    if not may_delete(by, note):
        raise NotYourNote(by)
    mentioned = db.execute(select(StaffUser.email).join(NoteMention, NoteMention.user_id == StaffUser.id)
                           .where(NoteMention.note_id == note.id)).scalars().all()
    before = {"mention_id": note.mention_id, "author_id": note.author_id, "text": note.text,
              "created_at": note.created_at, "mentioned": list(mentioned)}
    db.execute(delete(NoteMention).where(NoteMention.note_id == note.id))  # type: ignore[arg-type]
    db.delete(note)
    audit.record(db, by, "note.deleted", ("note", note_id), before=before)


def _views(db: Session, notes: Sequence[Note]) -> dict[int, NoteView]:
    """Each note with its author and mentioned colleagues, in two queries whatever the number of notes."""
    ids = [note.id for note in notes]
    author_ids = {note.author_id for note in notes}
    authors = {user.id: user for user in db.execute(
        select(StaffUser).where(StaffUser.id.in_(author_ids))).scalars()}  # type: ignore[union-attr]
    mentioned: dict[int, list[StaffUser]] = {}
    for note_id, user in db.execute(select(NoteMention.note_id, StaffUser)
                                    .join(StaffUser, StaffUser.id == NoteMention.user_id)
                                    .where(NoteMention.note_id.in_(ids))  # type: ignore[attr-defined]
                                    .order_by(StaffUser.name)).all():
        mentioned.setdefault(note_id, []).append(user)
    return {note.id: NoteView(note, authors[note.author_id], mentioned.get(note.id, []))  # type: ignore[misc]
            for note in notes}


def notes_on(db: Session, mention_id: int) -> list[NoteView]:
    """The notes on one mention, oldest first (a conversation reads down)."""
    notes = list(db.execute(select(Note).where(Note.mention_id == mention_id)
                            .order_by(Note.created_at, Note.id)).scalars())  # type: ignore[arg-type]
    views = _views(db, notes)
    return [views[note.id] for note in notes]  # type: ignore[index]


def unread_count(db: Session, user: StaffUser) -> int:
    """How many notes mention ``user`` that they have not opened yet (the navigation's "Mentions")."""
    return db.scalar(select(func.count()).select_from(NoteMention)
                     .where(NoteMention.user_id == user.id, NoteMention.read_at.is_(None))) or 0  # type: ignore[union-attr]


def mentions_of(db: Session, user: StaffUser, limit: int = 100) -> list[MentionOfYou]:
    """The notes that mention ``user``, unread first, then newest first."""
    rows = db.execute(
        select(Note, Mention, NoteMention.read_at)
        .join(NoteMention, NoteMention.note_id == Note.id)
        .join(Mention, Mention.id == Note.mention_id)
        .where(NoteMention.user_id == user.id)
        .order_by(NoteMention.read_at.is_not(None), Note.created_at.desc(), Note.id.desc())  # type: ignore[union-attr, attr-defined]
        .limit(limit)
    ).all()
    views = _views(db, [note for note, _, _ in rows])
    return [MentionOfYou(views[note.id], mention, read_at) for note, mention, read_at in rows]  # type: ignore[index]


def mark_read(db: Session, user: StaffUser, mention_id: int) -> int:
    """``user`` opened the mention: the notes on it that mention them are read. Returns how many were unread."""
    on_mention = select(Note.id).where(Note.mention_id == mention_id)
    result = db.execute(update(NoteMention)
                        .where(NoteMention.user_id == user.id, NoteMention.read_at.is_(None),  # type: ignore[union-attr]
                               NoteMention.note_id.in_(on_mention))  # type: ignore[attr-defined]
                        .values(read_at=utcnow()))
    return result.rowcount or 0  # type: ignore[attr-defined]
