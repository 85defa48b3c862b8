"""Merging two profiles into one, and undoing a merge exactly.

A merge moves the other profile's identities and mentions to the survivor,
adds its emails and tags to the survivor's, keeps the survivor's other fields,
and marks the other profile merged (kept, hidden from lists). Everything needed
to undo it is written down first, in the ``profile_merges`` row: both profiles'
fields, identity ids and mention ids, and the suggestions the merge closed.

Undoing restores both profiles as they were. Two cases need care:

- a later merge that involves either profile builds on this one, so undoing
  this one first would tear it apart: refused, naming the later merge;
- the survivor edited after the merge (a note, a re-import): an edited field
  keeps its later value (emails and tags lose only what the merge added), and
  the result lists what was kept, so no one's work is silently thrown away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlmodel import Session

from listener.db import utcnow
from listener.models import AuditEvent, Author, CustomerProfile, Identity, LinkSuggestion, Mention, ProfileMerge
from listener.profiles.errors import MergeNotFound, MergeRefused, UnmergeRefused
from listener.profiles.keys import drop_keys, index_profiles
from listener.profiles.store import get_profile, profile_fields, restore_fields, union
from listener.statuses import LINK_CONFIRMED, LINK_OPEN, LINK_SUPERSEDED

_LIST_FIELDS = ("emails", "tags")


@dataclass
class UnmergeResult:
    """The undone merge, and the survivor's fields that kept a value set after the merge."""

    merge: ProfileMerge
    kept_later_edits: list[str] = field(default_factory=list)


def _identity_ids(session: Session, profile_id: int) -> list[int]:
    statement = select(Identity.id).where(Identity.profile_id == profile_id).order_by(Identity.id)  # type: ignore[arg-type]
    return list(session.execute(statement).scalars())


def _mention_ids(session: Session, profile_id: int) -> list[int]:
    statement = select(Mention.id).where(Mention.profile_id == profile_id).order_by(Mention.id)  # type: ignore[arg-type]
    return list(session.execute(statement).scalars())


def _suggestion_state(suggestion: LinkSuggestion) -> dict[str, object]:
    return {
        "id": suggestion.id,
        "status": suggestion.status,
        "decided_by": suggestion.decided_by,
        "decided_at": suggestion.decided_at.isoformat() if suggestion.decided_at else None,
    }


