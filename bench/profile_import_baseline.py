"""The CSV profile import as it was before it was made to scale: the baseline of bench/profile_import.py.

A frozen copy of ``listener/profiles/crm.py``'s import path, of ``_name_evidence`` and
``record_suggestions`` from ``listener/profiles/suggestions.py`` and of the name keys from
``listener/profiles/keys.py`` at commit 3911c9e (the whole file decoded in memory, every
record kept, one ORM object per row, name candidates read again for every chunk of 500 new
profiles, earlier suggestions looked for by a scan on SQLite). Only the benchmark imports
it; the helpers that have not changed since (row checks, lookups) are imported, not copied.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from rapidfuzz import fuzz, process
from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from listener.db import utcnow
from listener.models import CustomerProfile, Identity, LinkSuggestion, ProfileMatchKey
from listener.platforms import platform_names
from listener.profiles.crm import (
    _CHUNK,
    ColumnMapping,
    CustomerRecord,
    ImportReport,
    RowProblem,
    _decode,
    _header,
    _LeftAlone,
    _record,
)
from listener.profiles.errors import CustomerFileError
from listener.profiles.keys import (
    _CAMEL,
    _LETTERS,
    MAX_KEY_LENGTH,
    MAX_NAME_TOKENS,
    handle_key,
    keyed_profiles,
    name_numbers,
)
from listener.profiles.link_suggestions import (
    MIN_NAME_LENGTH,
    NAME_CANDIDATES_PER_SUBJECT,
    NAME_SCORE_CUTOFF,
    OPEN,
    RULE_SCORES,
    Reason,
    Subject,
    _email_evidence,
    _Evidence,
    _handle_evidence,
    _short,
    combined_score,
    load_subjects,
)
from listener.profiles.store import TIERS, union


def name_tokens(name: str | None) -> list[str]:
    """Lower-case letter tokens of a name: accents dropped, camelCase and digits split off.

    "Zoë O'Brien" -> ["zoe", "brien"]; "JohnSmith88" -> ["john", "smith"]. One-letter
    tokens (initials, the "o" of O'Brien) carry too little to match on and are dropped.
    """
    if not name:
        return []
    text = _CAMEL.sub(" ", name[:500])
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return [token for token in _LETTERS.findall(text.casefold()) if len(token) > 1]



def normalise_name(name: str | None) -> str:
    """The form fuzzy matching compares: tokens joined by single spaces."""
    return " ".join(name_tokens(name))


def name_keys(name: str | None) -> list[str]:
    """The blocking keys of a name (see the module docstring)."""
    tokens = list(dict.fromkeys(name_tokens(name)))[:MAX_NAME_TOKENS]
    if not tokens:
        return []
    keys = ["c:" + "".join(tokens)]
    if len(tokens) == 1:
        if len(tokens[0]) > 4:
            keys.append("p:" + tokens[0][:4])
    else:
        keys.extend(f"n:{token}|{other[0]}" for token in tokens for other in tokens if other != token)
    return [key[:MAX_KEY_LENGTH] for key in dict.fromkeys(keys)]


def profile_keys(display_name: str | None, emails: Iterable[str]) -> list[str]:
    """Every lookup key of a profile: its name's blocking keys and its emails."""
    keys = name_keys(display_name) + [("e:" + email)[:MAX_KEY_LENGTH] for email in emails]
    return list(dict.fromkeys(keys))


def index_profiles(session: Session, profiles: Sequence[CustomerProfile], *, new: bool = False) -> None:
    """Rebuild the lookup keys of these profiles (``new``: they have none yet, skip the delete)."""
    ids = [p.id for p in profiles if p.id is not None]
    if not ids:
        return
    if not new:
        session.execute(delete(ProfileMatchKey).where(ProfileMatchKey.profile_id.in_(ids)))  # type: ignore[attr-defined]
    rows = [
        {"key": key, "profile_id": profile.id}
        for profile in profiles
        for key in profile_keys(profile.display_name, profile.emails)
    ]
    if rows:
        session.execute(insert(ProfileMatchKey), rows)



def record_suggestions(
    session: Session, pairs: dict[tuple[int, int], dict[str, Reason]]
) -> list[LinkSuggestion]:
    """Store suggestions for pairs never proposed before (open, confirmed, dismissed alike are skipped)."""
    if not pairs:
        return []
    existing: set[tuple[int, int]] = set()
    keys = list(pairs)
    for chunk in _chunks(keys, 250):
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
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = LinkSuggestion.__table__  # type: ignore[attr-defined]
    # Another worker may record the same pair at the same moment: the unique pair keeps one.
    statement = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["profile_a_id", "profile_b_id"])
        .returning(table.c.id)
    )
    ids = [row[0] for row in session.execute(statement, rows)]
    if not ids:
        return []
    return list(session.execute(select(LinkSuggestion).where(LinkSuggestion.id.in_(ids))).scalars())  # type: ignore[union-attr]


