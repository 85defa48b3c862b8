"""Every figure of the digest equals the count made directly from the records (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from listener.settings import DigestSettings
from responders.digests.compute import compute_digest
from responders.digests.periods import Period, week_period
from tests.digests import dataset, seed


def _mix(m) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {"negative": m.negative, "neutral": m.neutral, "positive": m.positive, "unscored": m.unscored}


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-3)


def test_every_figure_equals_the_direct_count(engine: Engine) -> None:
    generated = dataset.generate(engine)
    period = week_period(dataset.WEEK, dataset.ZONE)
    assert (period.start, period.end) == (dataset.PERIOD_START, dataset.PERIOD_END)
    settings = DigestSettings(timezone=dataset.ZONE, open_statuses=list(dataset.OPEN))
    digest = compute_digest(engine, period, settings, brand="Lumen", now=dataset.NOW)
    want = dataset.expected(engine, period.start, period.end, dataset.NOW, dataset.PREVIOUS_START)

    # Volume and sentiment: per day (local days, one of 25 hours), overall, previous week, per platform.
    assert len(digest.series) == 7
    assert (digest.series[6].end - digest.series[6].start) == timedelta(hours=25)
    assert [(p.start, p.end, _mix(p.mix)) for p in digest.series] == want["series"]
    assert _mix(digest.overall) == want["overall"]
    assert digest.overall.total == 423 - 1  # 420 inside, two on the boundaries inside, one at the end outside
    assert _mix(digest.previous_overall) == want["previous"]
    assert (digest.previous_period.start, digest.previous_period.end) == (dataset.PREVIOUS_START, period.start)
    assert {p.platform: (_mix(p.mix), _mix(p.previous)) for p in digest.platforms} == want["platforms"]
    assert sum(p.mix.total for p in digest.platforms) == digest.overall.total
    assert [p.platform for p in digest.platforms] == ["x", "reddit", "other"]

    # Net sentiment and its change.
    assert _close(digest.overall.net, dataset.net(want["overall"]))
    assert _close(digest.previous_overall.net, dataset.net(want["previous"]))
    assert _close(digest.change.net_points, dataset.net(want["overall"]) - dataset.net(want["previous"]))
    before_total = sum(want["previous"].values())
    assert digest.change.volume == digest.overall.total - before_total
    assert _close(digest.change.volume_pct, 100 * (digest.overall.total - before_total) / before_total)
    for p in digest.platforms:
        assert _close(p.mix.net, dataset.net(want["platforms"][p.platform][0]))

    # Customers (CRM-imported profiles) and VIPs.
    assert [(c.profile_id, c.mentions, c.negative) for c in digest.top_customers] == want["customers"]
    assert [(c.profile_id, c.mentions, c.negative) for c in digest.vips] == want["vips"]
    assert all(c.display_name == want["names"][c.profile_id] for c in digest.top_customers + digest.vips)
    assert generated.hostile_profile in {c.profile_id for c in digest.vips}
    assert len(digest.top_customers) == 9 and len(digest.vips) == 5  # every customer and VIP was mentioned

    # Response metrics.
    response = digest.response
    assert response.replies_sent == want["replies_sent"]
    assert response.first_replies == want["first_replies"]
    assert _close(response.median_first_reply_seconds, want["median_wait"])
    assert response.sla_due == want["sla_due"]
    assert response.sla_breaches == want["sla_breaches"]
    assert response.open_backlog == want["backlog"]
    assert 0 < response.sla_breaches < response.sla_due and response.open_backlog > 0
    assert response.first_replies > 0 and response.replies_sent > response.first_replies / 2

    # Negative drivers: every count is the number of negative mentions that contain the term.
    drivers = digest.drivers
    assert drivers.exact and drivers.read == drivers.negative_total == want["overall"]["negative"]
    assert drivers.drivers, "the seeded complaints recur"
    assert {"refund", "never arrived"} & {d.term for d in drivers.drivers} | {
        r for d in drivers.drivers for r in d.related
    }
    for driver in drivers.drivers:
        behind = dataset.matching(want["negatives"], driver.term)
        assert driver.mentions == len(behind), driver.term
        assert _close(driver.share, len(behind) / drivers.negative_total)
        assert driver.previous_mentions == len(dataset.matching(want["negatives_before"], driver.term))
        assert set(driver.mention_ids) <= {m["id"] for m in behind}
        assert len(driver.mention_ids) == min(len(behind), 50)
        for example in driver.examples:
            assert example.id in driver.mention_ids
            assert example.url == want["by_id"][example.id]["url"]

    # The dashboard's data is the same tree as JSON.
    data = json.loads(json.dumps(digest.as_dict()))
    assert data["overall"]["total"] == digest.overall.total
    assert [s["mix"]["negative"] for s in data["series"]] == [p.mix.negative for p in digest.series]
    assert data["response"]["sla_breaches"] == response.sla_breaches
    assert data["drivers"]["terms"][0]["term"] == drivers.drivers[0].term


def test_a_sampled_period_says_how_much_it_read(sqlite_engine: Engine) -> None:
    start = dataset.PERIOD_START
    rows = [seed.MentionRow(start + timedelta(minutes=3 * i), "negative",
                            f"@brand the battery drains overnight, case {i}" if i % 2 else f"@brand screen cracked {i}")
            for i in range(900)]
    seed.mentions(sqlite_engine, rows)
    period = Period(start, start + timedelta(days=2), "custom", "UTC")
    digest = compute_digest(sqlite_engine, period, DigestSettings(term_sample_size=200), now=dataset.NOW)
    drivers = digest.drivers
    assert drivers.negative_total == 900 and not drivers.exact
    assert 200 <= drivers.read <= 200 + 48 * 4  # proportional quotas, rounded up per slice
    terms = {d.term for d in drivers.drivers} | {r for d in drivers.drivers for r in d.related}
    assert {"battery drains", "screen cracked"} <= terms


@pytest.mark.parametrize("kind", ["day", "week"])
def test_an_empty_period_is_a_digest_of_zeros(sqlite_engine: Engine, kind: str) -> None:
    from responders.digests.periods import last_complete

    digest = compute_digest(sqlite_engine, last_complete(kind, "Europe/Paris", dataset.NOW), DigestSettings())
    assert digest.empty and digest.overall.net is None and digest.change.volume_pct is None
    assert digest.drivers.drivers == [] and digest.top_customers == [] and digest.platforms == []
    assert digest.response.median_first_reply_seconds is None
