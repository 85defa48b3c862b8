"""The digest dashboard, spike alerts and their API: the figures on screen are the digest's figures."""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session

from listener.models import Alert
from responders.digests.alerts import check_spikes
from responders.digests.dispatch import build_digest
from responders.digests.periods import last_complete, month_period, resolve_period
from responders.digests.render import count, duration, percent, signed, volume_change
from responders.web.routes.digest import chosen_period
from tests.digests import dataset, seed
from tests.web.conftest import Site
from tests.web.pages_helpers import HOSTILE, figure, profile, site_on

DIGEST = {"timezone": dataset.ZONE, "open_statuses": list(dataset.OPEN)}
WEEK = {"since": "2026-10-19", "until": "2026-10-25"}  # dataset.WEEK, Monday to Sunday, both days included
STORM_END = datetime(2026, 11, 10, 14, 0, tzinfo=UTC)


@pytest.fixture
def web(sqlite_url: str) -> Iterator[Site]:
    with site_on(sqlite_url, digest=DIGEST) as site:
        yield site


def _charts(page: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(html_lib.unescape(c)) for c in re.findall(r'data-chart="([^"]+)"', page)]


def test_dashboard_figures_equal_the_digest(site_factory: Callable[..., Site]) -> None:
    """On SQLite and PostgreSQL: every figure shown is the scheduled digest's own, for the same week."""
    site = site_factory(digest=DIGEST)
    generated = dataset.generate(site.engine)
    manager = site.client("manager")
    page = manager.get("/digest", params=WEEK).text
    period = chosen_period(site.settings, None, date(2026, 10, 19), date(2026, 10, 25))
    assert (period.start, period.end) == (dataset.PERIOD_START, dataset.PERIOD_END)
    digest = build_digest(site.engine, site.settings, period)
    assert digest.overall.total == 422

    assert figure(page, "mentions") == count(digest.overall.total)
    assert figure(page, "net") == signed(digest.overall.net)
    assert figure(page, "net_change") == signed(digest.change.net_points, 1, " points")
    assert figure(page, "volume_change") == volume_change(digest.overall.total, digest.previous_overall.total)
    for label in ("negative", "neutral", "positive", "unscored"):
        assert figure(page, label) == count(getattr(digest.overall, label)), label
    assert percent(digest.overall.share("negative")) in page

    series, platforms = _charts(page)
    assert "/static/vendor/chart.umd.min.js" in page  # app.js draws the canvases only once Chart.js is loaded
    assert series["data"]["labels"] == [p.label for p in digest.series]
    bars = {d["label"]: d["data"] for d in series["data"]["datasets"] if d["type"] == "bar"}
    assert bars["negative"] == [p.mix.negative for p in digest.series]
    assert sum(map(sum, bars.values())) == digest.overall.total
    assert platforms["data"]["labels"] == [p.platform for p in digest.platforms] == ["x", "reddit", "other"]
    for p in digest.platforms:
        row = page.index(f'data-platform="{p.platform}"')
        assert figure(page, "total", within=page[row:row + 40]) == count(p.mix.total)

    response = digest.response
    assert figure(page, "median_first_reply") == duration(response.median_first_reply_seconds)
    assert figure(page, "replies_sent") == count(response.replies_sent)
    assert figure(page, "sla_breaches") == count(response.sla_breaches)
    assert figure(page, "open_backlog") == count(response.open_backlog)
    assert response.sla_breaches > 0 and response.open_backlog > 0

    # Each driver with its count and the mentions behind it, linked.
    assert digest.drivers.drivers
    for driver in digest.drivers.drivers:
        start = page.index(f'data-term="{html_lib.escape(driver.term)}"')
        assert figure(page, "mentions", within=page[start:start + 200]) == count(driver.mentions)
        for example in driver.examples:
            assert f'href="/mentions/{example.id}"' in page
    # Customers and VIPs link to their profiles; the hostile VIP's name is text, not markup.
    for row in digest.top_customers + digest.vips:
        assert f'<a href="/profiles/{row.profile_id}">' in page
    assert generated.hostile_profile in {c.profile_id for c in digest.vips}
    assert '<b onmouseover' not in page and "&lt;b onmouseover=" in page
    assert "<script>alert(" not in page  # dataset.HOSTILE mention texts among the examples

    inbox = re.search(r'<a href="([^"]+)">Open the period in the inbox', page).group(1)  # type: ignore[union-attr]
    assert manager.get(html_lib.unescape(inbox)).status_code == 200

    data = manager.get("/api/v1/digest", params=WEEK).json()
    expected = json.loads(json.dumps(digest.as_dict()))
    assert {k: v for k, v in data.items() if k not in ("generated_at", "empty")} == \
           {k: v for k, v in expected.items() if k != "generated_at"}
    assert data["empty"] is False


def test_periods_and_an_empty_one(web: Site) -> None:
    manager = web.client("manager")
    for kind in ("day", "week", "month"):
        page = manager.get("/digest", params={"period": kind}).text
        label = last_complete(kind, dataset.ZONE).label
        assert f"No mentions in {html_lib.escape(label)}." in page, kind
        assert 'data-figure="median_first_reply">–<' in page
    assert "No mentions in " + html_lib.escape(last_complete("week", dataset.ZONE).label) in manager.get("/digest").text
    assert manager.get("/api/v1/digest", params={"period": "day"}).json()["empty"] is True

    bad = manager.get("/digest", params={"since": "2026-10-20", "until": "2026-10-18"})
    assert bad.status_code == 422 and "before it starts" in bad.text and 'name="since"' in bad.text
    assert manager.get("/api/v1/digest", params={"since": "2026-10-20", "until": "2026-10-18"}).status_code == 422
    assert manager.get("/api/v1/digest", params={"period": "year"}).status_code == 422


