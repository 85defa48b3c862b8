"""Spike alerts on stored traffic: one storm makes exactly one alert, within one check interval; ordinary
days make none; the cool-down holds; a storm in one source is caught even when the brand's volume hides it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scipy import stats
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Alert, Delivery, Mention
from responders.digests.alerts import check_spikes, list_alerts
from responders.digests.dispatch import check_and_alert
from tests.digests import seed, storms
from tests.digests.conftest import Webhook, settings_for

INTERVAL = timedelta(minutes=5)
STORM = datetime(2026, 11, 10, 14, 2, tzinfo=UTC)  # two minutes after a check


def _checks(engine: Engine, url: str, start: datetime, end: datetime, step: timedelta = INTERVAL,
            **alerts: object) -> list[Alert]:
    """Run the check as the scheduler would, every ``step`` from ``start`` to ``end``; the alerts raised."""
    settings = settings_for(url, alerts={"check_interval_seconds": int(step.total_seconds()), **alerts})
    raised = []
    moment = start
    while moment <= end:
        raised.extend(check_spikes(engine, settings, now=moment).alerts)
        moment += step
    return raised


def _baseline(engine: Engine, days: int = 15, rate: float = 3.0, end: datetime = STORM) -> tuple[int, int]:
    x = seed.source(engine, "x:search:brand", "x")
    reddit = seed.source(engine, "reddit:r/brand", "reddit")
    storms.poisson_traffic(engine, end - timedelta(days=days), end, lambda _: rate, sources={x: 0.7, reddit: 0.3})
    return x, reddit


def test_a_storm_raises_exactly_one_alert_within_one_interval(engine: Engine, db_url: str) -> None:
    x, _ = _baseline(engine)
    burst_ids = storms.burst(engine, STORM, 40, x)  # 40 in ten minutes, against about 3 an hour
    storms.poisson_traffic(engine, STORM, STORM + timedelta(hours=3), lambda _: 3.0, sources={x: 1.0},
                           seed_value=2)
    raised = _checks(engine, db_url, STORM - timedelta(hours=2, minutes=2), STORM + timedelta(hours=3))

    assert len(raised) == 1
    alert = raised[0]
    assert STORM < alert.window_end <= STORM + INTERVAL, "raised at the first check after the storm began"
    assert alert.scope == "brand" and alert.kind == "negative_spike"
    assert alert.window_end - alert.window_start == timedelta(minutes=60)
    assert alert.observed >= 10 and alert.expected < 5 and alert.p_value < 1e-6

    why = alert.explanation
    assert why["covers"] == ["source:x:search:brand"], "the source that stormed is folded in, not alerted twice"
    assert len(why["baseline"]["counts"]) == 14 and why["baseline"]["mean"] == alert.expected
    assert why["thresholds"] == {"p_value": 0.001, "min_count": 10, "min_ratio": 3.0, "cooldown_minutes": 360,
                                 "baseline_days": 14, "window_minutes": 60}
    assert why["terms"][0]["term"] in {"battery exploded", "exploded", "battery", "charging"}
    assert set(why["terms"][0]["mention_ids"]) <= set(burst_ids)
    assert len(set(why["mention_ids"]) & set(burst_ids)) >= 10
    assert why["examples"][0]["url"].startswith("https://example.test/")
    assert why["sources"]["x:search:brand"] >= 10
    assert why["link"].startswith(
        "http://127.0.0.1:8000/inbox?status=all&sentiment=negative&since=2026-11-10T13%3A05")

    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1
    assert [a.id for a in list_alerts(engine)] == [alert.id]


def test_ordinary_daily_variation_raises_nothing(sqlite_engine: Engine, sqlite_url: str) -> None:
    x = seed.source(sqlite_engine, "x:search:brand", "x")
    reddit = seed.source(sqlite_engine, "reddit:r/brand", "reddit")
    end = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)
    storms.poisson_traffic(sqlite_engine, end - timedelta(days=22), end, storms.daily_rhythm,
                           sources={x: 0.6, reddit: 0.4}, seed_value=7)
    # A week of checks every 20 minutes, peaks, nights and weekends included.
    raised = _checks(sqlite_engine, sqlite_url, end - timedelta(days=7), end, step=timedelta(minutes=20))
    assert raised == []
    # The same thresholds against a flat baseline (the mean hour of the past fortnight) would have cried wolf
    # at lunchtime: comparing like with like (the same clock window) is what keeps these days quiet.
    with Session(sqlite_engine) as session:
        times = sorted(session.scalars(select(Mention.created_at).where(Mention.sentiment_label == "negative")))
    flat_alarms = 0
    moment = end - timedelta(days=7)
    while moment <= end:
        observed = sum(1 for t in times if moment - timedelta(hours=1) <= t < moment)
        flat = sum(1 for t in times if moment - timedelta(days=14) <= t < moment) / (14 * 24)
        flat_alarms += observed >= 10 and observed >= 3 * flat and stats.poisson.sf(observed - 1, flat) < 0.001
        moment += timedelta(minutes=20)
    assert flat_alarms > 5


def test_the_cool_down_holds_then_lets_the_next_storm_through(engine: Engine, db_url: str) -> None:
    x, _ = _baseline(engine, end=STORM + timedelta(hours=8))
    for start in (STORM, STORM + timedelta(hours=2), STORM + timedelta(hours=7)):
        storms.burst(engine, start, 40, x)
    raised = []
    for start in (STORM, STORM + timedelta(hours=2), STORM + timedelta(hours=7)):
        raised += _checks(engine, db_url, start - timedelta(minutes=2), start + timedelta(minutes=58))
    assert len(raised) == 2, "the second storm is inside the six-hour cool-down"
    first, second = raised
    assert first.window_end <= STORM + INTERVAL
    assert STORM + timedelta(hours=7) < second.window_end <= STORM + timedelta(hours=7) + INTERVAL


def test_a_storm_in_one_source_is_caught_when_the_brand_volume_hides_it(engine: Engine, db_url: str) -> None:
    x = seed.source(engine, "x:mentions", "x")
    small = seed.source(engine, "reddit:r/brandsupport", "reddit")
    storms.poisson_traffic(engine, STORM - timedelta(days=15), STORM, lambda _: 30.0, sources={x: 1.0})
    storms.poisson_traffic(engine, STORM - timedelta(days=15), STORM, lambda _: 0.5, sources={small: 1.0},
                           seed_value=3)
    storms.burst(engine, STORM, 14, small, every=timedelta(seconds=10), text="@brand the forum is down again")
    raised = _checks(engine, db_url, STORM - timedelta(minutes=30), STORM + timedelta(minutes=30))
    assert [a.scope for a in raised] == ["source:reddit:r/brandsupport"]
    assert raised[0].explanation["link"].endswith("&source=reddit%3Ar%2Fbrandsupport")
    # Then the brand-wide check leaves that source out, so the same storm does not alert twice.
    settings = settings_for(db_url)
    later = check_spikes(engine, settings, now=STORM + timedelta(minutes=35))
    brand = next(v for v in later.verdicts if v.scope == "brand")
    assert brand.excluded == ["source:reddit:r/brandsupport"] and not later.alerts


def test_an_alert_is_delivered_by_webhook_and_email_and_explains_itself(
    sqlite_engine: Engine, sqlite_url: str, webhook: Webhook, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    x, _ = _baseline(sqlite_engine)
    storms.burst(sqlite_engine, STORM, 30, x, text="@brand <!channel> your app leaks my card number")
    settings = settings_for(sqlite_url, digest={
        "webhook_url": webhook.url, "smtp_host": smtp_server.host, "smtp_port": smtp_server.port,
        "smtp_security": "none", "recipients": ["oncall@example.com"],
    }, alerts={"recipients": ["pr-oncall@example.com"]})
    run = check_and_alert(sqlite_engine, settings, now=STORM + timedelta(minutes=8))
    assert len(run.check.alerts) == 1 and [r.status for r in run.deliveries] == ["sent", "sent"]

    (post,) = webhook.posts
    text = post["json"]["text"]
    assert "negative mentions in 60 min" in text and "Open in the inbox" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text, "a tweet cannot ping the whole channel"
    assert post["json"]["harken"]["alert"]["explanation"]["observed"] == run.check.alerts[0].observed

    (mail,) = smtp_server.received
    assert mail.recipients == ["pr-oncall@example.com"]
    email = mail.message
    assert "negative mentions in 60 min" in email["Subject"]
    plain, html = email.get_payload()  # type: ignore[misc]
    body = plain.get_content()
    assert "WHY" in body and "Poisson upper-tail p-value" in body and "TERMS DRIVING IT" in body
    assert "&lt;!channel&gt; your app leaks" in html.get_content() and "<!channel>" not in html.get_content()

    with Session(sqlite_engine) as session:
        rows = session.scalars(select(Delivery)).all()
    reference = str(run.check.alerts[0].id)
    assert {(r.kind, r.channel, r.status, r.reference) for r in rows} == {
        ("alert", "webhook", "sent", reference), ("alert", "email", "sent", reference)
    }
    assert all("SECRET" not in r.target for r in rows)
