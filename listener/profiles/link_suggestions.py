"""Suggested links between profiles: found automatically, applied only when a person confirms.

A wrong automatic merge would show one person's complaints on a stranger's
profile, so evidence that two profiles are one person only ever becomes a
*suggestion* with a score and its reasons. Staff confirm it (the profiles are
merged, which can be undone) or dismiss it (the pair is never proposed again).

The evidence, for a profile just created or imported (the *subject*):

====================  =====  ==========================================================
rule                  score  when
====================  =====  ==========================================================
bio_profile_url       0.9    the author's bio links to an account linked to the candidate
bio_email             0.9    the author's bio gives an email of the candidate
crm_handle            0.9    the CRM lists a handle whose account is on the candidate
same_handle           0.6    the same handle on the other platform
customer_name         ≤0.5   the name fuzzy-matches an imported customer (prospect vs customer)
similar_display_name  ≤0.4   very similar display names on different platforms (two prospects)
====================  =====  ==========================================================

Scores of several reasons combine as independent evidence: 1 − Π(1 − score).
Candidates come from indexed lookups (identity handles, emails and name blocking
keys in ``profile_match_keys``), never from a scan of every profile; rapidfuzz then
scores only those few candidates.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from listener.db import utcnow
from listener.models import (
    AuditEvent,
    Author,
    CustomerProfile,
    Identity,
    LinkSuggestion,
    ProfileMerge,
)
from listener.platforms import all_platforms, platform_names
from listener.profiles.errors import MergeRefused, SuggestionAlreadyDecided, SuggestionNotFound
from listener.profiles.keys import handle_key, keyed_profiles, name_form, name_numbers
from listener.profiles.merging import merge_profiles
from listener.profiles.name_blocks import (  # noqa: F401 - the name-matching constants were defined here
    MIN_NAME_LENGTH,
    NAME_CANDIDATES_PER_SUBJECT,
    NAME_SCORE_CUTOFF,
    BlockMember,
    NameBlocks,
    best_name_matches,
)
from listener.statuses import LINK_CONFIRMED, LINK_DISMISSED, LINK_OPEN, LINK_SUPERSEDED

RULE_SCORES: dict[str, float] = {
    "bio_profile_url": 0.9,
    "bio_email": 0.9,
    "crm_handle": 0.9,
    "same_handle": 0.6,
    "customer_name": 0.5,
    "similar_display_name": 0.4,
}
MAX_BIO_LENGTH = 2000
MAX_BIO_FINDINGS = 5
CHUNK = 500  # values per IN (...) list: well under SQLite's bound-parameter limit

# The statuses of a suggested link (defined once, with the tables' other status lists).
OPEN, CONFIRMED, DISMISSED, SUPERSEDED = LINK_OPEN, LINK_CONFIRMED, LINK_DISMISSED, LINK_SUPERSEDED
# Named in handle lookups so that the (platform, handle_key) index serves them.

_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}")


@dataclass
class Subject:
    """A profile to find links for: its name, its accounts and what their bios say."""

    profile_id: int
    display_name: str
    is_prospect: bool
    accounts: list[tuple[str, str | None]] = field(default_factory=list)  # (platform, handle key)
    bios: list[str] = field(default_factory=list)

    @property
    def platforms(self) -> set[str]:
        return {platform for platform, _ in self.accounts}


@dataclass(frozen=True)
class Reason:
    """One piece of evidence that two profiles are one person."""

    rule: str
    detail: str
    score: float

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "detail": self.detail, "score": round(self.score, 3)}


@dataclass(frozen=True)
class ProfileBrief:
    id: int
    display_name: str
    is_prospect: bool
    tier: str


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion as staff see it: both profiles, the score and the reasons."""

    id: int
    score: float
    reasons: list[dict[str, Any]]
    status: str
    profile_a: ProfileBrief
    profile_b: ProfileBrief
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None


def combined_score(scores: Iterable[float]) -> float:
    """Independent pieces of evidence: the chance that not all of them are wrong."""
    remaining = 1.0
    for score in scores:
        remaining *= 1.0 - min(max(score, 0.0), 1.0)
    return round(1.0 - remaining, 3)


