"""Two `harken scheduler` processes: one collects, the other stands by and takes over when it dies."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from listener.db import make_engine
from listener.models import Mention
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from tests.platforms import env_for, settings_for
from tests.scale.helpers import Harken, wait_until

pytestmark = pytest.mark.postgres

RETRY_SECONDS = 1.0
TAKEOVER_BOUND = 30.0
"""How long the standby may take to become active once the other is dead: a takeover without anyone restarting
anything, not a speed figure. A quiet machine takes about two seconds (a retry, then a build of warmed-up jobs);
on CI's loaded two cores one takeover stalled for more than 8 s between building its jobs and starting them."""


def test_one_scheduler_collects_and_the_standby_takes_over_when_it_dies(
    platforms: tuple[XSimulator, RedditSimulator], pg_url: str, processes: list[Harken]
) -> None:
    x, reddit = platforms
    reddit.add_comment("lumen mobile before anyone runs", "early_bird", "LumenMobile")
    settings = settings_for(
        x, reddit, pg_url,
        x={"enabled": False},
        reddit={"own_subreddits": ["LumenMobile"], "subreddits": [], "inbox_mentions": False, "interval_seconds": 1},
    )
    env = {**env_for(settings),
           "HARKEN_SCHEDULER__STANDBY_RETRY_SECONDS": str(RETRY_SECONDS),
           "HARKEN_SCHEDULER__LOCK_CHECK_SECONDS": "0.5",
           "HARKEN_SENDER__ENABLED": "false"}
    # Each process tells the simulator who it is through its Reddit user agent.
    first = Harken(["scheduler"], {**env, "HARKEN_REDDIT__USER_AGENT": "harken-first"}, "first")
    processes.append(first)
    assert first.wait_for(r"scheduler active"), first.output
    second = Harken(["scheduler"], {**env, "HARKEN_REDDIT__USER_AGENT": "harken-second"}, "second")
    processes.append(second)
    assert second.wait_for(r"scheduler standing by"), second.output

    def requests_by(agent: str) -> list[float]:
        return [r.time for r in reddit.requests
                if r.path.startswith("/r/") and r.headers.get("User-Agent", "").startswith(agent)]

    # Both run for a while: only the active one collects.
    assert wait_until(lambda: len(requests_by("harken-first")) >= 6, timeout=30)
    time.sleep(3 * RETRY_SECONDS)
    assert requests_by("harken-second") == []
    engine = make_engine(pg_url)

    def stored(text: str) -> bool:
        with Session(engine) as session:
            return bool(session.scalar(select(func.count()).select_from(Mention).where(Mention.text == text)))

    assert stored("lumen mobile before anyone runs")

    first.kill()
    killed_at = time.time()
    # The database ends the dead process's session and its lock with it; the standby's next try wins.
    assert second.wait_for(r"scheduler active", timeout=TAKEOVER_BOUND), second.output
    took_over_in = time.time() - killed_at
    reddit.add_comment("lumen mobile after the takeover", "late_comer", "LumenMobile")
    assert wait_until(lambda: stored("lumen mobile after the takeover"), timeout=20), second.output

    # No source ever ran in both at once: every request of the second came after the first was dead.
    assert requests_by("harken-second") and min(requests_by("harken-second")) > killed_at
    assert max(requests_by("harken-first")) < killed_at
    assert took_over_in < TAKEOVER_BOUND
    with Session(engine) as session:
        texts = list(session.execute(select(Mention.text)).scalars())
    engine.dispose()
    assert len(texts) == len(set(texts))  # each comment (and the post it is under) stored once
    assert {"lumen mobile before anyone runs", "lumen mobile after the takeover"} <= set(texts)
    assert second.terminate() == 0, second.output