def merge_profiles(
    session: Session, survivor_id: int, other_id: int, *, by: str, suggestion_id: int | None = None
) -> ProfileMerge:
    """Merge ``other_id`` into ``survivor_id`` (recorded, undoable with :func:`unmerge`)."""
    if not by.strip():
        raise MergeRefused("say who merges (by)")
    if survivor_id == other_id:
        same = get_profile(session, survivor_id)
        raise MergeRefused(f"{same.display_name} cannot be merged into itself: pick another profile to keep")
    # Lock both rows (PostgreSQL) so a concurrent merge of the same profiles waits, in id order.
    for profile_id in sorted((survivor_id, other_id)):
        session.execute(select(CustomerProfile.id).where(CustomerProfile.id == profile_id).with_for_update())
    survivor = get_profile(session, survivor_id)
    other = get_profile(session, other_id)
    session.refresh(survivor)
    session.refresh(other)
    for profile in (survivor, other):
        if profile.merged_into_id is not None:
            into = get_profile(session, profile.merged_into_id)
            raise MergeRefused(
                f"{profile.display_name} (profile {profile.id}) was already merged into {into.display_name} "
                f"(profile {into.id}); merge its survivor instead, or undo that merge first"
            )
    now = utcnow()
    touching = list(
        session.execute(
            select(LinkSuggestion)
            .where(
                or_(
                    LinkSuggestion.profile_a_id.in_((survivor_id, other_id)),  # type: ignore[attr-defined]
                    LinkSuggestion.profile_b_id.in_((survivor_id, other_id)),  # type: ignore[attr-defined]
                ),
                or_(LinkSuggestion.status == LINK_OPEN, LinkSuggestion.id == suggestion_id),
            )
            .order_by(LinkSuggestion.id)
        ).scalars()
    )
    before = {
        "survivor": profile_fields(survivor),
        "merged": profile_fields(other),
        "survivor_identity_ids": _identity_ids(session, survivor_id),
        "merged_identity_ids": _identity_ids(session, other_id),
        "survivor_mention_ids": _mention_ids(session, survivor_id),
        "merged_mention_ids": _mention_ids(session, other_id),
        # Mentions collected after the merge have larger ids: unmerge sends those of the
        # merged profile's accounts back to it too.
        "last_mention_id": session.scalar(select(func.max(Mention.id))) or 0,
        "suggestions": [_suggestion_state(s) for s in touching],
    }
    session.execute(update(Identity).where(Identity.profile_id == other_id).values(profile_id=survivor_id))
    session.execute(update(Mention).where(Mention.profile_id == other_id).values(profile_id=survivor_id))
    survivor.emails = union(survivor.emails, other.emails)
    survivor.tags = union(survivor.tags, other.tags)
    survivor.updated_at = now
    other.merged_into_id = survivor_id
    other.updated_at = now
    for suggestion in touching:
        if suggestion.id == suggestion_id:
            suggestion.status = LINK_CONFIRMED
        elif other_id in (suggestion.profile_a_id, suggestion.profile_b_id):
            # Its pair no longer exists as such; the survivor's own suggestions stay open.
            suggestion.status = LINK_SUPERSEDED
        else:
            continue
        suggestion.decided_by, suggestion.decided_at = by, now
    session.flush()
    index_profiles(session, [survivor])
    drop_keys(session, [other_id])
    merge = ProfileMerge(
        survivor_id=survivor_id, merged_id=other_id, suggestion_id=suggestion_id, merged_by=by, merged_at=now,
        before=before, after=profile_fields(survivor),
    )
    session.add(merge)
    session.flush()
    session.add(
        AuditEvent(
            actor=by, action="profile.merge", object_type="customer_profile", object_id=str(survivor_id),
            before={"survivor": before["survivor"], "merged": before["merged"]},
            after={"merge_id": merge.id, "merged_into": survivor_id, "suggestion_id": suggestion_id},
        )
    )
    session.flush()
    return merge


def get_merge(session: Session, merge_id: int) -> ProfileMerge:
    merge = session.get(ProfileMerge, merge_id)
    if merge is None:
        raise MergeNotFound(f"no merge {merge_id}")
    return merge


def merges_of(session: Session, profile_id: int) -> list[ProfileMerge]:
    """Every merge the profile took part in, oldest first."""
    statement = select(ProfileMerge).where(
        or_(ProfileMerge.survivor_id == profile_id, ProfileMerge.merged_id == profile_id)
    )
    return list(session.execute(statement.order_by(ProfileMerge.id)).scalars())