def bio_findings(bio: str | None) -> tuple[list[str], list[tuple[str, str]]]:
    """Emails and platform accounts (platform, handle key) that a bio mentions."""
    if not bio:
        return [], []
    text = bio[:MAX_BIO_LENGTH]
    emails = list(dict.fromkeys(m.casefold() for m in _EMAIL_IN_TEXT.findall(text)))[:MAX_BIO_FINDINGS]
    accounts: list[tuple[str, str]] = []
    for platform in all_platforms():
        for match in platform.profile_handles(text):
            key = handle_key(match)
            if key:
                accounts.append((platform.name, key))
    return emails, list(dict.fromkeys(accounts))[:MAX_BIO_FINDINGS]


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_subjects(session: Session, profile_ids: Sequence[int]) -> list[Subject]:
    """Live profiles with their accounts and the bios of the authors behind them (two queries)."""
    subjects: dict[int, Subject] = {}
    for chunk in _chunks(list(dict.fromkeys(profile_ids))):
        rows = session.execute(
            select(CustomerProfile.id, CustomerProfile.display_name, CustomerProfile.is_prospect).where(
                CustomerProfile.id.in_(chunk), CustomerProfile.merged_into_id.is_(None)  # type: ignore[union-attr]
            )
        )
        for profile_id, name, is_prospect in rows:
            subjects[profile_id] = Subject(profile_id, name, is_prospect)
        rows = session.execute(
            select(Identity.profile_id, Identity.platform, Identity.handle_key, Author.bio)
            .outerjoin(
                Author,
                and_(Author.platform == Identity.platform, Author.platform_user_id == Identity.platform_user_id),
            )
            .where(Identity.profile_id.in_(chunk))  # type: ignore[attr-defined]
        )
        for profile_id, platform, key, bio in rows:
            subject = subjects.get(profile_id)
            if subject is not None:
                subject.accounts.append((platform, key))
                if bio:
                    subject.bios.append(bio)
    return list(subjects.values())


def suggest_links(
    session: Session, profile_ids: Sequence[int], blocks: NameBlocks | None = None
) -> list[LinkSuggestion]:
    """Find and record link suggestions for these profiles; returns the new suggestions."""
    return suggest_for_subjects(session, load_subjects(session, profile_ids), blocks)


def suggest_link_ids(session: Session, profile_ids: Sequence[int], blocks: NameBlocks | None = None) -> list[int]:
    """Like :func:`suggest_links`, returning only the new suggestions' ids (bulk callers count them).

    Callers that suggest for many chunks in a row while no profile changes (an import)
    pass one ``blocks`` so that each blocking key is read once, not once per chunk.
    """
    subjects = load_subjects(session, profile_ids)
    return record_suggestion_ids(session, _gather_evidence(session, subjects, blocks).pairs) if subjects else []


class _Evidence:
    """Reasons gathered per canonical pair, the best per rule."""

    def __init__(self) -> None:
        self.pairs: dict[tuple[int, int], dict[str, Reason]] = defaultdict(dict)

    def add(self, first: int, second: int, reason: Reason) -> None:
        if first == second:
            return
        pair = (min(first, second), max(first, second))
        best = self.pairs[pair].get(reason.rule)
        if best is None or reason.score > best.score:
            self.pairs[pair][reason.rule] = reason


def suggest_for_subjects(
    session: Session, subjects: Sequence[Subject], blocks: NameBlocks | None = None
) -> list[LinkSuggestion]:
    """Gather the evidence for these subjects with a few indexed queries, then record new pairs."""
    if not subjects:
        return []
    return record_suggestions(session, _gather_evidence(session, subjects, blocks).pairs)


def _gather_evidence(session: Session, subjects: Sequence[Subject], blocks: NameBlocks | None) -> _Evidence:
    evidence = _Evidence()
    _handle_evidence(session, subjects, evidence)
    _email_evidence(session, subjects, evidence)
    _name_evidence(session, subjects, evidence, blocks)
    return evidence


