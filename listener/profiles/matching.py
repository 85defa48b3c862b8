"""The processing step that attaches every mention to a customer profile.

For each batch, in a few queries however large the batch:

1. authors whose account (platform, platform user id) is linked are attached to
   that profile at once; a renamed handle is written onto the identity, since
   the user id, not the handle, is the account;
2. the rest whose handle is listed on a profile (an imported identity that
   knows only the handle) are attached to it, and the identity learns the user
   id, so later renames are followed;
3. everyone else gets a new *prospect* profile with an automatic identity, so no
   mention is left unattached; a mention without any author gets a prospect of
   its own.

Then link suggestions are looked for among the new prospects
(:mod:`listener.profiles.link_suggestions`): never applied here, only proposed.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from listener.db import utcnow
from listener.models import Author, CustomerProfile, Identity, Mention, ProfileMatchKey
from listener.profiles.keys import handle_key, profile_keys
from listener.profiles.link_suggestions import CHUNK, suggest_links

log = logging.getLogger(__name__)

MAX_DISPLAY_NAME = 300


@dataclass
class MatchStats:
    """Running totals of one step instance: what attached how, and where the time went."""

    mentions: int = 0
    by_user_id: int = 0
    by_handle: int = 0
    prospects_created: int = 0
    renames_followed: int = 0
    suggestions: int = 0
    seconds_matching: float = 0.0
    seconds_suggesting: float = 0.0


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def prospect_name(author: Author) -> str:
    """What a stranger is called until someone knows better: the name shown on the platform."""
    name = " ".join((author.display_name or "").split())
    if not name and handle_key(author.handle):
        name = author.handle
    if not name:
        name = f"{author.platform} user {author.platform_user_id}"
    return name[:MAX_DISPLAY_NAME]


class ProfileMatchStep:
    """Attaches each new mention to a profile: known account, listed handle, or a new prospect."""

    name = "profiles"

    def __init__(self, suggest: bool = True) -> None:
        self.suggest = suggest
        self.stats = MatchStats()

    def process(self, session: Session, mentions: Sequence[Mention]) -> None:
        todo = [m for m in mentions if m.profile_id is None]
        if not todo:
            return
        started = time.perf_counter()
        author_ids = sorted({m.author_id for m in todo if m.author_id is not None})
        authors: dict[int, Author] = {}
        for chunk in _chunks(author_ids):
            for author in session.execute(select(Author).where(Author.id.in_(chunk))).scalars():  # type: ignore[union-attr]
                authors[author.id] = author  # type: ignore[index]
        profile_of = self._attach_known(session, list(authors.values()))
        strangers = [a for a in authors.values() if a.id not in profile_of]
        created = self._create_prospects(session, strangers, profile_of)
        for mention in todo:
            if mention.author_id is not None and mention.author_id in profile_of:
                mention.profile_id = profile_of[mention.author_id]
        anonymous = [m for m in todo if m.profile_id is None]
        if anonymous:
            self._anonymous_prospects(session, anonymous)
        self.stats.mentions += len(todo)
        self.stats.seconds_matching += time.perf_counter() - started
        if self.suggest and created:
            started = time.perf_counter()
            self.stats.suggestions += len(suggest_links(session, created))
            self.stats.seconds_suggesting += time.perf_counter() - started

    def _attach_known(self, session: Session, authors: list[Author]) -> dict[int, int]:
        """Authors whose account is linked, then authors whose handle is listed: author id -> profile id."""
        profile_of: dict[int, int] = {}
        by_platform: dict[str, dict[str, Author]] = defaultdict(dict)
        for author in authors:
            by_platform[author.platform][author.platform_user_id] = author
        renames: list[dict[str, Any]] = []
        now = utcnow()
        for platform, by_user in by_platform.items():
            for chunk in _chunks(list(by_user)):
                rows = session.execute(
                    select(Identity.id, Identity.profile_id, Identity.platform_user_id, Identity.handle).where(
                        Identity.platform == platform, Identity.platform_user_id.in_(chunk)  # type: ignore[union-attr]
                    )
                )
                for identity_id, profile_id, user_id, handle in rows:
                    author = by_user[user_id]
                    profile_of[author.id] = profile_id  # type: ignore[index]
                    if handle != author.handle:
                        renames.append({"id": identity_id, "handle": author.handle,
                                        "handle_key": handle_key(author.handle), "updated_at": now})
        self.stats.by_user_id += len(profile_of)
        if renames:
            session.execute(update(Identity), renames)
            self.stats.renames_followed += len(renames)

        by_handle: dict[tuple[str, str], Author] = {}
        for author in authors:
            key = handle_key(author.handle)
            if author.id not in profile_of and key:
                by_handle.setdefault((author.platform, key), author)
        for platform in {p for p, _ in by_handle}:
            keys = [k for p, k in by_handle if p == platform]
            for chunk in _chunks(keys):
                rows = session.execute(
                    select(Identity.id, Identity.profile_id, Identity.handle_key, Identity.platform_user_id)
                    .join(CustomerProfile, CustomerProfile.id == Identity.profile_id)
                    .where(Identity.platform == platform, Identity.handle_key.in_(chunk))  # type: ignore[union-attr]
                    # Two profiles listing one handle: the imported customer, then the oldest, wins.
                    .order_by(CustomerProfile.is_prospect, Identity.id)
                )
                claims: dict[str, tuple[int, int]] = {}
                for identity_id, profile_id, key, user_id in rows:
                    # Only a handle nobody has claimed yet is "listed"; filtered here rather than in SQL,
                    # where "platform_user_id IS NULL" would lead SQLite to walk every unclaimed identity.
                    if user_id is None:
                        claims.setdefault(key, (identity_id, profile_id))
                self._claim(session, platform, claims, by_handle, profile_of, now)
        return profile_of

    def _claim(
        self,
        session: Session,
        platform: str,
        claims: dict[str, tuple[int, int]],
        by_handle: dict[tuple[str, str], Author],
        profile_of: dict[int, int],
        now: Any,
    ) -> None:
        """Listed handles learn their user id: one batched UPDATE, then one SELECT to see which took."""
        if not claims:
            return
        table = Identity.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(table.c.id == bindparam("claim_id"), table.c.platform_user_id.is_(None))
            .values(platform_user_id=bindparam("claim_user"), handle=bindparam("claim_handle"), updated_at=now)
        )
        params = [
            {"claim_id": identity_id, "claim_user": by_handle[(platform, key)].platform_user_id,
             "claim_handle": by_handle[(platform, key)].handle}
            for key, (identity_id, _) in claims.items()
        ]
        session.execute(statement, params)
        # Another worker may have claimed one first: only identities now holding our author's id count.
        taken = dict(
            session.execute(
                select(Identity.id, Identity.platform_user_id).where(Identity.id.in_([i for i, _ in claims.values()]))  # type: ignore[union-attr]
            ).all()
        )
        for key, (identity_id, profile_id) in claims.items():
            author = by_handle[(platform, key)]
            if taken.get(identity_id) == author.platform_user_id:
                profile_of[author.id] = profile_id  # type: ignore[index]
                self.stats.by_handle += 1

    def _create_prospects(self, session: Session, strangers: list[Author], profile_of: dict[int, int]) -> list[int]:
        """One prospect profile and automatic identity per unknown author; returns the new profile ids."""
        if not strangers:
            return []
        now = utcnow()
        names = [prospect_name(a) for a in strangers]
        rows = [
            {"display_name": name, "tier": "standard", "is_prospect": True, "emails": [], "tags": [],
             "created_at": now, "updated_at": now}
            for name in names
        ]
        ids = self._insert_profiles(session, rows)
        identities = Identity.__table__  # type: ignore[attr-defined]
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        identity_rows = [
            {"profile_id": profile_id, "platform": a.platform, "platform_user_id": a.platform_user_id,
             "handle": a.handle, "handle_key": handle_key(a.handle), "provenance": "automatic", "confidence": 1.0,
             "created_at": now, "updated_at": now}
            for profile_id, a in zip(ids, strangers, strict=True)
        ]
        # Another worker may have linked the same account a moment ago: its identity wins.
        statement = (
            dialect.insert(identities)
            .on_conflict_do_nothing(index_elements=["platform", "platform_user_id"])
            .returning(identities.c.profile_id)
        )
        inserted = set(session.execute(statement, identity_rows).scalars())
        lost = [(profile_id, a) for profile_id, a in zip(ids, strangers, strict=True) if profile_id not in inserted]
        if lost:
            session.execute(delete(CustomerProfile).where(CustomerProfile.id.in_([p for p, _ in lost])))  # type: ignore[union-attr]
            for _, author in lost:
                winner = session.execute(
                    select(Identity.profile_id).where(
                        Identity.platform == author.platform, Identity.platform_user_id == author.platform_user_id
                    )
                ).scalar_one()
                profile_of[author.id] = winner  # type: ignore[index]
        created: list[int] = []
        key_rows: list[dict[str, Any]] = []
        for profile_id, author, name in zip(ids, strangers, names, strict=True):
            if profile_id in inserted:
                profile_of[author.id] = profile_id  # type: ignore[index]
                created.append(profile_id)
                key_rows.extend({"key": key, "profile_id": profile_id} for key in profile_keys(name, []))
        if key_rows:
            session.execute(insert(ProfileMatchKey.__table__), key_rows)  # type: ignore[attr-defined]
        self.stats.prospects_created += len(created)
        return created

    @staticmethod
    def _insert_profiles(session: Session, rows: list[dict[str, Any]]) -> list[int]:
        """Insert the rows in one batched statement; returns their ids in the order of ``rows``."""
        table = CustomerProfile.__table__  # type: ignore[attr-defined]
        if session.get_bind().dialect.name == "postgresql":
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return list(session.execute(statement, rows).scalars())
        # SQLAlchemy would insert row by row to guarantee the order on SQLite. One multi-row
        # INSERT gives rows increasing rowids in VALUES order (this transaction holds the only
        # write lock); the names read back confirm it, else the rows are looked up one by one.
        ids = sorted(session.execute(insert(table).returning(table.c.id), rows).scalars())
        stored = dict(session.execute(select(table.c.id, table.c.display_name).where(table.c.id.in_(ids))).all())
        if [stored[i] for i in ids] == [row["display_name"] for row in rows]:
            return ids
        raise RuntimeError("prospect ids could not be matched to their rows")  # pragma: no cover - never seen

    def _anonymous_prospects(self, session: Session, mentions: list[Mention]) -> None:
        """A mention with no author (a deleted account) still gets a profile: a stranger of its own."""
        now = utcnow()
        for mention in mentions:
            profile = CustomerProfile(
                display_name=f"Unknown {mention.platform} author", is_prospect=True, tags=["no-author"],
                created_at=now, updated_at=now,
            )
            session.add(profile)
            session.flush()
            mention.profile_id = profile.id
            self.stats.prospects_created += 1
