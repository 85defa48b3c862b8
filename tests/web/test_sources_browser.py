"""An admin manages sources on /admin in Chromium against a live Harken (the demo's X and Reddit simulators).

Adds a source (platform, then what to collect, then the fields that kind needs), sees a refused interval
shown inside the form with everything typed still there, fixes it; edits it (a refused edit shows in its
row and keeps the typed query), pauses and resumes it, asks for a run now and sees "run requested" until
the scheduler's job runs it, then the run's outcome. Two admins editing the same source on their own
screens: the second save is refused in its row, naming the first admin, with what was typed still there.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlmodel import Session

from listener.collecting import CollectionRunner
from listener.models import Source
from tests.web.browser import LiveSite, screenshot, sign_in
from tests.web.conftest import add_staff

pytestmark = pytest.mark.browser

NAME = "eSIM questions"


def _sources_named(live: LiveSite, name: str) -> list[Source]:
    with Session(live.engine) as session:
        return list(session.execute(select(Source).where(Source.name == name)).scalars())


def test_an_admin_adds_edits_pauses_resumes_and_runs_a_source(browser: Any, live: LiveSite) -> None:
    page = sign_in(browser, live, "admin")
    page.goto("/admin#sources")
    form = page.locator("#add-source")
    form.get_by_label("Platform").select_option(label="X")
    form.get_by_label("What to collect").select_option(label="Collects recent tweets that match a search query on X.")
    # Only the chosen kind's fields are offered: a subreddit is nothing to an X search.
    expect(form.locator('[name="options.subreddit"]:visible')).to_have_count(0)
    form.get_by_label("Search query", exact=True).fill("lumen esim")
    form.get_by_label("Every … seconds").fill("5")
    form.get_by_label("Name").fill(NAME)
    form.get_by_role("button", name="Add source").click()

    error = form.locator(".inline-error")
    expect(error).to_contain_text("every 5 seconds cannot be: the interval is 10 seconds to 7 days")
    screenshot(page, "sources-refused-interval-1440")
    expect(form.get_by_label("Search query", exact=True)).to_have_value("lumen esim")
    expect(form.get_by_label("Name")).to_have_value(NAME)
    expect(form.get_by_label("Every … seconds")).to_have_value("5")
    expect(form.get_by_label("What to collect")).to_have_value("x_search")
    assert _sources_named(live, NAME) == []

    form.get_by_label("Every … seconds").fill("300")
    form.get_by_role("button", name="Add source").click()
    row = page.locator(f'tr[data-source="{NAME}"]')
    expect(row).to_contain_text("added in the app")
    expect(row).to_contain_text("lumen esim every 300 s")
    expect(row.locator(".source-run")).to_have_text("not run yet")
    page.reload()  # the page after the post was loaded with GET: a reload adds nothing
    expect(row).to_have_count(1)
    assert len(_sources_named(live, NAME)) == 1

    row.get_by_text("Edit", exact=True).click()
    query = row.get_by_label(f"Search query of {NAME}")
    query.fill("lumen esim -is:retweet")
    row.get_by_label(f"Seconds between runs of {NAME}").fill("0")
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".inline-error")).to_contain_text("every 0 seconds cannot be")
    expect(query).to_have_value("lumen esim -is:retweet")
    row.get_by_label(f"Seconds between runs of {NAME}").fill("600")
    row.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("lumen esim -is:retweet every 600 s")
    expect(row.locator(".inline-error")).to_have_count(0)

    row.get_by_role("button", name="Pause").click()
    expect(row.locator(".state")).to_have_text("paused by an admin")
    expect(row.get_by_role("button", name="Run now")).to_have_count(0)
    row.get_by_role("button", name="Resume").click()
    expect(row.locator(".state")).to_have_text("not run yet")

    row.get_by_role("button", name="Run now").click()
    expect(row.locator(".source-run")).to_have_text("run requested")
    screenshot(page, "sources-run-requested-1440")
    # What the scheduler's job does when it sees the request (tests/platforms/test_source_scheduling.py).
    CollectionRunner(live.engine, live.settings).run(NAME)
    page.reload()
    expect(row.locator(".source-run")).to_have_text("collected")
    expect(row.locator(".state")).to_have_text("ok")
    [source] = _sources_named(live, NAME)
    assert source.options == {"query": "lumen esim -is:retweet"} and source.interval_seconds == 600
    assert source.run_requested_at is None and source.last_run_at is not None


def test_two_admins_editing_one_source_the_second_is_told_and_loses_nothing(browser: Any, live: LiveSite) -> None:
    with Session(live.engine) as session:
        add_staff(session, "bea@lumen.test", "Bea", "admin")
        session.commit()
    name = "Outage watch"
    with Session(live.engine) as session:
        session.add(Source(name=name, kind="x_search", platform="x", options={"query": "lumen outage"},
                           interval_seconds=300, origin="app"))
        session.commit()
    ada, bea = sign_in(browser, live, "admin"), sign_in(browser, live, "bea@lumen.test")
    for page in (ada, bea):
        page.goto("/admin#sources")
        page.locator(f'tr[data-source="{name}"]').get_by_text("Edit", exact=True).click()

    ada_row = ada.locator(f'tr[data-source="{name}"]')
    ada_row.get_by_label(f"Search query of {name}").fill("lumen outage OR lumen down")
    ada_row.get_by_role("button", name="Save").click()
    expect(ada_row).to_contain_text("lumen outage OR lumen down every 300 s")

    bea_row = bea.locator(f'tr[data-source="{name}"]')
    bea_row.get_by_label(f"Seconds between runs of {name}").fill("60")
    bea_row.get_by_role("button", name="Save").click()
    error = bea_row.locator(".inline-error")
    expect(error).to_contain_text("Ada edited this source just now")
    expect(error).to_contain_text("was not applied")
    screenshot(bea, "sources-stale-edit-1440")
    # Nothing Bea typed is lost, and nothing of hers was written over Ada's query.
    expect(bea_row.get_by_label(f"Seconds between runs of {name}")).to_have_value("60")
    [source] = _sources_named(live, name)
    assert source.options == {"query": "lumen outage OR lumen down"} and source.interval_seconds == 300

    # Looking again (a reload) shows Ada's query; Bea's change then applies on top of it.
    bea.reload()
    bea_row.get_by_text("Edit", exact=True).click()
    expect(bea_row.get_by_label(f"Search query of {name}")).to_have_value("lumen outage OR lumen down")
    bea_row.get_by_label(f"Seconds between runs of {name}").fill("60")
    bea_row.get_by_role("button", name="Save").click()
    expect(bea_row).to_contain_text("lumen outage OR lumen down every 60 s")
    [source] = _sources_named(live, name)
    assert source.options == {"query": "lumen outage OR lumen down"} and source.interval_seconds == 60