def suggest_links(session: Session, profile_ids: Sequence[int]) -> list[LinkSuggestion]:
    subjects = load_subjects(session, profile_ids)
    if not subjects:
        return []
    evidence = _Evidence()
    _handle_evidence(session, subjects, evidence)
    _email_evidence(session, subjects, evidence)
    _name_evidence(session, subjects, evidence)
    return record_suggestions(session, evidence.pairs)


def read_records(
    text: str, mapping: ColumnMapping | None = None
) -> tuple[list[CustomerRecord], ImportReport]:
    """Parse and check every row; returns the good records and a report holding the bad ones."""
    mapping = mapping or ColumnMapping()
    report = ImportReport()
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    fields: list[str | None] | None = None
    records: list[CustomerRecord] = []
    last_line = 0
    while True:
        start = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            last_line = reader.line_num
            report.problems.append(RowProblem(start, f"unreadable CSV: {error}"))
            continue
        last_line = reader.line_num
        if not any(cell.strip() for cell in row):
            report.blank_lines += 1
            continue
        if fields is None:
            fields = _header(row, mapping, report)
            continue
        report.rows += 1
        record = _record(start, row, fields)
        if isinstance(record, RowProblem):
            report.problems.append(record)
        else:
            records.append(record)
    if fields is None:
        raise CustomerFileError("the file is empty: no header row")
    return _drop_repeats(records, report), report


def _drop_repeats(records: list[CustomerRecord], report: ImportReport) -> list[CustomerRecord]:
    """A row repeated exactly is imported once (noted); rows that disagree about one customer are bad."""
    kept: list[CustomerRecord] = []
    by_crm: dict[str, CustomerRecord] = {}
    by_email: dict[str, CustomerRecord] = {}
    by_handle: dict[tuple[str, str], CustomerRecord] = {}
    for record in records:
        earlier = by_crm.get(record.crm_id) if record.crm_id else None
        if earlier is None and not record.crm_id:
            earlier = next((by_email[e] for e in record.emails if e in by_email and not by_email[e].crm_id), None)
        if earlier is not None:
            if record.same_values(earlier):
                report.notes.append(RowProblem(record.line, f"repeats line {earlier.line}; imported once"))
            else:
                what = f"crm_id {record.crm_id}" if record.crm_id else f"email {record.emails[0]}"
                report.problems.append(
                    RowProblem(record.line, f"{what} is also on line {earlier.line} with different values")
                )
            continue
        clash = next((by_email[e] for e in record.emails if e in by_email), None)
        if clash is not None:
            email = next(e for e in record.emails if e in by_email)
            reason = f"email {email} is also on line {clash.line}, another customer"
            report.problems.append(RowProblem(record.line, reason))
            continue
        keys = [(platform, handle_key(handle) or "") for platform, handle in record.handles]
        taken = next((k for k in keys if k in by_handle), None)
        if taken is not None:
            report.problems.append(
                RowProblem(record.line, f"{taken[0]} handle {taken[1]} is also on line {by_handle[taken].line}")
            )
            continue
        kept.append(record)
        if record.crm_id:
            by_crm[record.crm_id] = record
        for email in record.emails:
            by_email[email] = record
        for key in keys:
            by_handle[key] = record
    return kept