def _handle_evidence(session: Session, subjects: Sequence[Subject], evidence: _Evidence) -> None:
    wanted: dict[str, list[tuple[Subject, str, str]]] = defaultdict(list)  # key -> (subject, rule, platform)
    for subject in subjects:
        for platform, key in subject.accounts:
            if key:
                wanted[key].append((subject, "same_handle", platform))
        for bio in subject.bios:
            for platform, key in bio_findings(bio)[1]:
                wanted[key].append((subject, "bio_profile_url", platform))
    if not wanted:
        return
    for chunk in _chunks(list(wanted)):
        # Identities always sit on live profiles: a merge moves them to the survivor.
        rows = session.execute(
            select(Identity.profile_id, Identity.platform, Identity.handle, Identity.handle_key).where(
                Identity.platform.in_(platform_names()), Identity.handle_key.in_(chunk)  # type: ignore[attr-defined]
            )
        )
        for profile_id, platform, handle, key in rows:
            for subject, rule, subject_platform in wanted[key]:
                if rule == "same_handle" and platform != subject_platform:
                    detail = f"same handle {handle} on {subject_platform} and {platform}"
                elif rule == "bio_profile_url" and platform == subject_platform:
                    detail = f"bio links to the {platform} account {handle}"
                else:
                    continue
                evidence.add(subject.profile_id, profile_id, Reason(rule, _short(detail), RULE_SCORES[rule]))


def _email_evidence(session: Session, subjects: Sequence[Subject], evidence: _Evidence) -> None:
    wanted: dict[str, list[Subject]] = defaultdict(list)
    for subject in subjects:
        for bio in subject.bios:
            for email in bio_findings(bio)[0]:
                wanted["e:" + email].append(subject)
    for chunk in _chunks(list(wanted)):
        rows = session.execute(keyed_profiles(chunk))
        for key, profile_id, _, _, merged_into_id in rows:
            if merged_into_id is not None:
                continue
            for subject in wanted[key]:
                detail = _short(f"bio gives {key[2:]}, an email of this profile")
                reason = Reason("bio_email", detail, RULE_SCORES["bio_email"])
                evidence.add(subject.profile_id, profile_id, reason)


def name_matches(
    session: Session, subjects: Sequence[Subject], blocks: NameBlocks | None = None
) -> list[tuple[Subject, BlockMember, float]]:
    """(subject, profile, similarity) for each subject's best name matches among the profiles sharing a key.

    A customer is matched with prospects only, a prospect with any profile; at most
    ``NAME_CANDIDATES_PER_SUBJECT`` per subject at or above ``NAME_SCORE_CUTOFF``, most
    similar first, ties to the lower profile id; then a match whose name carries other
    numbers ("Fan 2024", "Fan 1999") is dropped.
    """
    named: list[tuple[Subject, str, list[str]]] = []
    for subject in subjects:
        name, keys = name_form(subject.display_name)
        if len(name.replace(" ", "")) < MIN_NAME_LENGTH:
            continue
        named.append((subject, name, keys))
    if not named:
        return []
    blocks = blocks if blocks is not None else NameBlocks()
    # Two customers alike by name are the CRM's business: no rule links them, so a customer's
    # keys are looked up among prospects only.
    blocks.load(
        session,
        everyone=(key for subject, _, keys in named if subject.is_prospect for key in keys),
        prospects_only=(key for subject, _, keys in named if not subject.is_prospect for key in keys),
    )
    hits: list[tuple[Subject, BlockMember, float]] = []
    for subject, name, keys in named:
        candidates: dict[int, BlockMember] = {}
        for key in keys:
            for member in blocks.members(key, prospects_only=not subject.is_prospect):
                if member.profile_id != subject.profile_id:
                    candidates[member.profile_id] = member
        if not candidates:
            continue
        ordered = [candidates[profile_id] for profile_id in sorted(candidates)]  # ties go to the older profile
        numbers = name_numbers(subject.display_name)
        for index, similarity in best_name_matches(name, [m.normalised for m in ordered]):
            theirs = name_numbers(ordered[index].display_name)
            if numbers and theirs and numbers != theirs:
                continue  # numbers were dropped for matching; two different ones mean two people
            hits.append((subject, ordered[index], similarity))
    return hits


