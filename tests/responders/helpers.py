"""Helpers for the responder tests: staff, mentions with authors and profiles, settings, processing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import utcnow
from listener.models import AuditEvent, Author, CustomerProfile, Mention, StaffUser
from listener.processing import Processor
from listener.settings import Settings, load_settings
from responders.suggestions import SuggestionStep
from responders.triage import TriageStep

_numbers = itertools.count(1)


def make_settings(url: str, **sections: Any) -> Settings:
    """Settings for tests that need no platform: sentiment off, the bundled rules, similar replies off."""
    base: dict[str, dict[str, Any]] = {
        "database": {"url": url},
        "sentiment": {"enabled": False},
        "x": {"brand_username": "lumenmobile"},
        "reddit": {"username": "lumenmobile_support"},
        "replies": {"similar_replies": False, "ticket_link_template": "https://help.lumen.com/t/{mention_id}"},
    }
    for section, values in sections.items():
        base.setdefault(section, {}).update(values)
    return load_settings(**base)


def add_staff(engine: Engine, email: str, role: str, active: bool = True) -> StaffUser:
    with Session(engine, expire_on_commit=False) as session:
        user = StaffUser(email=email, name=email.split("@")[0].title(), role=role, active=active)
        session.add(user)
        session.commit()
        return user


def add_mention(
    engine: Engine,
    text: str,
    *,
    platform: str = "x",
    sentiment: str | None = None,
    confidence: float | None = None,
    followers: int | None = 100,
    tier: str | None = None,
    customer_name: str | None = None,
    handle: str | None = None,
    display_name: str | None = None,
    created_at: datetime | None = None,
    external_id: str | None = None,
    raw: str = "{}",
) -> Mention:
    """A collected mention (processing state new) with its author and, for a tier, a CRM profile."""
    number = next(_numbers)
    handle = handle or f"user{number}"
    with Session(engine, expire_on_commit=False) as session:
        author = Author(platform=platform, platform_user_id=f"u{number}", handle=handle,
                        display_name=display_name, followers=followers)
        session.add(author)
        profile_id = None
        if tier is not None or customer_name is not None:
            profile = CustomerProfile(display_name=customer_name or handle, tier=tier or "standard", is_prospect=False)
            session.add(profile)
            session.flush()
            profile_id = profile.id
        session.flush()
        if external_id is None:
            external_id = str(10_000 + number) if platform == "x" else f"t1_c{number}"
        mention = Mention(
            platform=platform, external_id=external_id, kind="tweet" if platform == "x" else "comment",
            author_id=author.id, text=text, url=f"https://example.com/{number}",
            created_at=created_at or utcnow() - timedelta(minutes=5), raw=raw,
            sentiment_label=sentiment, sentiment_confidence=confidence, profile_id=profile_id,
        )
        session.add(mention)
        session.commit()
        return mention


def process(engine: Engine, settings: Settings, **step_options: Any) -> int:
    """Run the responders' steps (triage, suggestions) over every new mention."""
    steps = [TriageStep(settings), SuggestionStep(settings, **step_options)]
    return Processor(engine, steps).run_until_empty()


def get(engine: Engine, model: type, ident: int) -> Any:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(model, ident)


def actions(engine: Engine, object_type: str | None = None, object_id: int | None = None) -> list[tuple[str, str]]:
    """(actor, action) of each audit event, oldest first, optionally for one object."""
    with Session(engine) as session:
        statement = select(AuditEvent).order_by(AuditEvent.id)
        if object_type is not None:
            statement = statement.where(AuditEvent.object_type == object_type)
        if object_id is not None:
            statement = statement.where(AuditEvent.object_id == str(object_id))
        return [(e.actor, e.action) for e in session.execute(statement).scalars()]


T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
