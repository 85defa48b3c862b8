"""The service around the collectors: the scheduler and the demo."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.collecting import CollectionRunner
from listener.db import make_engine
from listener.demo import load_corpus
from listener.models import Mention, Source
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from listener.scheduler import build_scheduler
from listener.simulators import DEMO_CORPUS_PATH, Fault
from tests.platforms import settings_for


def wait_until(condition: Callable[[], bool], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def has_mention(engine: Engine, text: str) -> bool:
    with Session(engine) as session:
        return bool(session.scalar(select(func.count()).select_from(Mention).where(Mention.text == text)))


def test_scheduler_keeps_collecting_reddit_while_x_is_rate_limited(
    platforms: tuple[XSimulator, RedditSimulator], sqlite_engine: Engine, sqlite_url: str
) -> None:
    x, reddit = platforms
    x.add_tweet("@lumenmobile hello?", "waiting_user")
    settings = settings_for(
        x, reddit, sqlite_url,
        x={"interval_seconds": 1, "search_queries": []},
        reddit={"interval_seconds": 1, "subreddits": ["LumenMobile"], "inbox_mentions": False},
    )
    mentions_path = f"/2/users/{x.brand_user['id']}/mentions"
    x.add_fault(Fault(mentions_path, status=429, reset_after=600))
    scheduler = build_scheduler(settings, CollectionRunner(sqlite_engine, settings))
    scheduler.start()
    try:
        reddit.add_comment("lumen mobile first", "r1", "LumenMobile")
        assert wait_until(lambda: has_mention(sqlite_engine, "lumen mobile first"))
        reddit.add_comment("lumen mobile second", "r2", "LumenMobile")
        assert wait_until(lambda: has_mention(sqlite_engine, "lumen mobile second"))
    finally:
        scheduler.shutdown(wait=True)
    # X was asked once, answered 429, and left alone until its reset.
    assert len([r for r in x.requests if r.path == mentions_path]) == 1
    assert not has_mention(sqlite_engine, "@lumenmobile hello?")
    with Session(sqlite_engine) as session:
        paused = session.execute(select(Source.paused_until).where(Source.name == "x:mentions")).scalar_one()
    assert paused is not None and (paused - datetime.now(UTC)).total_seconds() > 500


def test_demo_runs_offline_and_ends_with_the_corpus_stored(tmp_path: Path) -> None:
    env = {**os.environ, "HARKEN_SENTIMENT__ENABLED": "false"}
    result = subprocess.run(
        [sys.executable, "-m", "responders.cli", "demo", "--dir", str(tmp_path / "demo"), "--no-serve"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Stored in" in result.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'demo' / 'harken.db'}")
    with Session(engine) as session:
        by_platform = dict(session.execute(select(Mention.platform, func.count()).group_by(Mention.platform)).all())
        texts = set(session.execute(select(Mention.text)).scalars())
    engine.dispose()
    corpus = load_corpus(DEMO_CORPUS_PATH)
    x_items = [item for item in corpus if item.platform == "x"]
    assert by_platform["x"] >= 0.9 * len(x_items)
    reddit_items = [item for item in corpus if item.platform == "reddit"]
    assert by_platform["reddit"] >= 0.9 * len(reddit_items)  # the brand's own subreddit is read in full
    assert "<script>alert('x')</script>" in " ".join(texts)  # hostile text stored as data


def test_demo_serves_the_web_app_with_an_account_per_role(tmp_path: Path) -> None:
    """``harken demo`` ends serving the app: it prints the address and the accounts, and one can sign in."""
    import re
    import signal

    import requests

    env = {**os.environ, "HARKEN_SENTIMENT__ENABLED": "false", "COLUMNS": "200"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "responders.cli", "demo", "--dir", str(tmp_path / "demo"), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
    )
    try:
        printed = []
        url = None
        assert demo.stdout is not None
        for line in demo.stdout:
            printed.append(line)
            found = re.search(r"Sign in at (http://127\.0\.0\.1:\d+)/", line)
            if found:
                url = found.group(1)
            if "Ctrl-C stops the demo" in line:
                break
        output = "".join(printed)
        assert url, output
        for email in ("agent@demo.harken", "approver@demo.harken", "manager@demo.harken", "admin@demo.harken"):
            assert email in output
        password = re.search(r"Password of every demo account: (\S+)", output).group(1)  # type: ignore[union-attr]
        browser = requests.Session()
        form = browser.get(f"{url}/signin", timeout=10)
        token = re.search(r'name="signin_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        signed_in = browser.post(f"{url}/signin", data={"email": "approver@demo.harken", "password": password,
                                                         "signin_token": token, "next": "/queue"}, timeout=10)
        assert signed_in.status_code == 200 and signed_in.url.endswith("/queue") and "Approval queue" in signed_in.text
        inbox = browser.get(f"{url}/api/v1/mentions", timeout=10).json()
        assert len(inbox["items"]) == 50 and inbox["has_more"]
    finally:
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
