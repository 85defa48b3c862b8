"""`harken run`: every role in one process on SQLite, and a second one on the same file stands by."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from listener.db import make_engine
from listener.models import Mention, Suggestion
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from tests.platforms import env_for, settings_for
from tests.scale.helpers import Harken, wait_until

QUESTION = "@lumenmobile how do i set up voicemail on my new phone? ({n})"


def test_harken_run_collects_processes_and_stops_cleanly_and_a_second_one_stands_by(
    platforms: tuple[XSimulator, RedditSimulator], sqlite_url: str, processes: list[Harken]
) -> None:
    x, reddit = platforms
    for n in range(3):
        x.add_tweet(QUESTION.format(n=n), f"caller{n}")
    settings = settings_for(x, reddit, sqlite_url, x={"search_queries": [], "interval_seconds": 1},
                            reddit={"enabled": False})
    env = {**env_for(settings), "HARKEN_WEB__ENABLED": "false", "HARKEN_PROCESSING__POLL_INTERVAL_SECONDS": "60"}
    service = Harken(["run"], env, "run")
    processes.append(service)
    assert service.wait_for(r"Harken is running"), service.output
    engine = make_engine(sqlite_url)

    def answered() -> int:
        with Session(engine) as session:
            return session.scalar(select(func.count(func.distinct(Suggestion.mention_id)))) or 0

    assert wait_until(lambda: answered() == 3, timeout=60), service.output
    # A mention posted now is collected within the source's interval and, since the collection
    # wakes the worker, processed long before the worker's own 60 s poll would have found it.
    x.add_tweet(QUESTION.format(n=3), "latecomer")
    assert wait_until(lambda: answered() == 4, timeout=30), service.output

    second = Harken(["run"], env, "second")
    processes.append(second)
    assert second.wait_for(r"scheduler standing by"), second.output
    assert second.terminate() == 0, second.output

    assert service.terminate() == 0, service.output
    assert "Stopping" in service.output
    with Session(engine) as session:
        states = dict(session.execute(select(Mention.processing_state, func.count())
                                      .group_by(Mention.processing_state)).all())
    engine.dispose()
    assert states == {"processed": 4}