def _name_evidence(
    session: Session, subjects: Sequence[Subject], evidence: _Evidence, blocks: NameBlocks | None = None
) -> None:
    hits = name_matches(session, subjects, blocks)
    if not hits:
        return
    platforms: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(list({member.profile_id for _, member, _ in hits})):
        for profile_id, platform in session.execute(
            select(Identity.profile_id, Identity.platform).where(Identity.profile_id.in_(chunk))  # type: ignore[attr-defined]
        ):
            platforms[profile_id].add(platform)
    for subject, member, similarity in hits:
        profile_id, name, is_prospect = member.profile_id, member.display_name, member.is_prospect
        if subject.is_prospect != is_prospect:
            prospect, customer = (subject.display_name, name) if subject.is_prospect else (name, subject.display_name)
            detail = f"name {_short(prospect, 40)!r} matches customer {_short(customer, 40)!r} ({similarity:.0f}%)"
            reason = Reason("customer_name", detail, RULE_SCORES["customer_name"] * similarity / 100)
        elif subject.is_prospect and subject.platforms and platforms[profile_id] - subject.platforms:
            theirs = ", ".join(sorted(platforms[profile_id] - subject.platforms))
            ours = ", ".join(sorted(subject.platforms))
            detail = (
                f"display name {_short(subject.display_name, 40)!r} on {ours} is {similarity:.0f}% like "
                f"{_short(name, 40)!r} on {theirs}"
            )
            reason = Reason("similar_display_name", detail, RULE_SCORES["similar_display_name"] * similarity / 100)
        else:
            continue
        evidence.add(subject.profile_id, profile_id, reason)


def record_suggestions(
    session: Session, pairs: dict[tuple[int, int], dict[str, Reason]]
) -> list[LinkSuggestion]:
    """Store suggestions for pairs never proposed before (open, confirmed, dismissed alike are skipped)."""
    ids = record_suggestion_ids(session, pairs)
    if not ids:
        return []
    return list(session.execute(select(LinkSuggestion).where(LinkSuggestion.id.in_(ids))).scalars())  # type: ignore[union-attr]


def record_suggestion_ids(session: Session, pairs: dict[tuple[int, int], dict[str, Reason]]) -> list[int]:
    """Like :func:`record_suggestions`, returning only the new suggestions' ids."""
    if not pairs:
        return []
    existing: set[tuple[int, int]] = set()
    keys = list(pairs)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # On SQLite the insert's ON CONFLICT alone skips the pairs proposed before: SQLite cannot use
    # the pair's index for a row-value IN list, so looking them up first read every suggestion
    # once per chunk. PostgreSQL uses the index, and looking first spares ids of its sequence.
    for chunk in _chunks(keys, 250) if dialect is postgresql else ():
        existing.update(
            session.execute(
                select(LinkSuggestion.profile_a_id, LinkSuggestion.profile_b_id).where(
                    tuple_(LinkSuggestion.profile_a_id, LinkSuggestion.profile_b_id).in_(chunk)
                )
            ).all()
        )
    now = utcnow()
    rows = []
    for (a, b), reasons in pairs.items():
        if (a, b) in existing:
            continue
        ordered = sorted(reasons.values(), key=lambda r: -r.score)
        rows.append({
            "profile_a_id": a, "profile_b_id": b, "score": combined_score(r.score for r in ordered),
            "reasons": [r.as_json() for r in ordered], "status": OPEN, "created_at": now,
        })
    if not rows:
        return []
    table = LinkSuggestion.__table__  # type: ignore[attr-defined]
    # Another worker may record the same pair at the same moment: the unique pair keeps one.
    statement = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["profile_a_id", "profile_b_id"])
        .returning(table.c.id)
    )
    return [row[0] for row in session.execute(statement, rows)]


def add_suggestion(session: Session, first: int, second: int, reasons: Sequence[Reason]) -> LinkSuggestion | None:
    """Record one suggestion with these reasons unless the pair was proposed before."""
    evidence = _Evidence()
    for reason in reasons:
        evidence.add(first, second, reason)
    created = record_suggestions(session, evidence.pairs)
    return created[0] if created else None


