"""A live Harken for browser tests: simulators, collected and processed demo corpus, web app, sender.

Chromium is Debian's, driven by Playwright without any browser download; where it is
missing, :func:`ensure_chromium` installs it with apt-get, so the README's test command
runs on a fresh machine by itself. Screenshots go to ``tests/artifacts/`` (ignored by git).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy.engine import Engine

from listener.collecting import CollectionRunner
from listener.db import make_engine, migrate
from listener.demo import running_simulators
from listener.pipeline import processing_steps
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from listener.processing import Processor
from listener.settings import Settings
from responders.sender import Sender
from responders.web.server import WebServer
from tests.platforms import settings_for
from tests.responders.helpers import add_mention
from tests.web.conftest import PASSWORD, TEAM, add_team

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> lumen mobile ate my refund'


@dataclass
class LiveSite:
    settings: Settings
    engine: Engine
    url: str
    x: XSimulator
    reddit: RedditSimulator
    hostile_mention_id: int


class SenderLoop:
    """What ``harken run`` does for replies: the sender, every half second."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.sender = Sender(engine, settings)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sender", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self.sender.send_pending()

    def __enter__(self) -> SenderLoop:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


@contextmanager
def live_site(database: Path, x: XSimulator, reddit: RedditSimulator) -> Iterator[LiveSite]:
    url = f"sqlite:///{database}"
    migrate(url)
    # The default sentiment model, as in production: the pages show real labels and confidences.
    settings = settings_for(x, reddit, url, web={"secure_cookies": "never"}, sentiment={"enabled": True},
                            replies={"similar_replies": False}, x={"retry_backoff_seconds": 0.05})
    engine = make_engine(url)
    runner = CollectionRunner(engine, settings)
    runner.sync_sources()
    runner.run_all()
    hostile = add_mention(engine, HOSTILE, sentiment="negative", confidence=0.9, handle="mallory")
    Processor(engine, processing_steps(settings)).run_until_empty()
    add_team(engine)
    with WebServer(settings, engine, host="127.0.0.1", port=0) as web, SenderLoop(engine, settings):
        yield LiveSite(settings, engine, web.url, x, reddit, hostile.id)  # type: ignore[arg-type]
    engine.dispose()


@contextmanager
def demo_site(directory: Path) -> Iterator[LiveSite]:
    """A live site on the demo corpus in ``directory``: what each browser test module serves its pages from."""
    with running_simulators() as platforms, live_site(
        directory / "harken.db", platforms["x"], platforms["reddit"]
    ) as site:
        yield site


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, launched once for a test module."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(browser: Any, live: LiveSite, who: str, width: int = 1440) -> Page:
    """A page signed in as ``who`` (a role of the demo team, or an email) in a browser context of its own:
    its own cookies, as on its own computer."""
    context = browser.new_context(base_url=live.url, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto("/signin")
    page.get_by_label("Email").fill(TEAM.get(who, who))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    return page


def ensure_chromium(executable: str = CHROMIUM) -> str:
    """``executable``, after installing Debian's ``chromium`` package with apt-get if it is missing.

    apt-get runs as is for root and through sudo otherwise; when the package index does
    not know the package yet, the index is updated and the install tried once more.
    Anything else is an error that says what to do, not a browser test failing obscurely.
    """
    if os.access(executable, os.X_OK):
        return executable
    # One install at a time: test processes running side by side (pytest -n) would otherwise meet dpkg's lock.
    with open(Path(tempfile.gettempdir()) / "harken-chromium-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return executable if os.access(executable, os.X_OK) else _install_chromium(executable)


def _install_chromium(executable: str) -> str:
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if shutil.which("apt-get") is None or (prefix and shutil.which("sudo") is None):
        raise RuntimeError(f"{executable} is missing and cannot be installed here (no apt-get, or not root and "
                           "no sudo): install Debian's chromium package, then run the tests again")
    install = [*prefix, "apt-get", "install", "-y", "-q", "chromium"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run([*prefix, "apt-get", "update", "-q"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    if not os.access(executable, os.X_OK):
        raise RuntimeError(f"`{' '.join(install)}` did not provide {executable}: install Debian's chromium package")
    return executable


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=ensure_chromium(), headless=True, args=CHROMIUM_ARGS)


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
