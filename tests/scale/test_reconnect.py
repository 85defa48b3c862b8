"""PostgreSQL drops every connection mid-run: the scheduler and the workers reconnect, and nothing is lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlmodel import Session

from listener.db import make_engine
from listener.models import Mention, Suggestion
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from tests.platforms import env_for, settings_for
from tests.scale.helpers import Harken, wait_until

pytestmark = pytest.mark.postgres


@pytest.fixture
def platforms() -> Iterator[tuple[XSimulator, RedditSimulator]]:
    with XSimulator(rate_limit=100_000) as x, RedditSimulator() as reddit:
        yield x, reddit


def terminate_other_backends(url: str) -> int:
    """Ends every other session on the test database, as a failover or a restarted pooler would."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        ended = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )).scalar_one()
    admin.dispose()
    return int(ended)


def test_dropped_connections_are_reconnected_and_nothing_is_lost(
    platforms: tuple[XSimulator, RedditSimulator], pg_url: str, processes: list[Harken]
) -> None:
    x, reddit = platforms
    started = datetime.now(UTC)
    posted = 0

    def post(n: int) -> None:
        nonlocal posted
        for _ in range(n):
            x.add_tweet(f"@lumenmobile how do i get a refund for the double charge? ({posted})",
                        f"caller{posted % 37}", created_at=started + timedelta(milliseconds=posted))
            posted += 1

    post(300)
    settings = settings_for(x, reddit, pg_url, x={"search_queries": [], "interval_seconds": 1, "page_size": 20},
                            reddit={"enabled": False})
    env = {**env_for(settings),
           "HARKEN_SCHEDULER__STANDBY_RETRY_SECONDS": "0.5",
           "HARKEN_SCHEDULER__LOCK_CHECK_SECONDS": "0.5",
           "HARKEN_SCHEDULER__FAILURE_BACKOFF_SECONDS": "1",
           "HARKEN_SENDER__ENABLED": "false",
           "HARKEN_PROCESSING__BATCH_SIZE": "20",
           "HARKEN_PROCESSING__POLL_INTERVAL_SECONDS": "0.2",
           "HARKEN_PROCESSING__LEASE_SECONDS": "5",
           "HARKEN_PROCESSING__RECONNECT_MAX_SECONDS": "2",
           "HARKEN_REPLIES__SIMILAR_REPLIES": "false"}
    scheduler = Harken(["scheduler"], env, "scheduler")
    workers = [Harken(["worker", "--id", f"w{n}"], env, f"w{n}") for n in (1, 2)]
    processes.extend([scheduler, *workers])
    assert scheduler.wait_for(r"scheduler active"), scheduler.output
    engine = make_engine(pg_url)

    def counts() -> tuple[int, int]:
        with Session(engine) as session:
            total = session.scalar(select(func.count()).select_from(Mention)) or 0
            done = session.scalar(select(func.count()).select_from(Mention)
                                  .where(Mention.processing_state == "processed")) or 0
        return total, done

    # Twice, while mentions are being collected and processed, every connection is cut.
    for goal in (100, 200):
        assert wait_until(lambda goal=goal: counts()[1] >= goal, timeout=90), [p.output for p in processes]
        assert terminate_other_backends(pg_url) >= 3  # the scheduler's lock and the workers' sessions at least
        post(200)
    # Collection and processing carry on to the end.
    assert wait_until(lambda: counts() == (posted, posted), timeout=90), (counts(), [p.output for p in processes])

    with Session(engine) as session:
        stored = list(session.execute(select(Mention.external_id)).scalars())
        failed = session.scalar(
            select(func.count()).select_from(Mention).where(Mention.processing_state != "processed"))
        suggestions = session.execute(select(Suggestion.mention_id, Suggestion.rank)).all()
    engine.dispose()
    # Every tweet once, every mention processed, each with its suggestion once.
    assert sorted(stored) == sorted(t["id"] for t in x.tweets)
    assert failed == 0
    assert len(suggestions) == len(set(suggestions))
    assert len({mention_id for mention_id, _ in suggestions}) == posted
    # The scheduler saw its lock connection go, stopped, and became active again. (At least once: a cut
    # that lands while the scheduler is already reconnecting its lock is absorbed by that reconnection.)
    assert scheduler.wait_for(r"scheduler lost its lock", timeout=15), scheduler.output
    assert scheduler.wait_for(r"scheduler active", timeout=15, times=2), scheduler.output
    for process in (*workers, scheduler):
        assert process.terminate() == 0, process.output
