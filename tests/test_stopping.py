"""Stopping the service: a SIGTERM is never slept through, and shutdown never waits on itself.

Each case runs in a subprocess with a time limit, because the defects they guard against hang the
process for good (threads that never end keep even pytest from exiting).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_script(source: str, timeout: float = 60) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(source)], cwd=REPO, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_sigterm_handed_to_another_thread_still_stops_the_main_thread() -> None:
    # The kernel gives a process-directed signal to any thread; pthread_kill makes it a job thread.
    out = run_script("""
        import signal, threading, time
        from responders.service import stop_on_signals, wait_for_stop

        stop = stop_on_signals()
        def job() -> None:
            time.sleep(0.3)
            signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
            time.sleep(30)
        threading.Thread(target=job, daemon=True).start()
        started = time.monotonic()
        wait_for_stop(stop)
        print(f"{time.monotonic() - started:.2f}")
    """, timeout=20)
    assert float(out) < 3


def test_shutdown_waits_for_a_sources_watch_pass_in_flight_and_then_ends(tmp_path: Path) -> None:
    # Shutdown starts while the watch is reading the sources table; the pass then changes jobs.
    out = run_script(f"""
        import threading, time
        from listener.collecting import CollectionRunner
        from listener.db import make_engine, migrate
        from listener.scheduler import build_scheduler
        from listener.settings import load_settings

        url = "sqlite:///{tmp_path / 'harken.db'}"
        settings = load_settings(database={{"url": url}}, scheduler={{"sources_check_seconds": 0.05}},
                                 x={{"enabled": False}}, reddit={{"enabled": False}})
        migrate(url)
        engine = make_engine(url)
        runner = CollectionRunner(engine, settings)
        scheduler = build_scheduler(settings, runner)
        in_pass = threading.Event()
        read_sources = runner.scheduled
        def slow_read():
            if threading.current_thread().name != "MainThread":
                in_pass.set()
                time.sleep(0.5)
            return read_sources()
        runner.scheduled = slow_read
        scheduler.start()
        assert in_pass.wait(10)
        started = time.monotonic()
        scheduler.shutdown(wait=True)
        print(f"{{time.monotonic() - started:.2f}}")
    """, timeout=30)
    assert float(out) < 5


def test_a_standby_prepares_its_jobs_without_starting_them_or_touching_the_sources(tmp_path: Path) -> None:
    # The active one holds the SQLite file lock; the standby builds its real jobs once (loading what they import,
    # so that a takeover is quick), starts nothing and leaves the sources table, which the active one seeds, alone.
    out = run_script(f"""
        import time
        from apscheduler.schedulers.background import BackgroundScheduler
        from sqlalchemy import func, select
        from sqlmodel import Session
        from listener.collecting import CollectionRunner
        from listener.db import make_engine, migrate
        from listener.models import Source
        from listener.platforms import configured_sources
        from listener.scheduler import SchedulerLeader
        from responders.service import scheduler_factory

        from listener.settings import load_settings

        url = "sqlite:///{tmp_path / 'harken.db'}"
        settings = load_settings(database={{"url": url}}, scheduler={{"standby_retry_seconds": 0.1}},
                                 reddit={{"enabled": True, "own_subreddits": ["LumenMobile"]}})
        migrate(url)
        engine = make_engine(url)
        active = SchedulerLeader(engine, settings, lambda **_: BackgroundScheduler())
        active.start()
        real = scheduler_factory(engine, settings, CollectionRunner(engine, settings))
        built = []
        def build(**options):
            scheduler = real(**options)
            built.append((options, scheduler))
            return scheduler
        standby = SchedulerLeader(engine, settings, build)
        standby.start()
        deadline = time.monotonic() + 30
        while not built and time.monotonic() < deadline:
            time.sleep(0.1)
        with Session(engine) as session:
            stored = session.scalar(select(func.count()).select_from(Source))
        options, scheduler = built[0]
        print(standby.active, len(built), options, scheduler.running, len(scheduler.get_jobs()) > 0, stored,
              len(configured_sources(settings)) > 0)
        standby.stop(5)
        active.stop(5)
    """, timeout=60)
    assert out.split() == ["False", "1", "{'seed_sources':", "False}", "False", "True", "0", "True"]
