"""The digest of a period, computed with SQL aggregates into a typed tree.

Every figure is a ``count``/``sum`` over the period's rows done by the database;
Python only adds a handful of aggregate rows together, so the sums shown always
add up (overall = the platforms = the chart's bars) and a million mentions never
cross into Python. The same :func:`compute_digest` feeds the email, the webhook
and the web dashboard (:meth:`Digest.as_dict`).

What each figure means (all periods are half-open, ``[start, end)``):

- **volume and sentiment mix**: mentions created in the period, by
  ``sentiment_label``; "unscored" is the label ``unscored`` plus mentions not yet
  classified (NULL) or with any other label; "uncertain" is a negative, neutral or
  positive label below ``[sentiment] min_confidence`` (counted there only, so the
  five figures add up to the total). By platform and per chart bucket.
- **net sentiment**: ``100 × (positive − negative) / (positive + neutral +
  negative)``, confident labels only (unscored and uncertain excluded); ``None``
  when nothing was confidently scored. Its change is
  in points against the previous period (the calendar day or week before, or the
  same length just before a custom range).
- **negative drivers**: see :mod:`responders.digests.terms` (confident negatives only).
- **top customers**: the customer profiles with the most mentions in the period
  (prospects included, marked), and the same for the VIP tiers.
- **response metrics**: *first replies* are mentions whose first sent reply
  (``replies.sent_at``) falls in the period; the median is over their
  ``sent_at − created_at``. *Replies sent* counts replies with ``sent_at`` in the
  period. *SLA breaches* are mentions created in the period whose ``sla_due_at``
  has passed (at ``generated_at``) with no reply sent by then. *Open backlog* is
  mentions created before the period's end whose status is open (setting
  ``digest.open_statuses``) and that have no sent reply, as of ``generated_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, and_, case, exists, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import CustomerProfile, Mention, Reply
from listener.platforms import platform_names
from listener.sentiment.certainty import DEFAULT_MIN_CONFIDENCE, confident_sql, confidently_sql, uncertain_sql
from listener.settings import DigestSettings
from responders.digests.periods import Bucket, Period
from responders.digests.terms import Driver, DriverSet, MentionRef, negative_drivers, stop_words_for

LABELS = ("negative", "neutral", "positive")
OTHER_PLATFORM = "other"


@dataclass
class SentimentMix:
    """Mentions by sentiment. ``unscored`` holds everything not negative, neutral or positive.

    ``uncertain`` holds the labels below ``[sentiment] min_confidence``, which the three
    labels then leave out: each mention is counted once.
    """

    negative: int = 0
    neutral: int = 0
    positive: int = 0
    unscored: int = 0
    uncertain: int = 0

    @property
    def total(self) -> int:
        return self.negative + self.neutral + self.positive + self.unscored + self.uncertain

    @property
    def scored(self) -> int:
        return self.negative + self.neutral + self.positive

    @property
    def net(self) -> float | None:
        """Net sentiment, −100..100: positive minus negative, as a share of the scored mentions."""
        return 100.0 * (self.positive - self.negative) / self.scored if self.scored else None

    def share(self, label: str) -> float | None:
        """A label's share of all mentions, 0..1."""
        return getattr(self, label) / self.total if self.total else None

    def __add__(self, other: SentimentMix) -> SentimentMix:
        return SentimentMix(self.negative + other.negative, self.neutral + other.neutral,
                            self.positive + other.positive, self.unscored + other.unscored,
                            self.uncertain + other.uncertain)


@dataclass
class Change:
    """How the period compares with the one before."""

    volume: int
    volume_pct: float | None
    net_points: float | None

    @classmethod
    def between(cls, now: SentimentMix, before: SentimentMix) -> Change:
        pct = 100.0 * (now.total - before.total) / before.total if before.total else None
        points = now.net - before.net if now.net is not None and before.net is not None else None
        return cls(now.total - before.total, pct, points)


@dataclass
class PlatformMix:
    platform: str
    mix: SentimentMix
    previous: SentimentMix

    @property
    def change(self) -> Change:
        return Change.between(self.mix, self.previous)


@dataclass
class SeriesPoint:
    """One bar of the chart: an hour, a day or a week."""

    start: datetime
    end: datetime
    label: str
    mix: SentimentMix


@dataclass
class CustomerRow:
    profile_id: int
    display_name: str
    tier: str
    is_prospect: bool
    mentions: int
    negative: int


