"""Reading and writing profiles and identities, with their rules in one place.

Every write of a profile's name or emails goes through here so that the lookup
keys (``listener.profiles.keys``) stay in step, and every value is checked once:
tiers from :data:`TIERS`, emails and handles in their normal form.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from listener.db import utcnow
from listener.models import CustomerProfile, Identity
from listener.platforms import platform_names
from listener.profiles.errors import IdentityConflict, InvalidProfileData, ProfileMergedAway, ProfileNotFound
from listener.profiles.keys import handle_key, index_profiles, normalise_email, normalise_handle, typed_handle_keys

TIERS: tuple[str, ...] = ("standard", "vip", "press")
PROVENANCES: tuple[str, ...] = ("imported", "manual", "automatic")
# The columns a merge snapshot holds and an unmerge restores: every column of the table.
PROFILE_FIELDS: tuple[str, ...] = tuple(CustomerProfile.model_fields)
_TIME_FIELDS = frozenset({"created_at", "updated_at"})
_MAX_MERGE_CHAIN = 1000


@dataclass(frozen=True)
class ProfileSummary:
    """One row of a profile list."""

    id: int
    display_name: str
    tier: str
    is_prospect: bool
    company: str | None
    crm_id: str | None
    identities: int


def check_tier(tier: str) -> str:
    """The tier in its stored form (lower case); raises InvalidProfileData for an unknown one."""
    value = tier.strip().casefold()
    if value not in TIERS:
        raise InvalidProfileData(f"unknown tier {tier!r} (expected {', '.join(TIERS)})")
    return value


def check_emails(emails: Iterable[str]) -> list[str]:
    """Normalised, de-duplicated emails in their given order; raises InvalidProfileData."""
    result: list[str] = []
    for email in emails:
        try:
            value = normalise_email(email)
        except ValueError as error:
            raise InvalidProfileData(str(error)) from None
        if value not in result:
            result.append(value)
    return result


def check_tags(tags: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated, non-empty tags in their given order.

    A tag cannot hold ";": the CRM file separates tags with it, and export must round-trip.
    """
    result = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
    for tag in result:
        if ";" in tag:
            raise InvalidProfileData(f"tag {tag!r} contains ';'")
    return result


def union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """``first`` then what ``second`` adds, order kept, no repeats."""
    return list(dict.fromkeys([*first, *second]))


def profile_fields(profile: CustomerProfile) -> dict[str, Any]:
    """Every column of the profile as JSON-ready values: what a merge snapshot keeps."""
    fields: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        value = getattr(profile, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, list):
            value = list(value)
        fields[name] = value
    return fields


def restore_fields(profile: CustomerProfile, fields: dict[str, Any]) -> None:
    """Set the profile's columns (except its id) back to a :func:`profile_fields` snapshot."""
    for name in PROFILE_FIELDS:
        if name == "id" or name not in fields:
            continue
        value = fields[name]
        if name in _TIME_FIELDS and value is not None:
            value = datetime.fromisoformat(value)
        elif isinstance(value, list):
            value = list(value)
        setattr(profile, name, value)


def get_profile(session: Session, profile_id: int) -> CustomerProfile:
    """The profile with this id, merged away or not; raises ProfileNotFound."""
    profile = session.get(CustomerProfile, profile_id)
    if profile is None:
        raise ProfileNotFound(f"no profile {profile_id}")
    return profile


def live_profile(session: Session, profile_id: int) -> CustomerProfile:
    """The profile that now stands for ``profile_id``: itself, or the profile it was merged into."""
    profile = get_profile(session, profile_id)
    for _ in range(_MAX_MERGE_CHAIN):
        if profile.merged_into_id is None:
            return profile
        profile = get_profile(session, profile.merged_into_id)
    raise ProfileNotFound(f"profile {profile_id}: merge chain too long")  # pragma: no cover - a corrupt database


def editable_profile(session: Session, profile_id: int) -> CustomerProfile:
    """The profile, refusing one that was merged away (its data now lives on the survivor)."""
    profile = get_profile(session, profile_id)
    if profile.merged_into_id is not None:
        raise ProfileMergedAway(f"profile {profile_id} was merged into profile {profile.merged_into_id}")
    return profile


def create_profile(
    session: Session,
    display_name: str,
    *,
    tier: str = "standard",
    emails: Iterable[str] = (),
    company: str | None = None,
    crm_id: str | None = None,
    tags: Iterable[str] = (),
    notes: str | None = None,
    is_prospect: bool = False,
) -> CustomerProfile:
    """Create a checked profile (a customer unless ``is_prospect``) and its lookup keys."""
    if not display_name.strip():
        raise InvalidProfileData("display_name is empty")
    if crm_id is not None and _crm_id_taken(session, crm_id):
        raise InvalidProfileData(f"crm_id {crm_id!r} is already used by another profile")
    now = utcnow()
    profile = CustomerProfile(
        display_name=display_name.strip(),
        tier=check_tier(tier),
        emails=check_emails(emails),
        company=company,
        crm_id=crm_id or None,
        tags=check_tags(tags),
        notes=notes,
        is_prospect=is_prospect,
        created_at=now,
        updated_at=now,
    )
    session.add(profile)
    session.flush()
    index_profiles(session, [profile], new=True)
    return profile


