"""Spike alerts: an abnormal rise of negative mentions, brand-wide and per source, that explains itself.

The rule
--------
At each check (every ``alerts.check_interval_seconds``, so a storm is seen within
one interval), for each scope (``brand``: every mention; ``source:<name>``: one
query, account or subreddit):

1. **Observed** ``n``: negative mentions created in the last ``window_minutes``.
2. **Baseline**: the negative mentions of the *same clock window* (in the digest's
   time zone) on each of the previous ``baseline_days`` days, so that the ordinary
   daily rhythm (quiet nights, busy lunchtimes) is compared like with like. Days
   before the scope's data began are left out; with fewer than
   :data:`MIN_HISTORY_DAYS` days there is no alert. The largest day is dropped
   (one past storm must not hide the next), and the rest give the mean ``λ`` and
   the variance ``s²``.
3. **Test**: the upper-tail probability of seeing ``n`` or more, under a Poisson
   law of mean ``max(λ, 0.5)`` (the floor keeps a silent baseline from making any
   single mention "infinitely unlikely"); when the days vary more than Poisson
   allows (``s² > λ``), under the negative binomial with that mean and variance
   instead, so that ordinary day-to-day swings are not taken for storms.
4. **Alert** when all hold: ``p < p_value`` (significant), ``n ≥ min_count``
   (enough to matter; Huginn's mean + 3σ rule fires on 2 mentions against 0.1),
   and ``n ≥ min_ratio × expected`` (a real rise, not a significant wobble on a
   large volume).
5. **Cool-down**: after an alert its scope raises no other for ``cooldown_minutes``.
   One storm makes one alert: when the brand-wide alert fires, the sources that
   fire with it are folded into it (listed in ``covers``) and cool down with it;
   a brand-wide check leaves out the sources already alerted on (their counts are
   subtracted), so a storm first caught in one source does not alert again as the
   brand.

Each alert's ``explanation`` holds the observed count, the baseline counts, mean,
variance and expected value, the test and its p-value, the thresholds, the terms
driving the spike (:func:`responders.digests.terms.rank_terms` against the
baseline's negative mentions), the mention ids with a few examples, the sources,
and a link into the inbox filtered to the window.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from scipy import stats
from sqlalchemy import func, not_, or_, select, true
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.links import http_url
from listener.models import Alert, Mention, Source
from listener.sentiment.certainty import confidently_sql
from listener.settings import AlertSettings, Settings
from responders.digests.terms import excerpt, rank_terms, stop_words_for

log = logging.getLogger(__name__)

BRAND = "brand"
KIND = "negative_spike"
MIN_HISTORY_DAYS = 3
MIN_EXPECTED = 0.5
MAX_IDS = 50
EXAMPLES = 5
TEXTS_PER_WINDOW = 300


@dataclass(frozen=True)
class SpikeRule:
    """The thresholds of the rule in the module docstring."""

    window: timedelta = timedelta(minutes=60)
    baseline_days: int = 14
    p_value: float = 0.001
    min_count: int = 10
    min_ratio: float = 3.0
    cooldown: timedelta = timedelta(minutes=360)

    @classmethod
    def from_settings(cls, settings: AlertSettings) -> SpikeRule:
        return cls(timedelta(minutes=settings.window_minutes), settings.baseline_days, settings.p_value,
                   settings.min_count, settings.min_ratio, timedelta(minutes=settings.cooldown_minutes))

    @property
    def window_minutes(self) -> int:
        return int(self.window.total_seconds() // 60)

    def thresholds(self) -> dict[str, Any]:
        return {"p_value": self.p_value, "min_count": self.min_count, "min_ratio": self.min_ratio,
                "cooldown_minutes": int(self.cooldown.total_seconds() // 60), "baseline_days": self.baseline_days,
                "window_minutes": self.window_minutes}


@dataclass
class Verdict:
    """The rule applied to one scope at one check."""

    scope: str
    observed: int
    history: list[int]
    mean: float = 0.0
    variance: float = 0.0
    expected: float = 0.0
    p_value: float = 1.0
    test: str = "poisson"
    fired: bool = False
    reason: str = ""
    excluded: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else float("inf")


def evaluate(scope: str, observed: int, history: list[int], rule: SpikeRule) -> Verdict:
    """Apply the rule to ``observed`` against ``history`` (one count per earlier day, oldest first or any order)."""
    verdict = Verdict(scope, observed, list(history))
    if len(history) < MIN_HISTORY_DAYS:
        verdict.reason = f"not enough history ({len(history)} of {MIN_HISTORY_DAYS} days)"
        return verdict
    kept = sorted(history)[:-1]
    verdict.mean = statistics.fmean(kept)
    verdict.variance = statistics.variance(kept) if len(kept) > 1 else 0.0
    verdict.expected = max(verdict.mean, MIN_EXPECTED)
    if observed == 0:
        verdict.reason = "no negative mentions"
        return verdict
    if verdict.variance > verdict.mean > 0:
        # Negative binomial with the baseline's mean and variance: r = λ²/(s² − λ), p = r/(r + λ).
        r = verdict.mean**2 / (verdict.variance - verdict.mean)
        verdict.test = "negative binomial"
        verdict.p_value = float(stats.nbinom.sf(observed - 1, r, r / (r + verdict.mean)))
    else:
        verdict.test = "poisson"
        verdict.p_value = float(stats.poisson.sf(observed - 1, verdict.expected))
    if verdict.p_value >= rule.p_value:
        verdict.reason = f"not significant (p = {verdict.p_value:.2g})"
    elif observed < rule.min_count:
        verdict.reason = f"below the minimum volume ({observed} < {rule.min_count})"
    elif observed < rule.min_ratio * verdict.expected:
        verdict.reason = f"below {rule.min_ratio:g}x the baseline ({verdict.ratio:.1f}x)"
    else:
        verdict.fired, verdict.reason = True, "spike"
    return verdict


# --- counting ----------------------------------------------------------------------------------------


@dataclass
class Windows:
    """Negative mentions per source id in the current window and the same window on earlier days."""

    bounds: list[tuple[datetime, datetime]]  # [0] is the current window, then 1, 2... days before
    counts: list[dict[int | None, int]]
    sources: dict[int, str]
    data_since: dict[int | None, datetime | None]


def _windows(session: Session, now: datetime, rule: SpikeRule, timezone: str, min_confidence: float) -> Windows:
    """Confident negatives per source in the current window and the same window on earlier days."""
    negative = confidently_sql("negative", Mention.sentiment_label, Mention.sentiment_confidence, min_confidence)
    local_now = now.astimezone(ZoneInfo(timezone))
    bounds = []
    for day in range(rule.baseline_days + 1):
        end = (local_now - timedelta(days=day)).astimezone(UTC)  # same wall-clock time, DST included
        bounds.append((end - rule.window, end))
    counts = []
    for start, end in bounds:
        rows = session.execute(
            select(Mention.source_id, func.count())
            .where(Mention.created_at >= start, Mention.created_at < end, negative)
            .group_by(Mention.source_id)
        ).all()
        counts.append({source_id: int(n) for source_id, n in rows})
    every_source = session.scalars(select(Source)).all()
    sources = {s.id: s.name for s in every_source if s.id is not None}
    # History counts only from when there was data: a new install or a new query has no quiet past.
    first = session.scalar(select(func.min(Mention.created_at)))
    data_since: dict[int | None, datetime | None] = {None: first}
    for s in every_source:
        data_since[s.id] = max(s.created_at, first) if first else None
    return Windows(bounds, counts, sources, data_since)


def _history(windows: Windows, source_ids: list[int | None] | None, since: datetime | None) -> tuple[int, list[int]]:
    """Observed and history counts for a set of sources (``None``: all of them), from when data began."""

    def total(counts: dict[int | None, int]) -> int:
        if source_ids is None:
            return sum(counts.values())
        return sum(counts.get(s, 0) for s in source_ids)

    observed = total(windows.counts[0])
    history = [total(c) for (start, _), c in zip(windows.bounds[1:], windows.counts[1:], strict=True)
               if since is not None and start >= since]
    return observed, history


# --- explaining --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which mentions a scope counts: one source, or every source but the ``excluded`` ones."""

    name: str
    source_id: int | None = None
    excluded: tuple[int, ...] = ()

    def condition(self) -> Any:
        if self.source_id is not None:
            return Mention.source_id == self.source_id
        if self.excluded:
            return or_(Mention.source_id.is_(None), Mention.source_id.not_in(self.excluded))  # type: ignore[union-attr]
        return true()

    def includes(self, source_id: int | None) -> bool:
        if self.source_id is not None:
            return source_id == self.source_id
        return source_id not in self.excluded