@dataclass
class ResponseMetrics:
    first_replies: int
    median_first_reply_seconds: float | None
    replies_sent: int
    sla_due: int
    sla_breaches: int
    open_backlog: int


@dataclass
class Digest:
    """Everything a digest shows, for one period; see the module docstring for each figure."""

    brand: str
    period: Period
    previous_period: Period
    generated_at: datetime
    overall: SentimentMix
    previous_overall: SentimentMix
    change: Change
    platforms: list[PlatformMix]
    series: list[SeriesPoint]
    drivers: DriverSet
    top_customers: list[CustomerRow]
    vips: list[CustomerRow]
    response: ResponseMetrics
    inbox_url: str
    vip_tiers: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.overall.total == 0

    def inbox_link(self, **filters: object) -> str:
        """The web inbox filtered to this period (and ``filters``, e.g. ``sentiment="negative"``)."""
        query: dict[str, object] = {"status": "all"}  # the period's mentions, answered or not
        query.update({k: v for k, v in filters.items() if v is not None})
        query.update(since=self.period.start.isoformat(), until=self.period.end.isoformat())
        return f"{self.inbox_url}?{urlencode(query)}"

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data for the web dashboard and webhook consumers (times as ISO 8601 UTC)."""

        def mix(m: SentimentMix) -> dict[str, Any]:
            return {**asdict(m), "total": m.total, "scored": m.scored, "net": m.net}

        def period(p: Period) -> dict[str, Any]:
            return {"kind": p.kind, "start": p.start.isoformat(), "end": p.end.isoformat(),
                    "timezone": p.timezone, "label": p.label}

        drivers = self.drivers
        return {
            "brand": self.brand,
            "period": period(self.period),
            "previous_period": period(self.previous_period),
            "generated_at": self.generated_at.isoformat(),
            "overall": mix(self.overall),
            "previous_overall": mix(self.previous_overall),
            "change": asdict(self.change),
            "platforms": [{"platform": p.platform, "mix": mix(p.mix), "previous": mix(p.previous),
                           "change": asdict(p.change)} for p in self.platforms],
            "series": [{"start": s.start.isoformat(), "end": s.end.isoformat(), "label": s.label, "mix": mix(s.mix)}
                       for s in self.series],
            "drivers": {
                "negative_total": drivers.negative_total, "read": drivers.read, "exact": drivers.exact,
                "previous_read": drivers.previous_read, "background_read": drivers.background_read,
                "terms": [{**{k: v for k, v in asdict(d).items() if k != "examples"},
                           "examples": [{**asdict(e), "created_at": e.created_at.isoformat()} for e in d.examples]}
                          for d in drivers.drivers],
            },
            "top_customers": [asdict(c) for c in self.top_customers],
            "vips": [asdict(c) for c in self.vips],
            "response": asdict(self.response),
            "links": {"inbox": self.inbox_link(), "negative": self.inbox_link(sentiment="negative")},
            "inbox_url": self.inbox_url,
            "vip_tiers": list(self.vip_tiers),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Digest:
        """The digest back from :meth:`as_dict`, equal to the one that made it.

        The dashboard stores digests as JSON (responders.digests.snapshots) and must
        show exactly what a fresh compute shows; derived values in the JSON (totals,
        net, changes, links) are recomputed from the counts, not read back.
        """

        def mix(m: dict[str, Any]) -> SentimentMix:
            # Snapshots stored before "uncertain" existed have none.
            return SentimentMix(m["negative"], m["neutral"], m["positive"], m["unscored"], m.get("uncertain", 0))

        def period(p: dict[str, Any]) -> Period:
            return Period(datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"]), p["kind"],
                          p["timezone"])

        def driver(d: dict[str, Any]) -> Driver:
            examples = [MentionRef(**{**e, "created_at": datetime.fromisoformat(e["created_at"])})
                        for e in d["examples"]]
            return Driver(**{**d, "mention_ids": list(d["mention_ids"]), "related": list(d["related"]),
                             "examples": examples})

        drivers = data["drivers"]
        return cls(
            brand=data["brand"],
            period=period(data["period"]),
            previous_period=period(data["previous_period"]),
            generated_at=datetime.fromisoformat(data["generated_at"]),
            overall=mix(data["overall"]),
            previous_overall=mix(data["previous_overall"]),
            change=Change(**data["change"]),
            platforms=[PlatformMix(p["platform"], mix(p["mix"]), mix(p["previous"])) for p in data["platforms"]],
            series=[SeriesPoint(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]), s["label"],
                                mix(s["mix"])) for s in data["series"]],
            drivers=DriverSet([driver(d) for d in drivers["terms"]], drivers["negative_total"], drivers["read"],
                              drivers["previous_read"], drivers["background_read"]),
            top_customers=[CustomerRow(**c) for c in data["top_customers"]],
            vips=[CustomerRow(**c) for c in data["vips"]],
            response=ResponseMetrics(**data["response"]),
            inbox_url=data["inbox_url"],
            vip_tiers=list(data["vip_tiers"]),
        )


# --- the aggregates ---------------------------------------------------------------------------------


def _count_if(condition: Any) -> Any:
    # count(*) FILTER (WHERE ...): PostgreSQL and SQLite >= 3.30; on SQLite it is much cheaper than sum(CASE ...).
    return func.count().filter(condition)


def _mix_columns(now: datetime, min_confidence: float) -> list[Any]:
    """Per known platform: its three confident labels, its uncertain ones and its total; then all mentions, and
    how many are past their SLA."""
    confident = confident_sql(Mention.sentiment_confidence, min_confidence)
    uncertain = uncertain_sql(Mention.sentiment_label, Mention.sentiment_confidence, min_confidence)
    columns: list[Any] = []
    for platform in platform_names():
        for label in LABELS:
            columns.append(_count_if(and_(Mention.platform == platform, Mention.sentiment_label == label, confident)))
        columns.append(_count_if(and_(Mention.platform == platform, uncertain)))
        columns.append(_count_if(Mention.platform == platform))
    columns.append(func.count())
    columns.append(_count_if(Mention.sla_due_at < now))
    return columns


def _mixes(
    session: Session, row: Sequence[Any], where: Any, min_confidence: float
) -> tuple[dict[str, SentimentMix], int]:
    """Turn one row of :func:`_mix_columns` into per-platform mixes and the SLA-due count.

    Mentions of a platform Harken does not know (none today) are counted under
    ``other`` by a second query, run only when the totals show there are some.
    """
    values = [int(v or 0) for v in row]
    mixes: dict[str, SentimentMix] = {}
    for i, platform in enumerate(platform_names()):
        neg, neu, pos, unsure, total = values[5 * i : 5 * i + 5]
        mixes[platform] = SentimentMix(neg, neu, pos, total - neg - neu - pos - unsure, unsure)
    total, sla_due = values[5 * len(platform_names()) :]
    other = SentimentMix()
    if total > sum(m.total for m in mixes.values()):
        uncertain = uncertain_sql(Mention.sentiment_label, Mention.sentiment_confidence, min_confidence)
        flag = case((uncertain, 1), else_=0)
        for label, unsure, count in session.execute(
            select(Mention.sentiment_label, flag, func.count())
            .where(where, Mention.platform.not_in(platform_names()))  # type: ignore[attr-defined]
            .group_by(Mention.sentiment_label, flag)
        ).all():
            name = "uncertain" if unsure else label if label in LABELS else "unscored"
            setattr(other, name, getattr(other, name) + count)
    mixes[OTHER_PLATFORM] = other
    return mixes, sla_due


def _in(period: Period | Bucket) -> Any:
    return and_(Mention.created_at >= period.start, Mention.created_at < period.end)


def _customers(session: Session, statement: Select[Any], limit: int) -> list[CustomerRow]:
    rows = session.execute(statement.limit(limit)).all()
    if not rows:
        return []
    profiles = {p.id: p for p in session.scalars(
        select(CustomerProfile).where(CustomerProfile.id.in_([r[0] for r in rows]))  # type: ignore[union-attr]
    )}
    return [CustomerRow(pid, profiles[pid].display_name, profiles[pid].tier, profiles[pid].is_prospect,
                        int(n), int(neg or 0)) for pid, n, neg in rows if pid in profiles]


def _seconds_between(session: Session, earlier: Any, later: Any) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


@dataclass
class _Answers:
    replies_sent: int
    first_replies: int
    median_wait: float | None
    answered_in_time: int
    open_backlog: int


def _response(session: Session, period: Period, now: datetime, open_statuses: list[str]) -> _Answers:
    """Replies sent, first replies and their median wait, mentions answered within their SLA, open backlog.

    One pass over the replies sent since the period began (far fewer rows than its
    mentions) finds each mention's first reply since then; a mention with a reply
    before the period is not a first reply in it. The SLA breaches are the mentions
    due (counted by the sentiment pass) minus those answered in time (counted here).
    """
    replies_sent = session.scalar(
        select(func.count()).select_from(Reply).where(Reply.sent_at >= period.start, Reply.sent_at < period.end)
    ) or 0
    since = (
        select(Reply.mention_id.label("mention_id"), func.min(Reply.sent_at).label("first_sent"))
        .where(Reply.sent_at >= period.start, Reply.sent_at < now)
        .group_by(Reply.mention_id)
        .subquery("since")
    )
    earlier = Reply.__table__.alias("earlier")  # type: ignore[attr-defined]
    replied_before = exists().where(earlier.c.mention_id == Mention.id, earlier.c.sent_at < period.start)
    is_first = and_(since.c.first_sent < period.end, ~replied_before)
    in_time = and_(_in(period), Mention.sla_due_at < now, since.c.first_sent <= Mention.sla_due_at)
    firsts = (
        select(
            case((is_first, _seconds_between(session, Mention.created_at, since.c.first_sent))).label("wait"),
            case((in_time, 1), else_=0).label("in_time"),
        )
        .select_from(since)
        .join(Mention, Mention.id == since.c.mention_id)
        .cte("firsts")
    )
    # The median inside the database (window functions: SQLite >= 3.25, PostgreSQL): one row comes back.
    ranked = (
        select(firsts.c.wait, func.row_number().over(order_by=firsts.c.wait).label("rank"),
               func.count().over().label("n"))
        .where(firsts.c.wait.is_not(None))
        .subquery("ranked")
    )
    middle = ranked.c.rank.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    median = select(func.avg(ranked.c.wait)).where(middle).scalar_subquery()
    first_replies, answered_in_time, median_wait = session.execute(
        select(func.count(firsts.c.wait), func.coalesce(func.sum(firsts.c.in_time), 0), median)
    ).one()
    backlog = 0
    if open_statuses:
        sent = exists().where(Reply.mention_id == Mention.id, Reply.sent_at.is_not(None))  # type: ignore[union-attr]
        backlog = session.scalar(
            select(func.count()).select_from(Mention).where(
                Mention.status.in_(open_statuses),  # type: ignore[attr-defined]
                Mention.created_at < period.end,
                ~sent,
            )
        ) or 0
    return _Answers(int(replies_sent), int(first_replies or 0),
                    float(median_wait) if median_wait is not None else None, int(answered_in_time or 0), int(backlog))


def _sentiment(
    session: Session, buckets: Sequence[Bucket], now: datetime, min_confidence: float
) -> tuple[list[SeriesPoint], dict[str, SentimentMix], int]:
    """One aggregate query per chart bucket: the bars, the platforms' totals and the SLA-due count."""
    columns = _mix_columns(now, min_confidence)
    series: list[SeriesPoint] = []
    platforms: dict[str, SentimentMix] = {}
    sla_due = 0
    for bucket in buckets:
        where = _in(bucket)
        mixes, due = _mixes(session, session.execute(select(*columns).where(where)).one(), where, min_confidence)
        sla_due += due
        for name, mix in mixes.items():
            platforms[name] = platforms.get(name, SentimentMix()) + mix
        series.append(SeriesPoint(bucket.start, bucket.end, bucket.label, sum(mixes.values(), SentimentMix())))
    return series, platforms, sla_due