def update_profile(session: Session, profile_id: int, **changes: Any) -> CustomerProfile:
    """Change some fields of a live profile (checked like :func:`create_profile`); bumps updated_at."""
    profile = editable_profile(session, profile_id)
    allowed = {"display_name", "tier", "emails", "company", "crm_id", "tags", "notes", "is_prospect"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidProfileData(f"cannot change {', '.join(sorted(unknown))}")
    if "tier" in changes:
        changes["tier"] = check_tier(changes["tier"])
    if "emails" in changes:
        changes["emails"] = check_emails(changes["emails"])
    if "tags" in changes:
        changes["tags"] = check_tags(changes["tags"])
    if "display_name" in changes:
        if not str(changes["display_name"]).strip():
            raise InvalidProfileData("display_name is empty")
        changes["display_name"] = str(changes["display_name"]).strip()
    if changes.get("crm_id") and changes["crm_id"] != profile.crm_id and _crm_id_taken(session, changes["crm_id"]):
        raise InvalidProfileData(f"crm_id {changes['crm_id']!r} is already used by another profile")
    changed = {name: value for name, value in changes.items() if getattr(profile, name) != value}
    if not changed:
        return profile
    for name, value in changed.items():
        setattr(profile, name, value)
    profile.updated_at = utcnow()
    session.flush()
    if {"display_name", "emails"} & set(changed):
        index_profiles(session, [profile])
    return profile


def _crm_id_taken(session: Session, crm_id: str) -> bool:
    return session.scalar(select(func.count()).where(CustomerProfile.crm_id == crm_id)) != 0


def identities_of(session: Session, profile_id: int) -> list[Identity]:
    """The profile's platform accounts, oldest link first."""
    statement = select(Identity).where(Identity.profile_id == profile_id).order_by(Identity.id)
    return list(session.execute(statement).scalars())


def link_identity(
    session: Session,
    profile_id: int,
    platform: str,
    handle: str,
    *,
    platform_user_id: str | None = None,
    provenance: str = "manual",
    confidence: float = 1.0,
    by: str | None = None,
) -> Identity:
    """Link a platform account to a live profile.

    Without a user id the identity is matched by handle until an author with
    that handle is first seen, which fills the user id in. Refuses an account
    already linked elsewhere: moving it is a merge, which can be undone.
    """
    editable_profile(session, profile_id)
    if platform not in platform_names():
        raise InvalidProfileData(f"unknown platform {platform!r}")
    if provenance not in PROVENANCES:
        raise InvalidProfileData(f"unknown provenance {provenance!r} (expected {', '.join(PROVENANCES)})")
    try:
        handle = normalise_handle(platform, handle)
    except ValueError as error:
        raise InvalidProfileData(str(error)) from None
    key = handle_key(handle)
    if platform_user_id is not None:
        same_account = session.execute(
            select(Identity).where(Identity.platform == platform, Identity.platform_user_id == platform_user_id)
        ).scalar_one_or_none()
        if same_account is not None:
            if same_account.profile_id != profile_id:
                raise IdentityConflict(
                    f"{platform} account {handle} is already linked to profile {same_account.profile_id}"
                )
            return same_account
    listed = session.execute(
        select(Identity).where(
            Identity.platform == platform,
            Identity.handle_key == key,
            Identity.platform_user_id.is_(None),  # type: ignore[union-attr]
        )
    ).scalars().all()
    for identity in listed:
        if identity.profile_id != profile_id:
            raise IdentityConflict(f"{platform} handle {handle} is already listed on profile {identity.profile_id}")
        if platform_user_id is not None:
            identity.platform_user_id, identity.updated_at = platform_user_id, utcnow()
            session.flush()
        return identity
    now = utcnow()
    identity = Identity(
        profile_id=profile_id, platform=platform, platform_user_id=platform_user_id, handle=handle,
        handle_key=key, provenance=provenance, confidence=confidence, linked_by=by, created_at=now, updated_at=now,
    )
    session.add(identity)
    session.flush()
    return identity


def list_profiles(
    session: Session,
    *,
    search: str | None = None,
    include_prospects: bool = True,
    tier: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ProfileSummary]:
    """Live profiles (merged-away ones are hidden), newest first, optionally searched (:func:`search_condition`)
    or of one tier."""
    identity_count = (
        select(func.count())
        .where(Identity.profile_id == CustomerProfile.id)
        .correlate(CustomerProfile)
        .scalar_subquery()
    )
    statement = select(CustomerProfile, identity_count).where(
        CustomerProfile.merged_into_id.is_(None)  # type: ignore[union-attr]
    )
    if not include_prospects:
        statement = statement.where(CustomerProfile.is_prospect.is_(False))  # type: ignore[attr-defined]
    if tier:
        statement = statement.where(CustomerProfile.tier == check_tier(tier))
    if search:
        statement = statement.where(search_condition(search))
    statement = statement.order_by(CustomerProfile.id.desc()).limit(limit).offset(offset)  # type: ignore[union-attr]
    return [
        ProfileSummary(p.id, p.display_name, p.tier, p.is_prospect, p.company, p.crm_id, count)  # type: ignore[arg-type]
        for p, count in session.execute(statement).all()
    ]


def search_condition(search: str) -> Any:
    """Profiles whose name holds ``search`` (any case), whose CRM id is it, or with an account whose handle holds
    it, typed with or without the platform's prefix (``@raj_codes``, ``raj_codes``, ``u/raj``)."""
    text = search.strip()
    handles = [and_(Identity.platform == platform, Identity.handle_key.contains(key, autoescape=True))  # type: ignore[union-attr]
               for platform, key in typed_handle_keys(text).items()]
    by_handle = select(Identity.profile_id).where(or_(*handles)) if handles else None
    return or_(
        func.lower(CustomerProfile.display_name).contains(text.casefold(), autoescape=True),
        CustomerProfile.crm_id == text,
        *([CustomerProfile.id.in_(by_handle)] if by_handle is not None else []),  # type: ignore[union-attr]
    )