def _brief(profile: CustomerProfile) -> ProfileBrief:
    return ProfileBrief(profile.id, profile.display_name, profile.is_prospect, profile.tier)  # type: ignore[arg-type]


def list_suggestions(
    session: Session, *, status: str = OPEN, profile_id: int | None = None, limit: int = 100
) -> list[SuggestionView]:
    """Suggestions in one state (open by default), strongest first."""
    statement = select(LinkSuggestion).where(LinkSuggestion.status == status)
    if profile_id is not None:
        statement = statement.where(
            or_(LinkSuggestion.profile_a_id == profile_id, LinkSuggestion.profile_b_id == profile_id)
        )
    statement = statement.order_by(LinkSuggestion.score.desc(), LinkSuggestion.id).limit(limit)  # type: ignore[attr-defined]
    suggestions = list(session.execute(statement).scalars())
    ids = {s.profile_a_id for s in suggestions} | {s.profile_b_id for s in suggestions}
    profiles = {
        p.id: p
        for p in session.execute(select(CustomerProfile).where(CustomerProfile.id.in_(ids))).scalars()  # type: ignore[union-attr]
    }
    return [view(s, profiles[s.profile_a_id], profiles[s.profile_b_id]) for s in suggestions]


def view(suggestion: LinkSuggestion, a: CustomerProfile, b: CustomerProfile) -> SuggestionView:
    return SuggestionView(
        suggestion.id, suggestion.score, list(suggestion.reasons), suggestion.status, _brief(a), _brief(b),  # type: ignore[arg-type]
        suggestion.created_at, suggestion.decided_by, suggestion.decided_at,
    )


def get_suggestion(session: Session, suggestion_id: int) -> LinkSuggestion:
    suggestion = session.get(LinkSuggestion, suggestion_id)
    if suggestion is None:
        raise SuggestionNotFound(f"no suggestion {suggestion_id}")
    return suggestion


def _open(session: Session, suggestion_id: int) -> LinkSuggestion:
    suggestion = get_suggestion(session, suggestion_id)
    if suggestion.status != OPEN:
        when = f" at {suggestion.decided_at:%Y-%m-%d %H:%M} UTC" if suggestion.decided_at else ""
        by = f" by {suggestion.decided_by}" if suggestion.decided_by else ""
        raise SuggestionAlreadyDecided(f"suggestion {suggestion_id} was already {suggestion.status}{by}{when}")
    return suggestion


def confirm_suggestion(
    session: Session, suggestion_id: int, *, by: str, survivor_id: int | None = None
) -> ProfileMerge:
    """Accept a suggestion: merge the two profiles (recorded, undoable) and mark it confirmed.

    The survivor is the imported customer when only one of the two is, else the
    older profile, unless ``survivor_id`` names one of the pair.
    """
    suggestion = _open(session, suggestion_id)
    a = session.get(CustomerProfile, suggestion.profile_a_id)
    b = session.get(CustomerProfile, suggestion.profile_b_id)
    assert a is not None and b is not None
    if survivor_id is None:
        survivor, other = (b, a) if (a.is_prospect and not b.is_prospect) else (a, b)
    elif survivor_id in (a.id, b.id):
        survivor, other = (a, b) if survivor_id == a.id else (b, a)
    else:
        raise MergeRefused(f"profile {survivor_id} is not one of suggestion {suggestion_id}'s pair")
    return merge_profiles(session, survivor.id, other.id, by=by, suggestion_id=suggestion.id)  # type: ignore[arg-type]


def dismiss_suggestion(session: Session, suggestion_id: int, *, by: str) -> LinkSuggestion:
    """Reject a suggestion: recorded with who and when; the pair is never proposed again."""
    suggestion = _open(session, suggestion_id)
    suggestion.status, suggestion.decided_by, suggestion.decided_at = DISMISSED, by, utcnow()
    session.add(
        AuditEvent(
            actor=by, action="profile_suggestion.dismiss", object_type="profile_link_suggestion",
            object_id=str(suggestion_id), before={"status": OPEN}, after={"status": DISMISSED},
        )
    )
    session.flush()
    return suggestion