def _previous(session: Session, previous: Period, now: datetime, min_confidence: float) -> dict[str, SentimentMix]:
    """The comparison period's mix by platform, in one aggregate query."""
    where = _in(previous)
    row = session.execute(select(*_mix_columns(now, min_confidence)).where(where)).one()
    return _mixes(session, row, where, min_confidence)[0]


def _people(
    session: Session, period: Period, settings: DigestSettings, min_confidence: float = DEFAULT_MIN_CONFIDENCE
) -> tuple[list[CustomerRow], list[CustomerRow]]:
    """The most-mentioning customers (CRM-imported profiles) and VIPs.

    Prospects (every other author's automatic profile) are not customers; a VIP is
    a profile of a tier in ``digest.vip_tiers``, prospect or not.
    """
    negative = confidently_sql("negative", Mention.sentiment_label, Mention.sentiment_confidence, min_confidence)

    def ranking(profiles: Any) -> Select[Any]:
        # Driven by the profiles (the profile_id index), not by the period's many mentions.
        return (
            select(Mention.profile_id, func.count().label("n"), _count_if(negative))
            .where(Mention.profile_id.in_(select(CustomerProfile.id).where(profiles)), _in(period))  # type: ignore[union-attr]
            .group_by(Mention.profile_id)
            .order_by(func.count().desc(), Mention.profile_id)
        )

    top_customers: list[CustomerRow] = []
    vips: list[CustomerRow] = []
    if settings.top_customers:
        customers = and_(CustomerProfile.is_prospect.is_(False), CustomerProfile.merged_into_id.is_(None))  # type: ignore[attr-defined,union-attr]
        top_customers = _customers(session, ranking(customers), settings.top_customers)
        if settings.vip_tiers:
            vip = and_(CustomerProfile.tier.in_(settings.vip_tiers), CustomerProfile.merged_into_id.is_(None))  # type: ignore[attr-defined,union-attr]
            vips = _customers(session, ranking(vip), settings.top_customers)
    return top_customers, vips