def _explain(
    session: Session, verdict: Verdict, windows: Windows, scope: Scope, settings: Settings, rule: SpikeRule,
    covers: list[str],
) -> dict[str, Any]:
    start, end = windows.bounds[0]
    in_scope = scope.condition()
    # Uncertain negatives (below [sentiment] min_confidence) neither count nor explain.
    negative = confidently_sql("negative", Mention.sentiment_label, Mention.sentiment_confidence,
                               settings.sentiment.min_confidence)
    rows = session.execute(
        select(Mention.id, Mention.text, Mention.url, Mention.platform, Mention.created_at, Mention.source_id)
        .where(Mention.created_at >= start, Mention.created_at < end, negative, in_scope)
        .order_by(Mention.created_at.desc(), Mention.id.desc())  # type: ignore[union-attr]
        .limit(TEXTS_PER_WINDOW)
    ).all()
    background: list[str] = []
    for day_start, day_end in windows.bounds[1:]:
        background.extend(session.scalars(
            select(Mention.text)
            .where(Mention.created_at >= day_start, Mention.created_at < day_end, negative, in_scope)
            .limit(TEXTS_PER_WINDOW // 3)
        ).all())
    # The window's other mentions: words as common there as in the complaints are not what the spike is about.
    contrast = list(session.scalars(
        select(Mention.text)
        .where(Mention.created_at >= start, Mention.created_at < end, in_scope,
               or_(Mention.sentiment_label.is_(None), not_(negative)))
        .limit(TEXTS_PER_WINDOW // 3)
    ).all())
    terms = rank_terms([(r[0], r[1]) for r in rows], background,
                       stop_words=stop_words_for(settings.brand.name, settings.digest.stop_words), top=5,
                       min_mentions=3, contrast=contrast)
    by_source = {
        windows.sources.get(source_id, "(no source)") if source_id is not None else "(no source)": n
        for source_id, n in sorted(windows.counts[0].items(), key=lambda kv: -kv[1])
        if scope.includes(source_id)
    }
    # Every status: the mentions behind an alert stay behind it once someone has answered them.
    query = {"status": "all", "sentiment": "negative", "since": start.isoformat(), "until": end.isoformat()}
    if scope.source_id is not None:
        query["source"] = windows.sources.get(scope.source_id, "")
    return {
        "rule": "negative mentions in the window vs the same clock window on earlier days; "
                "p < p_value AND observed >= min_count AND observed >= min_ratio x expected; cool-down per scope",
        "test": verdict.test,
        "test_name": "Negative binomial" if verdict.test == "negative binomial" else "Poisson",
        "window_minutes": rule.window_minutes,
        "timezone": settings.digest.timezone,
        "observed": verdict.observed,
        "expected": verdict.expected,
        "ratio": verdict.ratio,
        "p_value": verdict.p_value,
        "baseline": {
            "days": len(verdict.history), "counts": verdict.history, "mean": verdict.mean,
            "variance": verdict.variance, "dropped_largest": max(verdict.history) if verdict.history else None,
        },
        "thresholds": rule.thresholds(),
        "terms": [{"term": t.term, "mentions": t.mentions, "mention_ids": t.mention_ids, "related": t.related}
                  for t in terms],
        "mention_ids": [r[0] for r in rows[:MAX_IDS]],
        "examples": [{"id": r[0], "url": http_url(r[2]), "excerpt": excerpt(r[1]), "platform": r[3],
                      "created_at": r[4].isoformat()} for r in rows[:EXAMPLES]],
        "sources": by_source,
        "covers": covers,
        "excluded": verdict.excluded,
        "link": f"{settings.digest.inbox_url}?{urlencode(query)}",
    }


# --- checking ----------------------------------------------------------------------------------------


@dataclass
class CheckResult:
    now: datetime
    verdicts: list[Verdict]
    alerts: list[Alert]


def _cooling(session: Session, now: datetime, rule: SpikeRule) -> set[str]:
    """Scopes that alerted (or were folded into an alert) less than the cool-down ago."""
    recent = session.scalars(
        select(Alert).where(Alert.kind == KIND, Alert.window_end > now - rule.cooldown, Alert.window_end <= now)
    ).all()
    scopes: set[str] = set()
    for alert in recent:
        scopes.add(alert.scope)
        scopes.update(alert.explanation.get("covers", []))
    return scopes


def check_spikes(engine: Engine, settings: Settings, *, now: datetime | None = None) -> CheckResult:
    """Apply the rule to the brand and (``alerts.per_source``) each source; record the alerts raised.

    Delivering them is :func:`responders.digests.dispatch.check_and_alert`'s part.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    rule = SpikeRule.from_settings(settings.alerts)
    with Session(engine, expire_on_commit=False) as session:
        windows = _windows(session, now, rule, settings.digest.timezone, settings.sentiment.min_confidence)
        cooling = _cooling(session, now, rule)
        source_scopes = {sid: f"source:{name}" for sid, name in windows.sources.items()}
        verdicts: list[Verdict] = []
        source_verdicts: dict[int, Verdict] = {}
        if settings.alerts.per_source:
            for sid, scope in source_scopes.items():
                observed, history = _history(windows, [sid], windows.data_since.get(sid))
                source_verdicts[sid] = evaluate(scope, observed, history, rule)
        raised: list[tuple[Verdict, Scope, list[str]]] = []
        # The brand, without the sources that already alerted (their storm is already told).
        excluded = tuple(sid for sid, scope in source_scopes.items() if scope in cooling)
        brand_scope = Scope(BRAND, excluded=excluded)
        keep = [None, *[sid for sid in windows.sources if sid not in excluded]] if excluded else None
        observed, history = _history(windows, keep, windows.data_since.get(None))
        brand = evaluate(BRAND, observed, history, rule)
        brand.excluded = [source_scopes[sid] for sid in excluded]
        if BRAND in cooling and brand.fired:
            brand.fired, brand.reason = False, "cooling down"
        verdicts.append(brand)
        folded: set[int] = set()
        if brand.fired:
            folded = {sid for sid, v in source_verdicts.items() if v.fired and source_scopes[sid] not in cooling}
            raised.append((brand, brand_scope, sorted(source_scopes[sid] for sid in folded)))
        for sid, verdict in source_verdicts.items():
            if verdict.fired and verdict.scope in cooling:
                verdict.fired, verdict.reason = False, "cooling down"
            elif verdict.fired and sid in folded:
                verdict.fired, verdict.reason = False, "folded into the brand-wide alert"
            elif verdict.fired:
                raised.append((verdict, Scope(verdict.scope, source_id=sid), []))
            verdicts.append(verdict)
        alerts = []
        start, end = windows.bounds[0]
        for verdict, scope, covers in raised:
            explanation = _explain(session, verdict, windows, scope, settings, rule, covers)
            alert = Alert(kind=KIND, scope=verdict.scope, window_start=start, window_end=end,
                          observed=verdict.observed, expected=verdict.expected, p_value=verdict.p_value,
                          explanation=explanation, created_at=now)
            session.add(alert)
            alerts.append(alert)
            log.warning("spike alert (%s): %d negative mentions in %s, %.1f expected, p = %.2g", verdict.scope,
                        verdict.observed, rule.window, verdict.expected, verdict.p_value)
        session.commit()
    return CheckResult(now, verdicts, alerts)


def list_alerts(engine: Engine, limit: int = 20, scope: str | None = None) -> list[Alert]:
    """The latest alerts, newest first (for ``harken alerts list`` and the web app)."""
    with Session(engine) as session:
        query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)  # type: ignore[union-attr]
        if scope:
            query = query.where(Alert.scope == scope)
        return list(session.scalars(query).all())


def get_alert(engine: Engine, alert_id: int) -> Alert | None:
    with Session(engine) as session:
        return session.get(Alert, alert_id)
