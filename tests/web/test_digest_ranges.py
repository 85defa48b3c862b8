"""Digest ranges are bounded and out-of-range dates are a 4xx; snapshots cannot grow without bound
(issue 18, items 4 and 7 for dates)."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from typer.testing import CliRunner

from listener.models import DigestSnapshot
from responders.cli import app
from responders.digests import snapshots
from tests.digests import dataset
from tests.web.conftest import Site

DIGEST = {"timezone": dataset.ZONE, "open_statuses": list(dataset.OPEN)}


def _snapshots(site: Site) -> dict[str, int]:
    with Session(site.engine) as session:
        rows = session.execute(select(DigestSnapshot.period_kind, func.count()).group_by(DigestSnapshot.period_kind))
        return {kind: number for kind, number in rows}


REFUSED = [
    ({"since": "1300-01-01", "until": "2026-12-01"}, "1300-01-01 is out of range"),
    ({"since": "2000-01-01", "until": "2026-12-01"}, "a digest covers at most 366 days"),
    ({"since": "2025-01-01"}, "a digest covers at most 366 days, and 2025-01-01 to now is"),
    ({"until": "9999-12-31"}, "9999-12-31 is out of range: dates lie between 1900-01-01 and"),
    ({"since": "0001-01-01"}, "0001-01-01 is out of range"),
    ({"since": "0001-01-01", "until": "0001-01-02"}, "0001-01-01 is out of range"),
]


def test_unbounded_or_impossible_ranges_are_refused_with_the_reason(site_factory: Callable[..., Site]) -> None:
    site = site_factory(digest=DIGEST)
    manager = site.client("manager")
    for query, expected in REFUSED:
        api = manager.get("/api/v1/digest", params=query)
        assert api.status_code == 422 and expected in api.json()["detail"], query
        page = manager.get("/digest", params=query)
        assert page.status_code == 422 and expected in html.unescape(page.text), query
        recompute = manager.post("/digest/recompute", data={"period": "", "since": "", "until": ""} | query)
        assert recompute.status_code == 422 and expected in html.unescape(recompute.text), query
    assert _snapshots(site) == {}


def test_a_year_is_still_a_digest(site_factory: Callable[..., Site]) -> None:
    site = site_factory(digest=DIGEST)
    dataset.generate(site.engine)
    response = site.client("manager").get("/api/v1/digest", params={"since": "2025-10-27", "until": "2026-10-27"})
    assert response.status_code == 200 and response.json()["overall"]["total"] > 0


def test_snapshots_of_chosen_ranges_are_capped(site_factory: Callable[..., Site], monkeypatch: pytest.MonkeyPatch,
                                                 sqlite_url: str) -> None:
    monkeypatch.setattr(snapshots, "MAX_CUSTOM_SNAPSHOTS", 5, raising=False)
    site = site_factory(digest=DIGEST)
    manager = site.client("manager")
    first = date(2026, 1, 1)
    ranges = [(first + timedelta(days=n), first + timedelta(days=n + 6)) for n in range(12)]
    for since, until in ranges:
        assert manager.get("/api/v1/digest", params={"since": since, "until": until}).status_code == 200
    manager.get("/api/v1/digest", params={"period": "week"})
    assert _snapshots(site) == {"custom": 5, "week": 1}
    with Session(site.engine) as session:
        custom = select(DigestSnapshot.period_start).where(DigestSnapshot.period_kind == "custom")
        kept = sorted(session.scalars(custom))
    # The newest five stay: a manager going back to the range just viewed still finds it.
    assert [moment.date() for moment in kept][-1] >= ranges[-1][0] - timedelta(days=1)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--until", "9999-12-31"], "harken: 9999-12-31 is out of range"),
        (["--since", "0001-01-01"], "harken: 0001-01-01 is out of range"),
        (["--since", "1300-01-01", "--until", "2026-12-01"], "harken: 1300-01-01 is out of range"),
        (["--since", "2020-01-01", "--until", "2026-12-01"], "harken: a digest covers at most 366 days"),
    ],
)
def test_the_cli_says_so_in_one_line_and_exits_2(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str
) -> None:
    monkeypatch.setenv("HARKEN_DATABASE__URL", sqlite_url)
    result = CliRunner().invoke(app, ["digest", *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(expected) and result.output.count("\n") == 1, result.output


def test_inbox_dates_out_of_range_are_a_4xx_saying_so(site_factory: Callable[..., Site]) -> None:
    site = site_factory()
    agent = site.client("agent")
    for query, expected in (({"until": "9999-12-31"}, "until: 9999-12-31 is out of range"),
                            ({"since": "0001-01-01"}, "since: 0001-01-01 is out of range"),
                            ({"until": "9999-12-31T23:59:59"}, "until: 9999-12-31 is out of range")):
        api = agent.get("/api/v1/mentions", params=query)
        assert 400 <= api.status_code < 500 and expected in api.text, (query, api.text)
        page = agent.get("/inbox", params=query)
        assert 400 <= page.status_code < 500 and expected in html.unescape(page.text), query
