"""Rows for the digest and alert tests, inserted in bulk as the collectors and the queue would leave them."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from listener.models import Author, CustomerProfile, Mention, Reply, Source

_numbers = itertools.count(1)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def source(engine: Engine, name: str, platform: str = "x", created_at: datetime | None = None) -> int:
    with engine.begin() as connection:
        return connection.execute(
            insert(Source.__table__).returning(Source.__table__.c.id),  # type: ignore[attr-defined]
            {"name": name, "kind": "x_search" if platform == "x" else "reddit_subreddit", "platform": platform,
             "options": {}, "enabled": True, "interval_seconds": 120, "cursor": {}, "consecutive_failures": 0,
             "mentions_collected": 0, "created_at": created_at or EPOCH},
        ).scalar_one()


def profile(engine: Engine, name: str, tier: str = "standard", prospect: bool = True) -> int:
    with engine.begin() as connection:
        return connection.execute(
            insert(CustomerProfile.__table__).returning(CustomerProfile.__table__.c.id),  # type: ignore[attr-defined]
            {"display_name": name, "tier": tier, "is_prospect": prospect, "emails": [], "tags": [],
             "created_at": EPOCH, "updated_at": EPOCH},
        ).scalar_one()


def author(engine: Engine, handle: str, platform: str = "x") -> int:
    with engine.begin() as connection:
        return connection.execute(
            insert(Author.__table__).returning(Author.__table__.c.id),  # type: ignore[attr-defined]
            {"platform": platform, "platform_user_id": f"u-{handle}", "handle": handle, "first_seen_at": EPOCH,
             "updated_at": EPOCH},
        ).scalar_one()


@dataclass
class MentionRow:
    created_at: datetime
    label: str | None = "neutral"
    text: str = "hello @brand"
    platform: str = "x"
    source_id: int | None = None
    author_id: int | None = None
    profile_id: int | None = None
    status: str = "resolved"
    sla_due_at: datetime | None = None
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        n = next(_numbers)
        return {
            "platform": self.platform, "external_id": f"{self.platform}-{n}", "kind": "tweet", "text": self.text,
            "url": self.url or f"https://example.test/{self.platform}/{n}", "created_at": self.created_at,
            "collected_at": self.created_at, "raw": "{}", "processing_state": "processed", "status": self.status,
            "sentiment_label": self.label, "source_id": self.source_id, "author_id": self.author_id,
            "profile_id": self.profile_id, "sla_due_at": self.sla_due_at, **self.extra,
        }


def mentions(engine: Engine, rows: Iterable[MentionRow]) -> list[int]:
    """Insert the rows in one statement per thousand; returns their ids in order."""
    rows = list(rows)
    ids: list[int] = []
    table = Mention.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        for start in range(0, len(rows), 1000):
            chunk = [row.values() for row in rows[start : start + 1000]]
            connection.execute(insert(table), chunk)
            external = [c["external_id"] for c in chunk]
            found = dict(connection.execute(
                select(table.c.external_id, table.c.id).where(table.c.external_id.in_(external))
            ).all())
            ids.extend(found[e] for e in external)
    return ids


def reply(engine: Engine, mention_id: int, sent_at: datetime | None, state: str = "sent") -> None:
    with engine.begin() as connection:
        connection.execute(insert(Reply.__table__), {  # type: ignore[attr-defined]
            "mention_id": mention_id, "state": state, "text": "Sorry to hear that, we are on it.",
            "created_at": EPOCH, "updated_at": EPOCH, "sent_at": sent_at,
        })