def import_customers(
    session: Session, source: Path | str | bytes | TextIO, mapping: ColumnMapping | None = None
) -> ImportReport:
    """Import the good rows of a CRM export into this session's transaction (the caller commits)."""
    if isinstance(source, Path):
        try:
            text = _decode(source.read_bytes())
        except OSError as error:
            raise CustomerFileError(f"{source}: {error.strerror or error}") from None
    elif isinstance(source, bytes):
        text = _decode(source)
    elif isinstance(source, str):
        text = source
    else:
        text = source.read()
    records, report = read_records(text, mapping)
    _Importer(session, report).apply(records)
    report.problems.sort(key=lambda p: p.line)
    report.notes.sort(key=lambda p: p.line)
    return report


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _Importer:
    """Matches records to profiles with a few bulk lookups, then writes only what differs."""

    def __init__(self, session: Session, report: ImportReport) -> None:
        self.session = session
        self.report = report
        self.by_crm: dict[str, CustomerProfile] = {}
        self.by_email: dict[str, set[int]] = defaultdict(set)
        self.by_handle: dict[tuple[str, str], list[tuple[int, bool]]] = defaultdict(list)  # -> (profile, claimed)
        self.profiles: dict[int, CustomerProfile] = {}

    def _preload(self, records: list[CustomerRecord]) -> None:
        session = self.session
        crm_ids = [r.crm_id for r in records if r.crm_id]
        for chunk in _chunks(crm_ids):
            for profile in session.execute(
                select(CustomerProfile).where(CustomerProfile.crm_id.in_(chunk))  # type: ignore[union-attr]
            ).scalars():
                self.by_crm[profile.crm_id] = profile  # type: ignore[index]
                self.profiles[profile.id] = profile  # type: ignore[index]
        email_keys = list(dict.fromkeys("e:" + e for r in records for e in r.emails))
        for chunk in _chunks(email_keys):
            for key, profile_id, _, _, merged_into_id in session.execute(keyed_profiles(chunk)):
                if merged_into_id is None:
                    self.by_email[key[2:]].add(profile_id)
        handle_keys = list(dict.fromkeys(handle_key(h) for r in records for _, h in r.handles))
        for chunk in _chunks(handle_keys):
            for platform, key, profile_id, user_id in session.execute(
                select(Identity.platform, Identity.handle_key, Identity.profile_id, Identity.platform_user_id).where(
                    Identity.platform.in_(platform_names()), Identity.handle_key.in_(chunk)  # type: ignore[attr-defined]
                )
            ):
                self.by_handle[(platform, key)].append((profile_id, user_id is not None))
        wanted = {p for ids in self.by_email.values() for p in ids} - set(self.profiles)
        for chunk in _chunks(list(wanted)):
            for profile in session.execute(
                select(CustomerProfile).where(CustomerProfile.id.in_(chunk))  # type: ignore[union-attr]
            ).scalars():
                self.profiles[profile.id] = profile  # type: ignore[index]

    def apply(self, records: list[CustomerRecord]) -> None:
        self._preload(records)
        now = utcnow()
        created: list[CustomerProfile] = []
        updated: dict[int, CustomerProfile] = {}
        identities: list[tuple[CustomerProfile, str, str]] = []
        crm_handles: list[tuple[CustomerProfile, int, Reason]] = []
        for record in records:
            target = self._target(record)
            if isinstance(target, _LeftAlone):
                self.report.notes.append(target)
                continue
            if isinstance(target, RowProblem):
                self.report.problems.append(target)
                continue
            plan = self._handle_plan(record, target)
            if isinstance(plan, RowProblem):
                self.report.problems.append(plan)
                continue
            if target is None:
                target = CustomerProfile(
                    display_name=record.display_name, tier=record.tier or TIERS[0], is_prospect=False,
                    emails=list(record.emails), company=record.company, crm_id=record.crm_id, tags=list(record.tags),
                    notes=record.notes, created_at=now, updated_at=now,
                )
                self.session.add(target)
                created.append(target)
            elif self._update(target, record) or plan:
                target.updated_at = now
                updated[target.id] = target  # type: ignore[index]
            else:
                self.report.unchanged += 1
            for platform, handle, others in plan:
                identities.append((target, platform, handle))
                for other in others:
                    detail = f"the CRM lists {platform} handle {handle} for this customer"
                    crm_handles.append((target, other, Reason("crm_handle", detail, RULE_SCORES["crm_handle"])))
        self.session.flush()
        index_profiles(self.session, created, new=True)
        index_profiles(self.session, list(updated.values()))
        if identities:
            self.session.execute(
                insert(Identity),
                [
                    {"profile_id": profile.id, "platform": platform, "platform_user_id": None, "handle": handle,
                     "handle_key": handle_key(handle), "provenance": "imported", "confidence": 1.0,
                     "linked_by": "import", "created_at": now, "updated_at": now}
                    for profile, platform, handle in identities
                ],
            )
        self.report.created = [p.id for p in created]  # type: ignore[misc]
        self.report.updated = sorted(updated)
        evidence: dict[tuple[int, int], dict[str, Reason]] = defaultdict(dict)
        for profile, other, reason in crm_handles:
            pair = (min(profile.id, other), max(profile.id, other))  # type: ignore[type-var]
            evidence[pair][reason.rule] = reason  # type: ignore[index]
        self.report.suggestions = len(record_suggestions(self.session, evidence))
        # New customers, and customers with new handles, may be people already seen as prospects.
        fresh = sorted({p.id for p in created} | {p.id for p, _, _ in identities})  # type: ignore[type-var]
        for chunk in _chunks(fresh):
            self.report.suggestions += len(suggest_links(self.session, chunk))  # type: ignore[arg-type]

    def _target(self, record: CustomerRecord) -> CustomerProfile | RowProblem | None:
        target = self.by_crm.get(record.crm_id) if record.crm_id else None
        if target is not None and target.merged_into_id is not None:
            return _LeftAlone(
                record.line,
                f"crm_id {record.crm_id} is profile {target.id}, "
                f"merged into profile {target.merged_into_id}; left as is",
            )
        owners = {p for e in record.emails for p in self.by_email.get(e, ())} - ({target.id} if target else set())
        if target is not None and owners:
            email = next(e for e in record.emails if self.by_email.get(e, set()) - {target.id})
            reason = f"email {email} is on profile {min(owners)}, not on crm_id {record.crm_id}'s"
            return RowProblem(record.line, reason)
        if target is None and owners:
            if len(owners) > 1:
                listed = ", ".join(map(str, sorted(owners)))
                return RowProblem(record.line, f"its emails are on several profiles ({listed})")
            candidate = self.profiles[owners.pop()]
            if record.crm_id and candidate.crm_id and candidate.crm_id != record.crm_id:
                return RowProblem(
                    record.line, f"email {record.emails[0]} is on profile {candidate.id} with crm_id {candidate.crm_id}"
                )
            target = candidate
        return target

    def _handle_plan(
        self, record: CustomerRecord, target: CustomerProfile | None
    ) -> list[tuple[str, str, list[int]]] | RowProblem:
        """Handles to add: (platform, handle, profiles whose seen account has that handle)."""
        plan: list[tuple[str, str, list[int]]] = []
        for platform, handle in record.handles:
            linked = self.by_handle.get((platform, handle_key(handle) or ""), [])
            if target is not None and any(profile_id == target.id for profile_id, _ in linked):
                continue
            listed = [profile_id for profile_id, claimed in linked if not claimed]
            if listed:
                return RowProblem(record.line, f"{platform} handle {handle} is already listed on profile {listed[0]}")
            plan.append((platform, handle, sorted({profile_id for profile_id, _ in linked})))
        return plan

    def _update(self, profile: CustomerProfile, record: CustomerRecord) -> bool:
        """Write the record's values that differ: its non-empty cells, and emails and tags it adds."""
        changes: dict[str, Any] = {}
        for name in ("display_name", "company", "tier", "notes", "crm_id"):
            value = getattr(record, name)
            if value is not None and getattr(profile, name) != value:
                changes[name] = value
        for name in ("emails", "tags"):
            merged = union(getattr(profile, name), getattr(record, name))
            if merged != getattr(profile, name):
                changes[name] = merged
        if profile.is_prospect:
            changes["is_prospect"] = False
        for name, value in changes.items():
            setattr(profile, name, value)
        return bool(changes)


