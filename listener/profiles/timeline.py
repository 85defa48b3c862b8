"""A profile's timeline: its mentions on every platform, newest first, and the replies sent.

Staff open a profile to see who they are talking to before they answer: what
this person said, where, in which mood, and what the brand already replied.
The functions return plain dataclasses so the CLI and the web app show the
same thing. A merged-away profile id shows its survivor's timeline.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from listener.models import Author, Mention, Reply
from listener.profiles.store import live_profile

BUCKETS = ("day", "week", "month")
SENTIMENT_LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class SentReply:
    id: int
    text: str
    platform_reply_id: str | None
    sent_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    """One mention of the profile, with its sentiment and the replies sent to it."""

    mention_id: int
    platform: str
    kind: str
    author_handle: str | None
    text: str
    title: str | None
    url: str
    created_at: datetime
    sentiment_label: str | None
    sentiment_confidence: float | None
    replies: list[SentReply] = field(default_factory=list)


@dataclass(frozen=True)
class TrendPoint:
    """Mentions per sentiment label in one period; net = (positive − negative) / scored."""

    period_start: date
    counts: dict[str, int]
    total: int
    net: float | None


def profile_timeline(
    session: Session, profile_id: int, *, limit: int | None = None, before: datetime | None = None
) -> list[TimelineEntry]:
    """The profile's mentions across platforms, newest first, each with the replies sent to it."""
    profile = live_profile(session, profile_id)
    statement = (
        select(Mention, Author.handle)
        .outerjoin(Author, Author.id == Mention.author_id)
        .where(Mention.profile_id == profile.id)
        .order_by(Mention.created_at.desc(), Mention.id.desc())  # type: ignore[attr-defined]
    )
    if before is not None:
        statement = statement.where(Mention.created_at < before)
    if limit is not None:
        statement = statement.limit(limit)
    rows = session.execute(statement).all()
    replies: dict[int, list[SentReply]] = defaultdict(list)
    mention_ids = [mention.id for mention, _ in rows]
    for start in range(0, len(mention_ids), 500):
        for reply in session.execute(
            select(Reply)
            .where(Reply.mention_id.in_(mention_ids[start : start + 500]), Reply.state == "sent")  # type: ignore[attr-defined]
            .order_by(Reply.updated_at, Reply.id)
        ).scalars():
            replies[reply.mention_id].append(SentReply(reply.id, reply.text, reply.platform_reply_id, reply.updated_at))  # type: ignore[arg-type]
    return [
        TimelineEntry(
            mention.id, mention.platform, mention.kind, handle, mention.text, mention.title, mention.url,  # type: ignore[arg-type]
            mention.created_at, mention.sentiment_label, mention.sentiment_confidence, replies.get(mention.id, []),  # type: ignore[arg-type]
        )
        for mention, handle in rows
    ]


def period_start(moment: datetime, bucket: str) -> date:
    """The first day of the day, ISO week (Monday) or month that ``moment`` (UTC) falls in."""
    day = moment.astimezone(UTC).date()
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown bucket {bucket!r} (expected {', '.join(BUCKETS)})")


def sentiment_trend(session: Session, profile_id: int, bucket: str = "week") -> list[TrendPoint]:
    """Per period, oldest first: mentions per label and the net sentiment of the scored ones."""
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r} (expected {', '.join(BUCKETS)})")
    profile = live_profile(session, profile_id)
    # Counted per UTC day and label in the database (a busy profile has thousands of mentions, at most
    # a few rows per day), then gathered into weeks or months here. Times are stored in UTC, so the
    # database's date() of a stored time is its UTC day on both back-ends.
    day = func.date(Mention.created_at)
    rows = session.execute(
        select(day, Mention.sentiment_label, func.count())
        .where(Mention.profile_id == profile.id)
        .group_by(day, Mention.sentiment_label)
    ).all()
    periods: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day_value, label, count in rows:
        moment = datetime.combine(date.fromisoformat(str(day_value)[:10]), datetime.min.time(), tzinfo=UTC)
        periods[period_start(moment, bucket)][label or "unscored"] += count
    points = []
    for start in sorted(periods):
        counts = dict(periods[start])
        scored = sum(counts.get(label, 0) for label in SENTIMENT_LABELS)
        net = (counts.get("positive", 0) - counts.get("negative", 0)) / scored if scored else None
        points.append(TrendPoint(start, counts, sum(counts.values()), None if net is None else round(net, 3)))
    return points
