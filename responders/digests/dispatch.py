"""Compute, render and deliver: the digest and alert actions that the CLI and the scheduler share."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Delivery
from listener.settings import Settings
from responders.digests.alerts import CheckResult, check_spikes, get_alert
from responders.digests.compute import Digest, compute_digest
from responders.digests.delivery import DeliveryReport, deliver, notifiers_for, retry_due
from responders.digests.errors import NotConfigured, PeriodError
from responders.digests.periods import Period, last_complete
from responders.digests.render import Message, render_alert, render_digest

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]


def build_digest(engine: Engine, settings: Settings, period: Period, *, now: datetime | None = None) -> Digest:
    return compute_digest(engine, period, settings.digest, brand=settings.brand.name, now=now,
                          min_confidence=settings.sentiment.min_confidence)


def send_digest(
    engine: Engine,
    settings: Settings,
    period: Period,
    *,
    now: datetime | None = None,
    sleep: Sleep = time.sleep,
) -> tuple[Digest, Message, list[DeliveryReport]]:
    """Compute the period's digest and deliver it through every configured notifier.

    Raises :class:`NotConfigured` when no email or webhook is configured: asking to
    send and sending nothing must not look like success.
    """
    notifiers = notifiers_for(settings, "digest")
    if not notifiers:
        raise NotConfigured("no digest delivery is configured: set [digest] smtp_host and recipients, or webhook_url")
    problems = [p for n in notifiers for p in n.validate()]
    if problems:
        raise NotConfigured("; ".join(problems))
    digest = build_digest(engine, settings, period, now=now)
    message = render_digest(digest)
    reports = deliver(engine, message, notifiers, attempts=settings.digest.retry_attempts,
                      backoff_seconds=settings.digest.retry_backoff_seconds, sleep=sleep)
    return digest, message, reports


def _already_delivered(engine: Engine, kind: str, reference: str) -> bool:
    with Session(engine) as session:
        return session.scalar(
            select(Delivery.id).where(Delivery.kind == kind, Delivery.reference == reference).limit(1)
        ) is not None


def scheduled_digest(
    engine: Engine, settings: Settings, *, now: datetime | None = None, sleep: Sleep = time.sleep
) -> list[DeliveryReport]:
    """The scheduled job: the last complete day or week, once.

    A period that already has deliveries is skipped (a restarted or doubled
    scheduler must not mail the same digest twice); its failed deliveries are the
    redelivery job's.
    """
    period = last_complete(settings.digest.scheduled_period, settings.digest.timezone, now)
    if _already_delivered(engine, "digest", period.reference):
        log.info("the digest of %s was already sent", period.label)
        return []
    try:
        digest, _, reports = send_digest(engine, settings, period, now=now, sleep=sleep)
    except NotConfigured as error:
        log.warning("scheduled digest not sent: %s", error)
        return []
    log.info("digest of %s (%d mentions): %s", period.label, digest.overall.total,
             ", ".join(f"{r.channel} {r.status}" for r in reports))
    return reports


@dataclass
class AlertRun:
    check: CheckResult
    deliveries: list[DeliveryReport] = field(default_factory=list)


def check_and_alert(
    engine: Engine, settings: Settings, *, now: datetime | None = None, deliver_alerts: bool = True,
    sleep: Sleep = time.sleep,
) -> AlertRun:
    """Check for spikes; deliver each alert raised by email and webhook (where configured)."""
    result = check_spikes(engine, settings, now=now)
    run = AlertRun(result)
    if not deliver_alerts or not result.alerts:
        return run
    notifiers = notifiers_for(settings, "alert")
    if not notifiers:
        log.warning("%d alert(s) raised but no alert delivery is configured (see `harken alerts list`)",
                    len(result.alerts))
        return run
    for alert in result.alerts:
        run.deliveries.extend(deliver(engine, render_alert(alert, settings.brand.name), notifiers,
                                      attempts=settings.digest.retry_attempts,
                                      backoff_seconds=settings.digest.retry_backoff_seconds, sleep=sleep))
    return run


def rebuild_message(engine: Engine, settings: Settings) -> Callable[[str, str], Message | None]:
    """What :func:`responders.digests.delivery.retry_due` needs: a delivery's message, made again."""

    def rebuild(kind: str, reference: str) -> Message | None:
        if kind == "digest":
            try:
                period = Period.from_reference(reference)
            except PeriodError:
                return None
            return render_digest(build_digest(engine, settings, period))
        if kind == "alert" and reference.isdigit():
            alert = get_alert(engine, int(reference))
            return render_alert(alert, settings.brand.name) if alert else None
        return None

    return rebuild


def redeliver(engine: Engine, settings: Settings, *, now: datetime | None = None) -> list[DeliveryReport]:
    """The redelivery job: failed deliveries, once more each."""
    return retry_due(engine, settings, rebuild_message(engine, settings), now=now or datetime.now(UTC))
