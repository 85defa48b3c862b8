"""Helpers for the customer-profile tests: store mentions as the collectors do, run the step, snapshot."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.collecting import store_page
from listener.models import CustomerProfile, Identity, LinkSuggestion, Mention, Source
from listener.platforms.collector import CollectedAuthor, CollectedMention, Page
from listener.processing import Processor
from listener.profiles.matching import ProfileMatchStep
from listener.profiles.store import profile_fields

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def author(
    platform: str, user_id: str, handle: str, name: str | None = None, bio: str | None = None
) -> CollectedAuthor:
    return CollectedAuthor(platform, user_id, handle, display_name=name, bio=bio)


def mention(
    who: CollectedAuthor | None, text: str = "hello", *, platform: str | None = None, minutes: int | None = None
) -> CollectedMention:
    n = next(_numbers)
    platform = platform or (who.platform if who else "x")
    return CollectedMention(
        platform=platform,
        external_id=f"{platform}-{n}",
        kind="tweet" if platform == "x" else "comment",
        text=text,
        url=f"https://example.test/{platform}/{n}",
        created_at=T0 + timedelta(minutes=n if minutes is None else minutes),
        raw={"n": n},
        author=who,
    )


def store(engine: Engine, *mentions: CollectedMention) -> None:
    """Store mentions as a collector would (authors upserted by platform user id)."""
    with Session(engine, expire_on_commit=False) as session:
        source = session.execute(select(Source).where(Source.name == "test")).scalar_one_or_none()
        if source is None:
            source = Source(name="test", kind="x_mentions", platform="x")
            session.add(source)
            session.flush()
        # One page per platform, as collectors produce them.
        for platform in dict.fromkeys(m.platform for m in mentions):
            store_page(session, source, Page(mentions=[m for m in mentions if m.platform == platform]))
        session.commit()


def process(engine: Engine, batch_size: int = 256, step: ProfileMatchStep | None = None) -> ProfileMatchStep:
    """Run the profile step (alone: no sentiment model in these tests) until no mention is new."""
    step = step or ProfileMatchStep()
    Processor(engine, [step], batch_size=batch_size).run_until_empty()
    return step


def profile_of(engine: Engine, external_id: str) -> int | None:
    with Session(engine) as session:
        return session.execute(select(Mention.profile_id).where(Mention.external_id == external_id)).scalar_one()


def snapshot(session: Session, profile_id: int) -> dict[str, Any]:
    """Everything a merge must give back: the fields, the identity ids and the mention ids."""
    session.expire_all()
    profile = session.get(CustomerProfile, profile_id)
    assert profile is not None
    return {
        "fields": profile_fields(profile),
        "identities": set(session.execute(select(Identity.id).where(Identity.profile_id == profile_id)).scalars()),
        "mentions": set(session.execute(select(Mention.id).where(Mention.profile_id == profile_id)).scalars()),
    }


def suggestions(session: Session) -> list[LinkSuggestion]:
    return list(session.execute(select(LinkSuggestion).order_by(LinkSuggestion.id)).scalars())


def rule_names(suggestion: LinkSuggestion) -> set[str]:
    return {reason["rule"] for reason in suggestion.reasons}