def test_a_month_is_a_calendar_month_compared_with_the_one_before() -> None:
    october = last_complete("month", "Europe/Paris", datetime(2026, 11, 3, 9, tzinfo=UTC))
    assert october == month_period(date(2026, 10, 31), "Europe/Paris")
    assert october.label == "October 2026"
    assert october.start == datetime(2026, 9, 30, 22, tzinfo=UTC)  # local midnights, summer time
    assert october.end == datetime(2026, 10, 31, 23, tzinfo=UTC)  # and winter time
    september = october.previous()
    assert (september.kind, september.start, september.end) == ("month", datetime(2026, 8, 31, 22, tzinfo=UTC),
                                                                 october.start)
    assert len(october.buckets()) == 31
    march = resolve_period("month", "UTC", None, "2026-03-31")
    assert (march.start, march.end) == (datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))


def _storm(site: Site, text: str = "@brand my battery exploded while charging") -> Alert:
    """Two negative mentions in the same hour on each of the last days, then thirty now; the spike check."""
    rows = [seed.MentionRow(STORM_END - timedelta(days=day, minutes=20 + i), "negative", "@brand meh")
            for day in range(1, 8) for i in range(2)]
    rows += [seed.MentionRow(STORM_END - timedelta(minutes=50 - i), "negative",
                             f"{HOSTILE} {text}" if i == 29 else f"{text} #{i}") for i in range(30)]
    seed.mentions(site.engine, rows)
    alerts = check_spikes(site.engine, site.settings, now=STORM_END).alerts
    assert len(alerts) == 1
    return alerts[0]


def test_an_alert_explains_itself_and_links_into_the_inbox(web: Site) -> None:
    alert = _storm(web)
    manager = web.client("manager")
    why = alert.explanation

    page = manager.get("/alerts").text
    assert f'id="alert-{alert.id}"' in page and "30 negative mentions in 60 minutes" in page
    assert "previous 6 days had " + ", ".join(map(str, why["baseline"]["counts"])) in page
    assert f"p = {alert.p_value:.2g}" in page
    assert why["terms"] and f"<strong>{why['terms'][0]['term']}</strong>" in page
    for example in why["examples"]:
        assert f'href="/mentions/{example["id"]}"' in page
    assert "/inbox?status=all&amp;sentiment=negative&amp;since=2026-11-10&amp;until=2026-11-10" in page
    assert HOSTILE not in page and "&lt;script&gt;" in page
    inbox = manager.get("/inbox", params={"status": "all", "sentiment": "negative", "since": "2026-11-10",
                                          "until": "2026-11-10"})
    assert inbox.status_code == 200 and "battery exploded" in inbox.text

    single = manager.get(f"/alerts/{alert.id}").text
    assert all(f'href="/mentions/{i}"' in single for i in why["mention_ids"])  # every mention counted, linked
    assert f'id="alert-{alert.id}"' in manager.get("/digest").text  # the dashboard shows the latest alerts
    assert "No alerts for source:none." in manager.get("/alerts", params={"scope": "source:none"}).text

    listed = manager.get("/api/v1/alerts").json()["items"]
    assert [a["id"] for a in listed] == [alert.id] and listed[0]["explanation"]["observed"] == 30
    assert manager.get(f"/api/v1/alerts/{alert.id}").json()["explanation"]["terms"] == why["terms"]
    assert manager.get("/api/v1/alerts/999999").status_code == 404
    assert manager.get("/alerts/999999").status_code == 404


def test_digests_and_alerts_need_the_digest_permission(web: Site) -> None:
    agent = web.client("agent")
    for path in ("/digest", "/alerts", "/api/v1/digest", "/api/v1/alerts"):
        assert agent.get(path).status_code == 403, path
    assert 'href="/digest"' not in agent.get("/profiles").text
    admin = web.client("admin")
    assert admin.get("/digest").status_code == 200 and 'href="/alerts"' in admin.get("/digest").text


def test_the_dashboard_reads_the_same_number_of_times_whatever_the_rows(sqlite_url: str) -> None:
    """No query per customer, driver or alert: more of them cost no more round trips."""
    # Snapshots off: every view computes, and it is the computation's reads that are counted.
    with site_on(sqlite_url, digest=DIGEST | {"top_customers": 50, "snapshot_max_age_seconds": 0}) as web:
        _same_reads(web)


def _same_reads(web: Site) -> None:
    dataset.generate(web.engine, seed_value=7)
    manager = web.client("manager")
    statements: list[str] = []
    event.listen(web.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    def reads() -> int:
        statements.clear()
        assert manager.get("/digest", params=WEEK).status_code == 200
        return len(statements)

    before = reads()
    for i in range(15):
        vip = profile(web.engine, f"Extra VIP {i}", tier="vip", prospect=False)
        seed.mentions(web.engine, [seed.MentionRow(dataset.PERIOD_START + timedelta(hours=i + 1), "negative",
                                                   "@brand refund never arrived", profile_id=vip)])
    with Session(web.engine) as session:
        for i in range(5):
            session.add(Alert(scope="brand", window_start=STORM_END, window_end=STORM_END, observed=10 + i,
                              expected=1.0, p_value=1e-6, explanation={"observed": 10 + i}))
        session.commit()
    page = manager.get("/digest", params=WEEK).text
    assert page.count('id="alert-') == 5 and "Extra VIP 14" in page
    assert reads() == before