def unmerge(session: Session, merge_id: int, *, by: str) -> UnmergeResult:
    """Undo a merge: both profiles, their identities, mentions and suggestions as they were."""
    if not by.strip():
        raise UnmergeRefused("say who undoes the merge (by)")
    merge = get_merge(session, merge_id)
    if merge.undone_at is not None:
        when = f"{merge.undone_at:%Y-%m-%d %H:%M} UTC"
        raise UnmergeRefused(f"merge {merge_id} was already undone by {merge.undone_by} at {when}")
    pair = (merge.survivor_id, merge.merged_id)
    later = session.execute(
        select(ProfileMerge)
        .where(
            ProfileMerge.id > merge_id,
            ProfileMerge.undone_at.is_(None),  # type: ignore[union-attr]
            or_(ProfileMerge.survivor_id.in_(pair), ProfileMerge.merged_id.in_(pair)),  # type: ignore[attr-defined]
        )
        .order_by(ProfileMerge.id.desc())  # type: ignore[union-attr]
    ).scalars().all()
    if later:
        names = ", ".join(f"merge {m.id} (profile {m.merged_id} into {m.survivor_id})" for m in later)
        raise UnmergeRefused(f"undo the later {names} first: it involves a profile of merge {merge_id}")
    for profile_id in sorted(pair):
        session.execute(select(CustomerProfile.id).where(CustomerProfile.id == profile_id).with_for_update())
    survivor = get_profile(session, merge.survivor_id)
    other = get_profile(session, merge.merged_id)
    session.refresh(survivor)
    session.refresh(other)
    before, after = merge.before, merge.after
    now = utcnow()

    kept = _restore_survivor(survivor, before["survivor"], after, now)
    restore_fields(other, before["merged"])

    identity_ids = before["merged_identity_ids"]
    if identity_ids:
        session.execute(
            update(Identity)
            .where(Identity.id.in_(identity_ids), Identity.profile_id == survivor.id)  # type: ignore[union-attr]
            .values(profile_id=other.id)
        )
    mention_ids = before["merged_mention_ids"]
    if mention_ids:
        session.execute(
            update(Mention)
            .where(Mention.id.in_(mention_ids), Mention.profile_id == survivor.id)  # type: ignore[union-attr]
            .values(profile_id=other.id)
        )
    _return_later_mentions(session, survivor.id, other.id, identity_ids, before["last_mention_id"])  # type: ignore[arg-type]

    for state in before["suggestions"]:
        suggestion = session.get(LinkSuggestion, state["id"])
        if suggestion is not None:
            suggestion.status = state["status"]
            suggestion.decided_by = state["decided_by"]
            suggestion.decided_at = datetime.fromisoformat(state["decided_at"]) if state["decided_at"] else None
    merge.undone_at, merge.undone_by = now, by
    session.flush()
    index_profiles(session, [survivor, other])
    session.add(
        AuditEvent(
            actor=by, action="profile.unmerge", object_type="customer_profile", object_id=str(survivor.id),
            before={"merge_id": merge_id}, after={"restored": [survivor.id, other.id], "kept_later_edits": kept},
        )
    )
    session.flush()
    return UnmergeResult(merge, kept)


def _restore_survivor(
    survivor: CustomerProfile, before: dict[str, Any], after: dict[str, Any], now: datetime
) -> list[str]:
    """Three-way restore: a field untouched since the merge returns to ``before``; an edited one is kept."""
    current = profile_fields(survivor)
    restored = dict(before)
    kept: list[str] = []
    for name, value in current.items():
        if name in {"id", "updated_at"} or value == after.get(name):
            continue
        kept.append(name)
        if name in _LIST_FIELDS:
            added_by_merge = set(after[name]) - set(before[name])
            restored[name] = [item for item in value if item not in added_by_merge]
        else:
            restored[name] = value
    if kept:
        restored["updated_at"] = now.isoformat()
    restore_fields(survivor, restored)
    return kept


def _return_later_mentions(
    session: Session, survivor_id: int, other_id: int, identity_ids: list[int], last_mention_id: int
) -> None:
    """Mentions collected after the merge from the merged profile's accounts go back to it too."""
    if not identity_ids:
        return
    accounts = session.execute(
        select(Identity.platform, Identity.platform_user_id).where(
            Identity.id.in_(identity_ids), Identity.platform_user_id.is_not(None)  # type: ignore[union-attr]
        )
    ).all()
    if not accounts:
        return
    author_ids = select(Author.id).where(tuple_(Author.platform, Author.platform_user_id).in_(accounts))
    session.execute(
        update(Mention)
        .where(
            and_(
                Mention.profile_id == survivor_id,
                Mention.id > last_mention_id,  # type: ignore[operator]
                Mention.author_id.in_(author_ids),  # type: ignore[union-attr]
            )
        )
        .values(profile_id=other_id)
    )
