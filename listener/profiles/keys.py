"""Normalising handles, names and emails, and the lookup keys derived from a profile.

Matching and suggestions compare what people type, so every comparison goes
through one normal form: handles lower-cased without ``@`` or ``u/``, names
folded to plain lower-case letter tokens, emails lower-cased.

Suggestions must not compare a new author with every profile (100,000 profiles
would make each batch take minutes). Instead each profile gets a few indexed
*blocking keys* in ``profile_match_keys``: two names that fuzzy matching would
call similar almost always share one. A key is one of

- ``c:<all tokens joined>``: catches "John Smith" ~ "johnsmith" ~ "JohnSmith88";
- ``n:<token>|<first letter of another token>``: catches "Jon Smith" ~ "John Smith"
  (same surname, same initial) and reordered names;
- ``p:<first four letters>`` for one-token names: catches "alice" ~ "alicee";
- ``e:<email>``: an email of the profile.

The keys are derived data, never the truth: :func:`index_profiles` rebuilds them
from the profile whenever its name or emails change.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session

from listener.models import CustomerProfile, ProfileMatchKey
from listener.platforms import UnknownPlatform, get_platform, platform_names
from listener.profiles.bulk import insert_rows

MAX_NAME_TOKENS = 4
MAX_KEY_LENGTH = 200
EMAIL_PATTERN = re.compile(
    r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]{1,63})+$"
)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_LETTERS = re.compile(r"[^\W\d_]+")


def handle_key(handle: str | None) -> str | None:
    """The handle as compared: lower case, without a leading ``@``, ``u/`` or ``/u/``.

    Placeholder handles the collectors make up when a platform hides the name
    (``id:123``) return None: they must never match another account.
    """
    if not handle:
        return None
    value = handle.strip()
    if ":" in value:
        return None
    value = value.removeprefix("/").removeprefix("u/").removeprefix("@").strip()
    return value.casefold()[:MAX_KEY_LENGTH] or None


def typed_handle_keys(text: str) -> dict[str, str]:
    """What a person typed to find an account (``@raj_codes``, ``u/raj``, ``raj``): platform -> part of a handle key.

    A prefix says which platforms it means (``u/`` only Reddit's, ``@`` those that write handles so); without one
    every platform is searched. Nothing is validated: a search may hold a partial handle.
    """
    value = text.strip().casefold()
    if not value or ":" in value:  # placeholders (``id:123``) are never searched for
        return {}
    meant = {name: value.removeprefix("/").removeprefix(prefix)
             for name in platform_names()
             if (prefix := get_platform(name).handle_prefix.casefold()) and value.removeprefix("/").startswith(prefix)}
    keys = meant or dict.fromkeys(platform_names(), value)
    return {name: key.strip()[:MAX_KEY_LENGTH] for name, key in keys.items() if key.strip()}


def normalise_handle(platform: str, handle: str) -> str:
    """A handle typed by a person (``@Alice``, ``u/alice``) as the platform writes it; raises ValueError."""
    try:
        known = get_platform(platform)
    except UnknownPlatform:
        raise ValueError(f"unknown platform {platform!r} (expected {', '.join(platform_names())})") from None
    return known.normalise_handle(handle)


def normalise_email(email: str) -> str:
    """Lower case, trimmed; raises ValueError when it is not an email address."""
    value = email.strip().casefold()
    if len(value) > 254 or not EMAIL_PATTERN.match(value):
        raise ValueError(f"invalid email {email!r}")
    return value


def name_tokens(name: str | None) -> list[str]:
    """Lower-case letter tokens of a name: accents dropped, camelCase and digits split off.

    "Zoë O'Brien" -> ["zoe", "brien"]; "JohnSmith88" -> ["john", "smith"]. One-letter
    tokens (initials, the "o" of O'Brien) carry too little to match on and are dropped.
    """
    if not name:
        return []
    text = _CAMEL.sub(" ", name[:500])
    if not text.isascii():  # ASCII is its own NFKD form: skipping it halves the cost of a bulk import
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return [token for token in _LETTERS.findall(text.casefold()) if len(token) > 1]


def name_numbers(name: str | None) -> tuple[str, ...]:
    """The digit runs of a name: "Fan 2024" and "Fan 1999" share every letter but are different people."""
    return tuple(re.findall(r"\d+", name[:500])) if name else ()


def normalise_name(name: str | None) -> str:
    """The form fuzzy matching compares: tokens joined by single spaces."""
    return " ".join(name_tokens(name))


def name_keys(name: str | None) -> list[str]:
    """The blocking keys of a name (see the module docstring)."""
    return _keys_of_tokens(name_tokens(name))


def name_form(name: str | None) -> tuple[str, list[str]]:
    """``(normalise_name(name), name_keys(name))`` from one split of the name into tokens."""
    tokens = name_tokens(name)
    return " ".join(tokens), _keys_of_tokens(tokens)


def _keys_of_tokens(all_tokens: list[str]) -> list[str]:
    tokens = list(dict.fromkeys(all_tokens))[:MAX_NAME_TOKENS]
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
    rows = [(key, profile.id) for profile in profiles for key in profile_keys(profile.display_name, profile.emails)]
    insert_rows(session, ProfileMatchKey.__table__, ("key", "profile_id"), rows)  # type: ignore[attr-defined]


def drop_keys(session: Session, profile_ids: Sequence[int]) -> None:
    """Remove the lookup keys of profiles that no longer stand for anyone (merged away)."""
    if profile_ids:
        session.execute(delete(ProfileMatchKey).where(ProfileMatchKey.profile_id.in_(profile_ids)))  # type: ignore[attr-defined]


def keyed_profiles(keys: Sequence[str]) -> Any:
    """Profiles holding any of these lookup keys.

    Merged-away profiles are filtered by the caller, not in SQL: with a long IN list,
    SQLite's planner would otherwise walk every live profile by the merged_into_id index.
    """
    return (
        select(
            ProfileMatchKey.key, CustomerProfile.id, CustomerProfile.display_name, CustomerProfile.is_prospect,
            CustomerProfile.merged_into_id,
        )
        .join(CustomerProfile, CustomerProfile.id == ProfileMatchKey.profile_id)
        .where(ProfileMatchKey.key.in_(keys))  # type: ignore[attr-defined]
    )
