"""The scheduler follows what admins change in the sources table: the real scheduler and its job functions,
the real X collectors, against the X simulator.

A paused source loses its job and, should a run still come (a job in flight), collects nothing; resumed, it
is due at once; "run now" makes its job due at the next check of the table and the run clears the request;
a new source gets a job, an edited interval reschedules it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.collecting import CollectionRunner
from listener.models import Mention, Source, StaffUser
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from listener.scheduler import build_scheduler
from responders import source_controls
from tests.platforms import settings_for
from tests.web.conftest import add_team

QUERY = '"lumen mobile"'


@pytest.fixture
def scheduler(x_sim: XSimulator, reddit_sim: RedditSimulator, sqlite_url: str,
              sqlite_engine: Engine) -> Iterator[BackgroundScheduler]:
    """The scheduler ``harken scheduler`` builds, started paused: its jobs are real, nothing fires by itself."""
    settings = settings_for(x_sim, reddit_sim, sqlite_url, x={"search_queries": [QUERY], "interval_seconds": 3600},
                            reddit={"enabled": False})
    built = build_scheduler(settings, CollectionRunner(sqlite_engine, settings))
    built.start(paused=True)
    yield built
    built.shutdown(wait=False)


@pytest.fixture
def admin(sqlite_engine: Engine) -> StaffUser:
    return add_team(sqlite_engine)["admin"]


def _change(engine: Engine, name: str, change: object, admin: StaffUser, **values: object) -> None:
    """An admin's change as the web app makes it (in its own session, as if in another process)."""
    with Session(engine) as session:
        source = session.execute(select(Source).where(Source.name == name)).scalar_one()
        change(session, admin, source, **values)  # type: ignore[operator]
        session.commit()


def _jobs(scheduler: BackgroundScheduler) -> dict[str, object]:
    return {job.id: job for job in scheduler.get_jobs()}


def _mention_requests(x_sim: XSimulator) -> int:
    return sum(1 for request in x_sim.requests if request.path.endswith("/mentions"))


def _stored(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Mention)) or 0


def test_a_paused_source_is_not_collected_until_resumed(
        scheduler: BackgroundScheduler, x_sim: XSimulator, sqlite_engine: Engine, admin: StaffUser) -> None:
    x_sim.add_tweet("@lumenmobile my bill doubled", "carol")
    x_sim.add_tweet("@lumenmobile no signal downtown", "dave")
    watch = scheduler.get_job("sources").func
    collect = scheduler.get_job("collect:x:mentions").func
    assert set(_jobs(scheduler)) == {"collect:x:mentions", f"collect:x:search:{QUERY}", "sources"}
    # The watch never waits behind collect runs (a streaming one holds its thread for most of its interval).
    assert scheduler.get_job("sources").executor != scheduler.get_job("collect:x:mentions").executor

    _change(sqlite_engine, "x:mentions", source_controls.pause_source, admin)
    watch()
    assert "collect:x:mentions" not in _jobs(scheduler)
    # A run that still comes (its job was in flight as the admin paused) asks X nothing and stores nothing.
    asked = _mention_requests(x_sim)
    summary = collect("x:mentions")
    assert (summary.status, summary.error) == ("skipped", "paused by an admin")
    assert _mention_requests(x_sim) == asked and _stored(sqlite_engine) == 0

    _change(sqlite_engine, "x:mentions", source_controls.resume_source, admin)
    watch()
    job = scheduler.get_job("collect:x:mentions")
    assert job is not None and job.next_run_time <= datetime.now(UTC)  # due at once: it may have missed a lot
    assert collect("x:mentions").stored == 2 and _mention_requests(x_sim) > asked


