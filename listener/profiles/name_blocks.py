"""Fuzzy name matching inside blocks: candidates share a blocking key, nobody is scanned.

A subject's name is compared only with the live profiles that share one of its
blocking keys (:func:`listener.profiles.keys.name_keys`). Two things keep that cheap
when many names are alike (a million imported customers called James or Mary):

- a customer is only ever compared with prospects (two customers alike by name are
  the CRM's business), so a key wanted only for customers reads only the prospects
  holding it;
- :class:`NameBlocks` reads each key's block once and keeps it for the next chunk of
  subjects. Before, every chunk of 500 subjects read again every profile holding
  "n:james|s", so an import's cost grew with the square of its size.

Which candidates win is defined by :func:`best_name_matches`: the most similar
first, ties to the older (lower id) profile, at most ``NAME_CANDIDATES_PER_SUBJECT``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process
from sqlmodel import Session, select

from listener.models import CustomerProfile
from listener.profiles.keys import keyed_profiles, normalise_name

NAME_SCORE_CUTOFF = 90.0  # rapidfuzz token_sort_ratio, 0..100
MIN_NAME_LENGTH = 4  # shorter normalised names ("al", "jo") match too many strangers
NAME_CANDIDATES_PER_SUBJECT = 5
MAX_CACHED_MEMBERS = 400_000  # block members kept between chunks; past it the cache starts afresh
_KEYS_PER_QUERY = 500  # values per IN (...) list: well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class BlockMember:
    """A live profile holding a blocking key."""

    profile_id: int
    display_name: str
    is_prospect: bool
    normalised: str  # the name as fuzzy matching compares it


_NOBODY: tuple[BlockMember, ...] = ()


def best_name_matches(name: str, candidates: Sequence[str]) -> list[tuple[int, float]]:
    """(index into ``candidates``, similarity) of the best matches at or above the cutoff.

    Most similar first; among equals the earlier candidate wins, so callers list
    candidates in the order that should break ties (by profile id).
    """
    if not candidates:
        return []
    matches = process.extract(
        name, candidates, scorer=fuzz.token_sort_ratio, processor=None,
        score_cutoff=NAME_SCORE_CUTOFF, limit=NAME_CANDIDATES_PER_SUBJECT,
    )
    return [(index, similarity) for _, similarity, index in matches]


class NameBlocks:
    """Live profiles per blocking key, read from ``profile_match_keys`` once and kept.

    Valid while the profiles it has read do not change: one suggestion pass (an
    import's suggestions, or one batch of the matching step). The cache is bounded:
    past ``max_members`` held it starts afresh, so a big block is at worst read again
    once per refill, never once per chunk.
    """

    def __init__(self, max_members: int = MAX_CACHED_MEMBERS) -> None:
        self.max_members = max_members
        self._everyone: dict[str, tuple[BlockMember, ...]] = {}  # key -> every live profile holding it
        self._prospects: dict[str, tuple[BlockMember, ...]] = {}  # key -> the live prospects holding it
        self._members: dict[int, BlockMember] = {}
        self._held = 0
        self._every_prospect = False  # _prospects holds every live prospect's keys: a key missing has none
        self._prospects_held = 0

    def load_every_prospect(self, session: Session) -> None:
        """Read every live prospect's blocking keys in one pass, so prospect-only lookups need no more queries.

        Worth it when more subjects will be matched than there are prospects (an import of many
        customers into a database of fewer prospects): one read per prospect instead of one
        probe per subject's key. The prospects must fit in the cache.
        """
        from listener.models import ProfileMatchKey

        found: dict[str, list[BlockMember]] = defaultdict(list)
        statement = (
            select(ProfileMatchKey.key, CustomerProfile.id, CustomerProfile.display_name)
            .join(CustomerProfile, CustomerProfile.id == ProfileMatchKey.profile_id)
            .where(CustomerProfile.is_prospect.is_(True), CustomerProfile.merged_into_id.is_(None))  # type: ignore[attr-defined, union-attr]
        )
        for key, profile_id, display_name in session.execute(statement):
            if not key.startswith("e:"):  # emails are not name blocks
                found[key].append(self._member(profile_id, display_name, True))
        for key, members in found.items():
            self._prospects[key] = tuple(members)
            self._held += len(members) + 1
        self._every_prospect = True
        self._prospects_held = self._held

    def load(self, session: Session, everyone: Iterable[str], prospects_only: Iterable[str]) -> None:
        """Make sure these keys' blocks are at hand: all holders, or only the prospects."""
        all_keys = list(dict.fromkeys(everyone))
        asked_for_all = set(all_keys)
        prospect_keys = [k for k in dict.fromkeys(prospects_only) if k not in asked_for_all]
        if self._held > self.max_members:
            self._everyone.clear()
            self._members.clear()
            if self._every_prospect:  # read in one pass and needed by every later chunk: kept
                self._held = self._prospects_held
            else:
                self._prospects.clear()
                self._held = 0
        self._read(session, [k for k in all_keys if k not in self._everyone], self._everyone, only_prospects=False)
        if not self._every_prospect:
            missing = [k for k in prospect_keys if k not in self._prospects and k not in self._everyone]
            self._read(session, missing, self._prospects, only_prospects=True)

    def _read(
        self, session: Session, keys: list[str], into: dict[str, tuple[BlockMember, ...]], *, only_prospects: bool
    ) -> None:
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start : start + _KEYS_PER_QUERY]
            statement: Any = keyed_profiles(chunk)
            if only_prospects:
                statement = statement.where(CustomerProfile.is_prospect.is_(True))  # type: ignore[attr-defined]
            found: dict[str, list[BlockMember]] = defaultdict(list)
            for key, profile_id, display_name, is_prospect, merged_into_id in session.execute(statement):
                if merged_into_id is None:
                    found[key].append(self._member(profile_id, display_name, bool(is_prospect)))
            for key in chunk:
                members = tuple(found.get(key, _NOBODY))
                into[key] = members or _NOBODY
                self._held += len(members) + 1

    def members(self, key: str, *, prospects_only: bool) -> Sequence[BlockMember]:
        """The block of a key loaded before: every live holder, or only the prospects."""
        block = self._everyone.get(key)
        if block is None:
            return self._prospects.get(key, _NOBODY) if self._every_prospect else self._prospects[key]
        return [m for m in block if m.is_prospect] if prospects_only else block

    def _member(self, profile_id: int, display_name: str, is_prospect: bool) -> BlockMember:
        """One member object per profile, however many blocks hold it: its name is normalised once."""
        member = self._members.get(profile_id)
        if member is None:
            member = BlockMember(profile_id, display_name, is_prospect, normalise_name(display_name))
            self._members[profile_id] = member
        return member
