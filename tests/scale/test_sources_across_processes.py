"""An admin's source changes reach a `harken scheduler` running in another process.

The web app (here, in the test's process) only writes the sources table; the scheduler process reads it every
``[scheduler] sources_check_seconds``. On a one-hour interval only "run now" can explain a second run.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from listener.db import make_engine
from listener.models import Mention
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from responders.web.app import create_app
from tests.platforms import env_for, settings_for
from tests.scale.helpers import Harken, wait_until
from tests.web.conftest import Site, add_team

pytestmark = pytest.mark.postgres


def test_run_now_a_new_source_and_a_pause_reach_a_scheduler_in_another_process(
    platforms: tuple[XSimulator, RedditSimulator], pg_url: str, processes: list[Harken]
) -> None:
    x, reddit = platforms
    x.add_tweet("@lumenmobile first question", "carol")
    settings = settings_for(x, reddit, pg_url, x={"search_queries": [], "interval_seconds": 3600},
                            reddit={"enabled": False}, web={"secure_cookies": "never"})
    env = {**env_for(settings), "HARKEN_SCHEDULER__SOURCES_CHECK_SECONDS": "0.5", "HARKEN_SENDER__ENABLED": "false"}
    engine = make_engine(pg_url)
    web = Site(settings, engine, create_app(settings, engine), add_team(engine))
    admin = web.client("admin")

    def stored(text: str) -> bool:
        with Session(engine) as session:
            return bool(session.scalar(select(func.count()).select_from(Mention).where(Mention.text == text)))

    scheduler = Harken(["scheduler"], env, "scheduler")
    processes.append(scheduler)
    assert scheduler.wait_for(r"scheduler active"), scheduler.output
    assert wait_until(lambda: stored("@lumenmobile first question"), timeout=60), scheduler.output
    mentions = {s["name"]: s for s in admin.get("/api/v1/sources").json()["items"]}["x:mentions"]

    x.add_tweet("@lumenmobile second question", "dave")
    assert admin.post(f"/api/v1/sources/{mentions['id']}/run").json()["run"] == "run requested"
    assert wait_until(lambda: stored("@lumenmobile second question"), timeout=30), scheduler.output
    assert wait_until(lambda: admin.get(f"/api/v1/sources/{mentions['id']}").json()["run"] == "collected", 10)

    x.add_tweet("lumen esim stopped working in Spain", "erin")
    added = admin.post("/api/v1/sources", json={"platform": "x", "kind": "x_search", "interval_seconds": 3600,
                                                "options": {"query": "lumen esim"}})
    assert added.status_code == 201
    assert wait_until(lambda: stored("lumen esim stopped working in Spain"), timeout=30), scheduler.output

    assert admin.post(f"/api/v1/sources/{mentions['id']}/pause").status_code == 200
    assert scheduler.wait_for(r"x:mentions is paused or switched off: no longer collected", timeout=30), \
        scheduler.output
    assert scheduler.terminate() == 0, scheduler.output
    engine.dispose()