def _name_evidence(session: Session, subjects: Sequence[Subject], evidence: _Evidence) -> None:
    keyed: dict[str, list[Subject]] = defaultdict(list)
    names: dict[int, str] = {}
    for subject in subjects:
        name = normalise_name(subject.display_name)
        if len(name.replace(" ", "")) < MIN_NAME_LENGTH:
            continue
        names[subject.profile_id] = name
        for key in name_keys(subject.display_name):
            keyed[key].append(subject)
    if not keyed:
        return
    candidates: dict[int, dict[int, str]] = defaultdict(dict)  # subject id -> {candidate id: normalised name}
    briefs: dict[int, tuple[str, bool]] = {}
    for chunk in _chunks(list(keyed)):
        rows = session.execute(keyed_profiles(chunk))
        for key, profile_id, display_name, is_prospect, merged_into_id in rows:
            if merged_into_id is not None:
                continue
            briefs[profile_id] = (display_name, is_prospect)
            for subject in keyed[key]:
                # Two customers alike by name are the CRM's business: no rule links them.
                if profile_id != subject.profile_id and (subject.is_prospect or is_prospect):
                    candidates[subject.profile_id][profile_id] = ""
    wanted = {profile_id for choices in candidates.values() for profile_id in choices}
    normalised = {profile_id: normalise_name(briefs[profile_id][0]) for profile_id in wanted}
    hits: list[tuple[Subject, int, float]] = []
    for subject in subjects:
        choices = candidates.get(subject.profile_id)
        if not choices:
            continue
        matches = process.extract(
            names[subject.profile_id],
            {profile_id: normalised[profile_id] for profile_id in choices},
            scorer=fuzz.token_sort_ratio,
            processor=None,
            score_cutoff=NAME_SCORE_CUTOFF,
            limit=NAME_CANDIDATES_PER_SUBJECT,
        )
        numbers = name_numbers(subject.display_name)
        for _, similarity, profile_id in matches:
            theirs = name_numbers(briefs[profile_id][0])
            if numbers and theirs and numbers != theirs:
                continue  # numbers were dropped for matching; two different ones mean two people
            hits.append((subject, profile_id, similarity))
    if not hits:
        return
    platforms: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(list({profile_id for _, profile_id, _ in hits})):
        for profile_id, platform in session.execute(
            select(Identity.profile_id, Identity.platform).where(Identity.profile_id.in_(chunk))  # type: ignore[attr-defined]
        ):
            platforms[profile_id].add(platform)
    for subject, profile_id, similarity in hits:
        name, is_prospect = briefs[profile_id]
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