def compute_digest(
    engine: Engine,
    period: Period,
    settings: DigestSettings | None = None,
    *,
    brand: str = "Harken",
    now: datetime | None = None,
    parallel: bool = True,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> Digest:
    """The digest of ``period`` (see the module docstring for what each figure counts).

    Its independent parts (the sentiment of each half of the buckets, the previous
    period, the customers, the response metrics) run at the same time on separate
    connections when ``parallel``: each is at most one pass over the period, so the
    wall time is that of the longest rather than their sum where cores are free. The
    drivers follow the sentiment, since their sample is spread by its per-bucket counts.
    Each part reads its own snapshot; for a period that has ended nothing changes
    between them. With ``parallel=False`` the parts run one after another.
    ``min_confidence`` is ``[sentiment] min_confidence``: labels below it count as uncertain.
    """
    settings = settings or DigestSettings()
    now = now or datetime.now(UTC)
    previous_period = period.previous()
    buckets = period.buckets()

    def run(part: Any, *args: Any) -> Any:
        with Session(engine) as session:
            return part(session, *args)

    # The buckets in two halves, so that the longest part is split too.
    halves = [buckets[: len(buckets) // 2], buckets[len(buckets) // 2 :]] if len(buckets) > 1 else [buckets]
    with ThreadPoolExecutor(max_workers=4 if parallel else 1, thread_name_prefix="digest") as pool:
        sentiment = [pool.submit(run, _sentiment, half, now, min_confidence) for half in halves]
        before = pool.submit(run, _previous, previous_period, now, min_confidence)
        people = pool.submit(run, _people, period, settings, min_confidence)
        answers = pool.submit(run, _response, period, now, settings.open_statuses)
        series: list[SeriesPoint] = []
        platform_totals: dict[str, SentimentMix] = {}
        sla_due = 0
        for part in sentiment:
            points, totals, due = part.result()
            series += points
            sla_due += due
            for name, mix in totals.items():
                platform_totals[name] = platform_totals.get(name, SentimentMix()) + mix
        previous_mixes = before.result()
        previous_overall = sum(previous_mixes.values(), SentimentMix())
        drivers = run(
            negative_drivers,
            buckets,
            [p.mix.negative for p in series],
            [p.mix.total - p.mix.negative for p in series],
            Bucket(previous_period.start, previous_period.end, ""),
            previous_overall.negative,
            stop_words_for(brand, settings.stop_words),
            settings.top_terms,
            settings.driver_min_mentions,
            settings.term_sample_size,
            min_confidence,
        )
        top_customers, vips = people.result()
        replied = answers.result()
    response = ResponseMetrics(
        first_replies=replied.first_replies,
        median_first_reply_seconds=replied.median_wait,
        replies_sent=replied.replies_sent,
        sla_due=sla_due,
        sla_breaches=sla_due - replied.answered_in_time,
        open_backlog=replied.open_backlog,
    )
    overall = sum((p.mix for p in series), SentimentMix())
    platforms = [
        PlatformMix(name, platform_totals.get(name, SentimentMix()), previous_mixes[name])
        for name in (*platform_names(), OTHER_PLATFORM)
        if platform_totals.get(name, SentimentMix()).total or previous_mixes[name].total
    ]
    return Digest(
        brand=brand,
        period=period,
        previous_period=previous_period,
        generated_at=now,
        overall=overall,
        previous_overall=previous_overall,
        change=Change.between(overall, previous_overall),
        platforms=platforms,
        series=series,
        drivers=drivers,
        top_customers=top_customers,
        vips=vips,
        response=response,
        inbox_url=settings.inbox_url,
        vip_tiers=list(settings.vip_tiers),
    )
