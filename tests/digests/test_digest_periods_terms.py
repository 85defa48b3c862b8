"""Periods in the configured time zone, the negative-driver terms, and the [digest]/[alerts] settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from listener.settings import SettingsError, load_settings
from responders.digests.errors import PeriodError
from responders.digests.periods import Period, day_period, last_complete, resolve_period, week_period
from responders.digests.terms import mention_terms, rank_terms, stop_words_for


def test_days_and_weeks_are_local_and_stored_as_utc() -> None:
    day = day_period(date(2026, 10, 25), "Europe/Paris")  # summer time ends that night
    assert day.start == datetime(2026, 10, 24, 22, tzinfo=UTC) and day.end == datetime(2026, 10, 25, 23, tzinfo=UTC)
    assert [b.label for b in day.buckets()][:3] == ["00:00", "01:00", "02:00"] and len(day.buckets()) == 25
    assert day.label == "Sunday 25 October 2026"
    week = week_period(date(2026, 10, 21), "America/New_York")
    assert week.local_start.date() == date(2026, 10, 19) and week.local_start.hour == 0
    assert [b.label for b in week.buckets()] == ["Mon 19", "Tue 20", "Wed 21", "Thu 22", "Fri 23", "Sat 24", "Sun 25"]
    assert week.previous().end == week.start and week.previous().local_start.date() == date(2026, 10, 12)
    assert Period.from_reference(week.reference) == week


def test_last_complete_and_custom_ranges() -> None:
    monday_morning = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    assert last_complete("day", "UTC", monday_morning) == day_period(date(2026, 11, 22), "UTC")
    assert last_complete("week", "UTC", monday_morning) == week_period(date(2026, 11, 16), "UTC")
    tokyo = resolve_period("day", "Asia/Tokyo", "2026-11-01", "2026-11-03T12:00")
    assert tokyo.start == datetime(2026, 10, 31, 15, tzinfo=UTC) and tokyo.end == datetime(2026, 11, 3, 3, tzinfo=UTC)
    assert tokyo.previous().end == tokyo.start and tokyo.previous().start == tokyo.start - (tokyo.end - tokyo.start)
    assert resolve_period("week", "UTC", None, "2026-11-10", now=monday_morning).start == datetime(
        2026, 11, 3, tzinfo=UTC)
    assert len(resolve_period("day", "UTC", "2025-01-01", "2026-01-01").buckets()) == 53  # weeks beyond 92 days
    with pytest.raises(PeriodError, match="not an ISO date"):
        resolve_period("day", "UTC", "yesterday")
    with pytest.raises(PeriodError, match="before it starts"):
        resolve_period("day", "UTC", "2026-11-02", "2026-11-01")


def test_terms_are_words_and_phrases_without_stop_words_links_or_handles() -> None:
    terms = mention_terms("@Lumen your app is NOT working again!!! https://t.co/xyz #outage, customer service?")
    assert terms == {"app", "working", "not working", "outage", "customer", "service", "customer service"}
    assert "lumen" not in mention_terms("Lumen lumen LUMEN refund", stop_words_for("Lumen"))
    assert mention_terms("late. delivery") == {"late", "delivery"}, "no phrase across a sentence"
    assert mention_terms("<script>alert(1)</script>") == {"script", "alert"}


def test_drivers_prefer_what_is_specific_to_complaints() -> None:
    complaints = [(i, f"refund never arrived, the app is fine {i}") for i in range(10)] + [
        (100 + i, "the app crashes on login") for i in range(4)
    ]
    others = ["love the app", "the app looks great", "new app colours"] * 20
    drivers = rank_terms(complaints, others, stop_words=stop_words_for("Lumen"), min_mentions=3)
    terms = [d.term for d in drivers]
    assert terms[0] == "never arrived" and "app" not in terms
    top = drivers[0]
    assert top.mentions == 10 and top.mention_ids == list(range(10))
    assert {"refund", "fine"} <= set(top.related), "found in the same mentions"
    assert "arrived" not in terms + top.related, "covered by the phrase"
    assert any(d.term in {"app crashes", "login"} for d in drivers)


def test_digest_and_alert_settings() -> None:
    settings = load_settings(digest={"smtp_password": "pa55word-x", "webhook_url": "https://hooks.example/T/B/tok"},
                             alerts={"webhook_url": "https://hooks.example/T/B/alerts"})
    assert "pa55word-x" not in repr(settings) and "tok" not in repr(settings.digest.webhook_url)
    assert {"pa55word-x", "https://hooks.example/T/B/tok", "https://hooks.example/T/B/alerts"} <= set(settings.secrets)
    with pytest.raises(SettingsError, match=r"^setting digest\.timezone: .*IANA time zone"):
        load_settings(digest={"timezone": "Mars/Olympus"})
    with pytest.raises(SettingsError, match=r"^setting digest\.schedule: .*crontab"):
        load_settings(digest={"schedule": "every monday"})
    with pytest.raises(SettingsError, match=r"^setting digest\.smtp_security"):
        load_settings(digest={"smtp_security": "tls"})
    with pytest.raises(SettingsError, match=r"^setting alerts\.p_value"):
        load_settings(alerts={"p_value": 2})
    assert load_settings().alerts.cooldown_minutes == 360
    assert timedelta(minutes=load_settings().alerts.window_minutes) == timedelta(hours=1)