def test_run_now_makes_the_job_due_and_the_run_clears_the_request(
        scheduler: BackgroundScheduler, x_sim: XSimulator, sqlite_engine: Engine, admin: StaffUser) -> None:
    watch = scheduler.get_job("sources").func
    search = scheduler.get_job(f"collect:x:search:{QUERY}")
    in_an_hour = datetime.now(UTC) + timedelta(hours=1)
    search.modify(next_run_time=in_an_hour)  # as after its first run, on a 3600 s interval
    x_sim.add_tweet("switching to lumen mobile next week", "erin")

    _change(sqlite_engine, f"x:search:{QUERY}", source_controls.request_run, admin)
    watch()
    assert scheduler.get_job(f"collect:x:search:{QUERY}").next_run_time <= datetime.now(UTC)
    summary = search.func(f"x:search:{QUERY}")
    assert (summary.status, summary.stored) == ("ok", 1)
    with Session(sqlite_engine) as session:
        source = session.execute(select(Source).where(Source.name == f"x:search:{QUERY}")).scalar_one()
    assert source.run_requested_at is None and source_controls.run_state(source) == "collected"


def test_a_source_added_or_edited_in_the_app_is_scheduled_as_it_says(
        scheduler: BackgroundScheduler, x_sim: XSimulator, sqlite_engine: Engine, admin: StaffUser) -> None:
    watch = scheduler.get_job("sources").func
    with Session(sqlite_engine) as session:
        source_controls.add_source(session, admin, platform="x", kind="x_search", options={"query": "lumen esim"},
                                   interval_seconds=90)
        session.commit()
    _change(sqlite_engine, "x:mentions", source_controls.edit_source, admin,
            options={"username": "lumenmobile"}, interval_seconds=45)
    watch()
    jobs = _jobs(scheduler)
    assert jobs["collect:x:search:lumen esim"].trigger.interval == timedelta(seconds=90)  # type: ignore[attr-defined]
    assert jobs["collect:x:mentions"].trigger.interval == timedelta(seconds=45)  # type: ignore[attr-defined]
    x_sim.add_tweet("is lumen esim working abroad?", "frank")
    summary = jobs["collect:x:search:lumen esim"].func("x:search:lumen esim")  # type: ignore[attr-defined]
    assert (summary.status, summary.stored) == ("ok", 1)
    assert any(r.query.get("query") == "lumen esim" for r in x_sim.requests)


def test_run_now_goes_ahead_despite_a_failure_back_off_but_a_pause_wins(
        scheduler: BackgroundScheduler, x_sim: XSimulator, sqlite_engine: Engine, admin: StaffUser) -> None:
    """An admin who fixed what made a source fail need not wait out its back-off; a rate limit is waited out."""
    x_sim.add_tweet("@lumenmobile roaming charges again", "gina")
    collect = scheduler.get_job("collect:x:mentions").func
    in_a_while = datetime.now(UTC) + timedelta(minutes=30)
    with sqlite_engine.begin() as connection:
        connection.execute(Source.__table__.update().where(Source.__table__.c.name == "x:mentions")  # type: ignore[attr-defined]
                           .values(paused_until=in_a_while, pause_reason="failing", consecutive_failures=3))
    assert collect("x:mentions").status == "skipped"
    _change(sqlite_engine, "x:mentions", source_controls.request_run, admin)
    summary = collect("x:mentions")
    assert (summary.status, summary.stored) == ("ok", 1)

    with sqlite_engine.begin() as connection:
        connection.execute(Source.__table__.update().where(Source.__table__.c.name == "x:mentions")  # type: ignore[attr-defined]
                           .values(paused_until=in_a_while, pause_reason="rate limited"))
    _change(sqlite_engine, "x:mentions", source_controls.request_run, admin)
    assert collect("x:mentions").status == "skipped"
    _change(sqlite_engine, "x:mentions", source_controls.pause_source, admin)
    with Session(sqlite_engine) as session:
        source = session.execute(select(Source).where(Source.name == "x:mentions")).scalar_one()
    assert source.run_requested_at is None  # pausing drops the request: nothing runs behind the pause
