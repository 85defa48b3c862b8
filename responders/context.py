"""What rules may know about a mention: one flat, read-only record per mention.

Triage rules, reply rules, the priority formula and the high-risk test all read the
same :class:`MentionContext`, built in bulk for a batch (two queries, not two per
mention), so that they can never disagree about, say, who the author is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from listener.models import Author, CustomerProfile, Mention
from listener.platforms import all_platforms, display_handle, get_platform
from listener.sentiment.certainty import is_uncertain
from listener.sentiment.labels import UNSCORED
from listener.settings import Settings

TIERS = ("standard", "vip", "press")


@dataclass(frozen=True)
class MentionContext:
    mention_id: int
    platform: str
    kind: str
    external_id: str
    text: str
    created_at: datetime
    sentiment: str  # negative, neutral, positive, or unscored (also when sentiment is off or has not run)
    confidence: float | None
    followers: int | None
    handle: str | None
    display_name: str | None
    tier: str
    is_customer: bool  # imported from the CRM (not a prospect)
    customer_name: str | None
    own_account: bool
    retweet: bool
    uncertain: bool = False  # confidence below [sentiment] min_confidence: rules asking for a sentiment skip it

    @property
    def at_handle(self) -> str | None:
        """The handle as the platform writes it (``@alice``, ``u/alice``: ``Platform.display_handle``)."""
        if not self.handle or self.handle.startswith("id:"):
            return None
        return display_handle(self.platform, self.handle)

    @property
    def first_name(self) -> str | None:
        """A first name only when it is surely one.

        A CRM customer's name is trusted. A platform display name is used only when
        it is two or more purely alphabetic words that are not the handle ("Ana
        Silva" gives "Ana"; "Lumen Fan 🔥", "ana_s" or "NoSignal" give nothing), so
        a greeting never says "Hi Lumen".
        """
        if self.is_customer and self.customer_name:
            first = self.customer_name.split()[0]
            return first if first.isalpha() else None
        words = (self.display_name or "").split()
        surely_a_name = len(words) >= 2 and all(word.isalpha() for word in words)
        if surely_a_name and (self.handle or "").lower() != "".join(words).lower():
            return words[0]
        return None

    @property
    def name(self) -> str | None:
        if self.is_customer and self.customer_name:
            return self.customer_name
        first = self.first_name
        return self.display_name if first else None


def _is_repost(mention: Mention) -> bool:
    platform = get_platform(mention.platform)
    return platform.is_repost(mention.text, platform.raw_of(mention.raw))


def own_handles(settings: Settings) -> dict[str, str]:
    """The brand's own accounts, lower case, per platform."""
    handles = {platform.name: platform.own_handle(platform.settings_of(settings)) for platform in all_platforms()}
    return {platform: handle for platform, handle in handles.items() if handle}


def build_contexts(session: Session, mentions: Sequence[Mention], settings: Settings) -> dict[int, MentionContext]:
    """The context of each mention, by mention id."""
    author_ids = {m.author_id for m in mentions if m.author_id is not None}
    authors = {
        a.id: a for a in session.execute(select(Author).where(Author.id.in_(author_ids))).scalars()  # type: ignore[union-attr]
    } if author_ids else {}
    profiles = _profiles(session, {m.profile_id for m in mentions if m.profile_id is not None})
    own = own_handles(settings)
    contexts: dict[int, MentionContext] = {}
    for mention in mentions:
        author = authors.get(mention.author_id) if mention.author_id is not None else None
        profile = profiles.get(mention.profile_id) if mention.profile_id is not None else None
        handle = author.handle if author else None
        contexts[mention.id] = MentionContext(  # type: ignore[index]
            mention_id=mention.id,  # type: ignore[arg-type]
            platform=mention.platform,
            kind=mention.kind,
            external_id=mention.external_id,
            text=mention.text,
            created_at=mention.created_at,
            sentiment=mention.sentiment_label or UNSCORED,
            confidence=mention.sentiment_confidence,
            followers=author.followers if author else None,
            handle=handle,
            display_name=author.display_name if author else None,
            tier=profile.tier if profile and profile.tier in TIERS else "standard",
            is_customer=bool(profile and not profile.is_prospect),
            customer_name=profile.display_name if profile and not profile.is_prospect else None,
            own_account=bool(handle) and own.get(mention.platform) == (handle or "").lower(),
            retweet=_is_repost(mention),
            uncertain=is_uncertain(mention.sentiment_label, mention.sentiment_confidence,
                                   settings.sentiment.min_confidence),
        )
    return contexts


def _profiles(session: Session, ids: set[int]) -> dict[int, CustomerProfile]:
    """Profiles by id, a merged profile standing for the one it was merged into."""
    found: dict[int, CustomerProfile] = {}
    wanted = set(ids)
    for _ in range(5):  # merges chain rarely; a loop would be a data error, so stop
        if not wanted:
            break
        rows = session.execute(select(CustomerProfile).where(CustomerProfile.id.in_(wanted))).scalars()  # type: ignore[union-attr]
        wanted = set()
        for profile in rows:
            found[profile.id] = profile  # type: ignore[index]
            if profile.merged_into_id is not None and profile.merged_into_id not in found:
                wanted.add(profile.merged_into_id)
    resolved: dict[int, CustomerProfile] = {}
    for profile_id in ids:
        profile = found.get(profile_id)
        hops = 0
        while profile is not None and profile.merged_into_id is not None and hops < 5:
            profile = found.get(profile.merged_into_id, profile)
            hops += 1
        if profile is not None:
            resolved[profile_id] = profile
    return resolved


def context_for(session: Session, mention: Mention, settings: Settings) -> MentionContext:
    return build_contexts(session, [mention], settings)[mention.id]  # type: ignore[index]
