"""kill -9 of a collector in the middle of a page, then a restart: exactly the simulator's set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from listener.db import make_engine, migrate
from listener.models import Mention
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from listener.simulators import Fault
from tests.platforms import env_for, settings_for


def collect_once(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "responders.cli", "collect", "--once", "--no-process"],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_kill_minus_9_mid_page_then_restart_gives_exactly_the_simulators_set(
    platforms: tuple[XSimulator, RedditSimulator], db_url: str, tmp_path: Path
) -> None:
    x, reddit = platforms
    now = datetime.now(UTC)
    for i in range(35):
        x.add_tweet(
            f"@lumenmobile lumen mobile issue {i}", f"customer{i % 9}", created_at=now - timedelta(minutes=90 - i)
        )
    for i in range(30):
        reddit.add_comment(
            f"lumen mobile comment {i}", f"redditor{i % 4}", "LumenMobile", created_at=now - timedelta(minutes=80 - i)
        )
    settings = settings_for(
        x,
        reddit,
        db_url,
        x={"page_size": 10, "search_queries": ['"lumen mobile"']},
        reddit={"subreddits": ["LumenMobile"], "page_size": 10, "inbox_mentions": False},
    )
    migrate(db_url)
    env = env_for(settings)

    # Hold page 3 of the search long enough to kill the collector while it waits for it.
    x.add_fault(Fault("/2/tweets/search/recent", delay=30, when_param="next_token"))
    process = collect_once(env, tmp_path)
    try:
        assert x.wait_for_request("/2/tweets/search/recent", lambda r: "next_token" in r.query, timeout=60)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    x.clear_faults()

    restart = collect_once(env, tmp_path)
    output = restart.communicate(timeout=120)[0].decode()
    assert restart.returncode == 0, output

    expected_x = {t["id"] for t in x.tweets}
    keywords = ("lumen mobile", "lumenmobile")
    matching_posts = {
        p["name"] for p in reddit.posts if any(k in f"{p['title']} {p['selftext']}".lower() for k in keywords)
    }
    expected_reddit = {c["name"] for c in reddit.comments} | matching_posts
    engine = make_engine(db_url)
    with Session(engine) as session:
        stored = set(session.execute(select(Mention.platform, Mention.external_id)).all())
        total = session.scalar(select(func.count()).select_from(Mention))
    engine.dispose()
    assert {i for p, i in stored if p == "x"} == expected_x
    assert {i for p, i in stored if p == "reddit"} == expected_reddit
    assert total == len(expected_x) + len(expected_reddit)  # no duplicates
