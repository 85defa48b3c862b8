"""The digest dashboard's snapshots: served while fresh, recomputed when old, on demand, or when settings change."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from listener.models import DigestSnapshot
from responders.digests import snapshots
from responders.digests.render import count, signed
from responders.web.app import create_app
from responders.web.routes.digest import chosen_period
from tests.digests import dataset
from tests.web.conftest import Site
from tests.web.pages_helpers import figure

DIGEST = {"timezone": dataset.ZONE, "open_statuses": list(dataset.OPEN)}
WEEK = {"since": "2026-10-19", "until": "2026-10-25"}


@pytest.fixture
def computes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every digest the snapshots module computes (the dashboard's only way to compute one)."""
    calls: list[Any] = []
    real = snapshots.build_digest

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(snapshots, "build_digest", counted)
    return calls


def _rows(site: Site) -> int:
    with Session(site.engine) as session:
        return session.scalar(select(func.count()).select_from(DigestSnapshot)) or 0


def _computed_at(page: str) -> str:
    found = re.search(r'data-figure="computed_at"><time datetime="([^"]+)"', page)
    assert found, "the page does not say when its figures were computed"
    return found.group(1)


def test_a_stored_snapshot_is_served_without_recomputing(site_factory: Callable[..., Site],
                                                         computes: list[Any]) -> None:
    """On SQLite and PostgreSQL: one computation, then the page and the API read it; the figures are the digest's."""
    site = site_factory(digest=DIGEST)
    dataset.generate(site.engine)
    manager = site.client("manager")
    first = manager.get("/digest", params=WEEK).text
    assert len(computes) == 1 and _rows(site) == 1
    second = manager.get("/digest", params=WEEK).text
    api = manager.get("/api/v1/digest", params=WEEK).json()
    assert len(computes) == 1

    fresh = snapshots.build_digest(site.engine, site.settings,
                                   chosen_period(site.settings, None, date(2026, 10, 19), date(2026, 10, 25)))
    for name, value in (("mentions", count(fresh.overall.total)), ("net", signed(fresh.overall.net)),
                        ("negative", count(fresh.overall.negative)),
                        ("open_backlog", count(fresh.response.open_backlog))):
        assert figure(second, name) == figure(first, name) == value, name
    assert _computed_at(second) == _computed_at(first)
    assert "refreshed every 10 minutes" in second and "Recompute now" in second
    assert api["overall"] == fresh.as_dict()["overall"]
    assert [t["term"] for t in api["drivers"]["terms"]] == [d.term for d in fresh.drivers.drivers]
    assert api["generated_at"] == _computed_at(first)


def test_an_old_snapshot_is_computed_again(site_factory: Callable[..., Site], computes: list[Any]) -> None:
    site = site_factory(digest=DIGEST)
    dataset.generate(site.engine)
    manager = site.client("manager")
    manager.get("/digest", params=WEEK)
    with Session(site.engine) as session:  # eleven minutes later
        session.execute(update(DigestSnapshot).values(
            computed_at=datetime.now(UTC) - timedelta(seconds=site.settings.digest.snapshot_max_age_seconds + 60)))
        session.commit()
    page = manager.get("/digest", params=WEEK).text
    assert len(computes) == 2 and _rows(site) == 1  # replaced in place
    assert datetime.fromisoformat(_computed_at(page)) > datetime.now(UTC) - timedelta(minutes=1)
    manager.get("/digest", params=WEEK)
    assert len(computes) == 2


def test_recompute_now_refreshes_the_snapshot(site_factory: Callable[..., Site], computes: list[Any]) -> None:
    site = site_factory(digest=DIGEST)
    dataset.generate(site.engine)
    manager = site.client("manager")
    before = _computed_at(manager.get("/digest", params=WEEK).text)
    form = {"period": "", **WEEK}

    stranger = site.client("manager")
    del stranger.headers["X-CSRF-Token"]
    assert stranger.post("/digest/recompute", data=form, follow_redirects=False).status_code == 403
    assert site.client("agent").post("/digest/recompute", data=form, follow_redirects=False).status_code == 403
    assert len(computes) == 1

    response = manager.post("/digest/recompute", data=form | {"csrf_token": manager.csrf},  # type: ignore[attr-defined]
                            follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/digest?since=2026-10-19&until=2026-10-25"
    assert len(computes) == 2
    after = _computed_at(manager.get(response.headers["location"]).text)
    assert len(computes) == 2 and after > before
    # The button carries the period it was shown for.
    page = manager.get("/digest", params={"period": "30days"}).text
    assert 'name="period" value="30days"' in html_lib.unescape(page)
    assert manager.post("/digest/recompute", data={"period": "year"}).status_code == 422


def test_a_settings_change_is_never_served_an_old_snapshot(site_factory: Callable[..., Site],
                                                           computes: list[Any]) -> None:
    """On SQLite and PostgreSQL: fewer drivers configured, a different key, a new computation."""
    site = site_factory(digest=DIGEST)
    dataset.generate(site.engine)
    wide = site.client("manager").get("/api/v1/digest", params=WEEK).json()
    assert len(wide["drivers"]["terms"]) > 2

    narrow_settings = site.settings.model_copy(
        update={"digest": site.settings.digest.model_copy(update={"top_terms": 2})})
    assert snapshots.fingerprint(narrow_settings) != snapshots.fingerprint(site.settings)
    narrow_site = Site(narrow_settings, site.engine, create_app(narrow_settings, site.engine), site.team)
    narrow = narrow_site.client("manager").get("/api/v1/digest", params=WEEK).json()
    assert len(computes) == 2 and len(narrow["drivers"]["terms"]) == 2 and _rows(site) == 2
    # Settings that only deliver or schedule keep the key.
    mail = site.settings.digest.model_copy(update={"smtp_host": "mail.example.com", "schedule": ""})
    assert snapshots.fingerprint(site.settings.model_copy(update={"digest": mail})) == \
        snapshots.fingerprint(site.settings)


def test_a_range_running_to_now_is_computed_every_time(site_factory: Callable[..., Site],
                                                       computes: list[Any]) -> None:
    site = site_factory(digest=DIGEST)
    manager = site.client("manager")
    assert manager.get("/digest", params={"since": "2026-10-19"}).status_code == 200
    assert _rows(site) == 0 and computes == []


def test_no_snapshots_when_the_maximum_age_is_zero(site_factory: Callable[..., Site],
                                                   computes: list[Any]) -> None:
    site = site_factory(digest=DIGEST | {"snapshot_max_age_seconds": 0})
    manager = site.client("manager")
    page = manager.get("/digest", params=WEEK).text
    manager.get("/digest", params=WEEK)
    assert len(computes) == 2 and _rows(site) == 0 and "refreshed every" not in page


def test_after_the_refresh_job_no_default_period_waits(site_factory: Callable[..., Site],
                                                       computes: list[Any]) -> None:
    """The dashboard without parameters and every period the picker offers come from the job's snapshots."""
    site = site_factory(digest=DIGEST)
    dataset.generate(site.engine)
    refreshed = snapshots.refresh_default_snapshots(site.engine, site.settings)
    assert len(refreshed) == 4 and len(computes) == 4 and _rows(site) == 4
    manager = site.client("manager")
    for params in ({}, {"period": "day"}, {"period": "week"}, {"period": "month"}, {"period": "30days"}):
        assert manager.get("/digest", params=params).status_code == 200, params
        assert manager.get("/api/v1/digest", params=params).status_code == 200, params
    assert len(computes) == 4
