"""Benchmark: mentions per second from the platform simulators to reply suggestions in the queue.

    .venv/bin/python bench/pipeline.py [--n 5000] [--naive-n 300] [--similar-n 1500] [--workers 1,2,4]
                                       [--latency 20] [--poll 5] [--postgres URL] [--skip NAME ...] [--json]

Every figure starts from tweets waiting on the X simulator (TweetEval training
tweets addressed to @lumenmobile, from n/4 authors), read through tweepy in pages
of 100 as in production, and ends when every mention has been processed: language,
sentiment with the default model, customer profile, priority and triage, reply
suggestions. Models are loaded before the clock starts (a service loads them once).

- ``sqlite``: one process arranged as ``harken run`` arranges it: the collector stores
  pages while the processing worker threads (``[processing] worker_threads``) claim
  batches (``[processing] batch_size``).
- ``naive``: the same, processing one mention at a time, one transaction per mention
  (one worker thread, ``batch_size = 1``): the baseline, measured in the same run; the
  ratio is printed.
- ``similar``: ``sqlite`` after the team has approved 30 replies, so that similar-reply
  suggestions are on and every new mention is also embedded (all-MiniLM-L6-v2, float32).
- ``postgres``: PostgreSQL, the collector in this process (as ``harken scheduler``) and
  1, 2, 4 ``harken worker`` processes, each with cores / workers sentiment threads.
- ``latency``: ``harken run`` (SQLite) as a subprocess, polling X every ``--poll`` seconds;
  tweets are posted at random moments while it runs, and each one's time from being
  posted to having its suggestion committed is measured. The target is poll + 2 s.

The simulators run in this process and share the CPU with Harken. Wall-clock figures
on a shared machine measure the other work too: the load average is printed, and the
one-process runs also give their CPU time (this process, simulators included) and the
CPU time other processes used meanwhile. Before each figure the benchmark waits (up to
``--quiet-wait`` seconds) until other processes use under 15% of the cores, and prints
their share as it found it (``others_share_before``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import responders  # noqa: E402,F401  (registers the responders' processing steps)
from listener.collecting import CollectionRunner  # noqa: E402
from listener.db import make_engine, migrate, utcnow  # noqa: E402
from listener.demo import DemoPlatforms, demo_settings  # noqa: E402
from listener.models import Mention, Reply, Suggestion  # noqa: E402
from listener.platforms.reddit.simulator import RedditSimulator  # noqa: E402
from listener.platforms.x.simulator import XSimulator  # noqa: E402
from listener.settings import Settings  # noqa: E402
from responders.service import make_worker  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "tweeteval-sentiment"
NAMES = ("Ana Silva", "Bob Stone", "lumen_fan", "Chloé Martin", "Dev K", "Erin Walsh", "Farid Haddad", "Gus")
PAST_REPLY = "Hi {name}, thanks for telling us. A specialist will look into it today and get back to you."
QUESTION = "@lumenmobile how do i add a second line to my plan? asking for my dad ({n})"


def tweets(n: int) -> list[str]:
    """TweetEval training tweets (never the test split), repeated with a suffix past the file's end."""
    lines = [line for line in (DATA / "train_text.txt").read_text(encoding="utf-8").split("\n") if line.strip()]
    return [lines[i % len(lines)] + ("" if i < len(lines) else f" #{i}") for i in range(n)]


def seed_simulator(x: XSimulator, n: int) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    authors = max(1, n // 4)
    for i, body in enumerate(tweets(n)):
        a = i % authors
        x.add_tweet(f"@lumenmobile {body}", f"fan{a}", NAMES[a % len(NAMES)], followers=rng.choice(
            (12, 150, 900, 4_000, 25_000)), created_at=now - timedelta(seconds=n - i))


def bench_settings(x_sim: XSimulator, reddit_sim: RedditSimulator, url: str, /, **sections: Any) -> Settings:
    """The defaults (default model, similar replies on), pointed at the simulators; X mentions only."""
    sections.setdefault("x", {}).update({"search_queries": [], "page_size": 100, "max_pages_per_run": 10_000})
    sections.setdefault("reddit", {}).update({"enabled": False})
    return demo_settings(DemoPlatforms(x=x_sim, reddit=reddit_sim), url, **sections)


def env_from(settings: Settings, *sections: str) -> dict[str, str]:
    """Settings as HARKEN_* variables for a ``harken`` subprocess."""
    env: dict[str, str] = {}
    for section in sections:
        for key, value in getattr(settings, section).model_dump().items():
            if hasattr(value, "get_secret_value"):
                value = value.get_secret_value()
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, list | dict):
                value = json.dumps(value)
            env[f"HARKEN_{section.upper()}__{key.upper()}"] = str(value)
    return env


def processed(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Mention)
                              .where(Mention.processing_state == "processed")) or 0


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def outcome(engine: Engine, n: int, seconds: float) -> dict[str, Any]:
    with Session(engine) as session:
        answered = session.scalar(select(func.count(func.distinct(Suggestion.mention_id)))) or 0
        suggestions = session.scalar(select(func.count()).select_from(Suggestion)) or 0
        failed = session.scalar(select(func.count()).select_from(Mention).where(Mention.processing_state == "failed"))
    return {"mentions": n, "seconds": round(seconds, 2), "mentions_per_second": round(n / seconds, 1),
            "with_suggestions": answered, "suggestions": suggestions, "failed": failed}


def seed_past_replies(engine: Engine, count: int) -> None:
    """Approved replies the team sent before: similar-reply suggestions compare every new mention with them."""
    now = utcnow()
    rows = [{"platform": "x", "external_id": f"past{i}", "kind": "tweet", "text": f"@lumenmobile {body}",
             "url": f"https://x.com/i/past{i}", "created_at": now - timedelta(days=3), "collected_at": now,
             "raw": "{}", "processing_state": "processed", "status": "waiting"}
            for i, body in enumerate(tweets(count + 200)[-count:])]
    with Session(engine) as session:
        session.execute(insert(Mention), rows)
        ids = list(session.execute(select(Mention.id).where(Mention.external_id.like("past%"))).scalars())
        session.execute(insert(Reply), [{"mention_id": i, "state": "sent", "text": PAST_REPLY.format(name="there"),
                                         "platform_reply_id": f"r{i}", "sent_at": now, "created_at": now,
                                         "updated_at": now} for i in ids])
        session.commit()


def _cpu() -> float:
    """CPU seconds of this process so far (every thread: Harken's and the simulators')."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all processes), from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait: float, share: float = 0.15) -> float:
    """Wait (at most ``max_wait`` s) until other processes use under ``share`` of the cores; their use then."""
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + max_wait
    while True:
        before = _machine_busy()
        time.sleep(2)
        used = (_machine_busy() - before) / 2 / cores
        if used < share or time.monotonic() > deadline:
            return round(used, 2)


# -- SQLite, one process ---------------------------------------------------------------------------


def run_one_process(n: int, naive: bool = False, past_replies: int = 0) -> dict[str, Any]:
    """Collector and worker threads in this process, as in `harken run`; naive: one mention per transaction."""
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/harken.db"
        migrate(url)
        with XSimulator(rate_limit=10**6) as x, RedditSimulator() as reddit:
            seed_simulator(x, n)
            processing = {"batch_size": 1, "worker_threads": 1} if naive else {}
            settings = bench_settings(x, reddit, url, processing=processing)
            engine = make_engine(url)
            if past_replies:
                seed_past_replies(engine, past_replies)
            runner = CollectionRunner(engine, settings)
            runner.sync_sources()
            worker = make_worker(engine, settings, "bench")
            worker.warm_up()
            if past_replies:
                from responders.similar import get_encoder

                get_encoder().encode(["warming up"])
            goal = n + past_replies
            cpu_started, busy_started, started = _cpu(), _machine_busy(), time.perf_counter()
            worker.start()
            summary = runner.run("x:mentions")
            worker.wake()
            assert summary.stored == n, summary
            finished = wait_until(lambda: processed(engine) >= goal, timeout=3600)
            seconds, cpu = time.perf_counter() - started, _cpu() - cpu_started
            others = _machine_busy() - busy_started - cpu
            worker.stop()
            worker.join()
            assert finished, "processing did not finish"
            # CPU time too: on a shared machine the wall clock also measures the other work.
            result = outcome(engine, n, seconds) | {"cpu_seconds": round(cpu, 2),
                                                    "mentions_per_cpu_second": round(n / cpu, 1),
                                                    "other_processes_cpu_seconds": round(max(0.0, others), 1)}
            engine.dispose()
            return result


# -- PostgreSQL, harken worker processes ---------------------------------------------------------------


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    name = f"harken_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Process:
    """A ``harken`` subprocess whose output lines are kept as they come."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen([sys.executable, "-m", "responders.cli", *command],
                                        env={**os.environ, **env}, cwd=REPO, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def saw(self, pattern: str) -> bool:
        return any(re.search(pattern, line) for line in list(self.lines))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()


def run_postgres(server: str, n: int, workers: int) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    with postgres_database(server) as url, XSimulator(rate_limit=10**6) as x, RedditSimulator() as reddit:
        migrate(url)
        seed_simulator(x, n)
        settings = bench_settings(x, reddit, url, sentiment={"threads": max(1, cores // workers)})
        env = env_from(settings, "database", "x", "reddit", "sentiment", "processing", "replies")
        processes = [Process(["worker", "--id", f"bench-w{i}"], env) for i in range(workers)]
        try:
            ready = wait_until(lambda: all(p.saw(r"worker \S+ ready") for p in processes), timeout=300, interval=0.1)
            assert ready, "\n".join(line for p in processes for line in p.lines[-20:])
            engine = make_engine(url)
            runner = CollectionRunner(engine, settings)
            runner.sync_sources()
            started = time.perf_counter()
            summary = runner.run("x:mentions")
            assert summary.stored == n, summary
            assert wait_until(lambda: processed(engine) >= n, timeout=3600), "processing did not finish"
            seconds = time.perf_counter() - started
            result = outcome(engine, n, seconds) | {"workers": workers, "sentiment_threads": max(1, cores // workers)}
            engine.dispose()
            return result
        finally:
            for process in processes:
                process.stop()


# -- latency: harken run as a subprocess --------------------------------------------------------------


def run_latency(count: int, poll: float) -> dict[str, Any]:
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as directory, XSimulator() as x, RedditSimulator() as reddit:
        url = f"sqlite:///{directory}/harken.db"
        settings = bench_settings(x, reddit, url, x={"interval_seconds": max(1, round(poll))})
        env = env_from(settings, "database", "x", "reddit", "sentiment", "processing") | {
            "HARKEN_WEB__ENABLED": "false", "HARKEN_SENDER__ENABLED": "false"}
        service = Process(["run"], env)
        try:
            assert wait_until(lambda: service.saw(r"worker \S+ ready") and service.saw("Harken is running"),
                              timeout=300, interval=0.1), "\n".join(service.lines[-30:])
            engine = make_engine(url)
            time.sleep(poll)  # the first collection (nothing there yet) is done; now the steady state
            posted: dict[str, float] = {}
            seen: dict[str, float] = {}

            def watch() -> None:
                while len(seen) < count:
                    with Session(engine) as session:
                        found = session.execute(
                            select(Mention.external_id).join(Suggestion, Suggestion.mention_id == Mention.id)
                            .where(Mention.processing_state == "processed").distinct()
                        ).scalars()
                        now = time.time()
                        for external_id in found:
                            seen.setdefault(external_id, now)
                    if watching.is_set():
                        return
                    time.sleep(0.02)

            watching = threading.Event()
            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            for i in range(count):
                time.sleep(rng.uniform(0.2, poll))
                tweet = x.add_tweet(QUESTION.format(n=i), f"asker{i}", NAMES[i % len(NAMES)], followers=300)
                posted[tweet["id"]] = time.time()
            wait_until(lambda: len(seen) >= count, timeout=poll + 60, interval=0.1)
            watching.set()
            watcher.join(5)
            engine.dispose()
        finally:
            service.stop()
    latencies = sorted(seen[i] - posted[i] for i in posted if i in seen)
    missing = count - len(latencies)
    return {"mentions": count, "poll_seconds": poll, "bound_seconds": poll + 2, "missing": missing,
            "p50": round(statistics.median(latencies), 2) if latencies else None,
            "p95": round(latencies[max(0, round(0.95 * len(latencies)) - 1)], 2) if latencies else None,
            "max": round(latencies[-1], 2) if latencies else None,
            "within_bound": sum(1 for latency in latencies if latency <= poll + 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="tweets per throughput run (default 5000)")
    parser.add_argument("--naive-n", type=int, default=300, help="tweets for the naive baseline (default 300)")
    parser.add_argument("--similar-n", type=int, default=1500, help="tweets for the similar-replies run")
    parser.add_argument("--workers", default="1,2,4", help="PostgreSQL worker counts (default 1,2,4)")
    parser.add_argument("--latency", type=int, default=20, help="tweets posted for the latency figure")
    parser.add_argument("--poll", type=float, default=5.0, help="X source interval for the latency figure")
    parser.add_argument("--postgres", default=os.environ.get("HARKEN_BENCH_POSTGRES",
                                                             "postgresql+psycopg://postgres@127.0.0.1:5432"),
                        help="PostgreSQL server URL, without a database name")
    parser.add_argument("--skip", nargs="*", default=[], choices=["sqlite", "naive", "similar", "postgres", "latency"])
    parser.add_argument("--quiet-wait", type=float, default=120,
                        help="before each figure, wait up to this many seconds for other processes to go "
                             "quiet (0: do not wait)")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import logging

    logging.basicConfig(level=logging.WARNING)
    results: dict[str, Any] = {"cores": os.cpu_count(), "load_average_before": os.getloadavg()}

    def show(name: str, figures: dict[str, Any]) -> None:
        results[name] = figures
        print(f"{name:<16} " + "  ".join(f"{key}={value}" for key, value in figures.items()), flush=True)

    def measure(name: str, run: Callable[[], dict[str, Any]]) -> None:
        # Another process on a 2-core machine halves what a run can use: wait for it to finish.
        others = wait_for_quiet(args.quiet_wait) if args.quiet_wait else None
        figures = run()
        if others is not None:
            figures["others_share_before"] = others
        show(name, figures)

    if "sqlite" not in args.skip:
        measure("sqlite", lambda: run_one_process(args.n))
    if "naive" not in args.skip:
        measure("naive", lambda: run_one_process(args.naive_n, naive=True))
        if "sqlite" in results:
            ratio = results["sqlite"]["mentions_per_second"] / results["naive"]["mentions_per_second"]
            show("sqlite/naive", {"ratio": round(ratio, 1), "target": 5})
    if "similar" not in args.skip:
        measure("sqlite+similar", lambda: run_one_process(args.similar_n, past_replies=30))
    if "postgres" not in args.skip:
        for workers in (int(w) for w in args.workers.split(",")):
            measure(f"postgres x{workers}", lambda workers=workers: run_postgres(args.postgres, args.n, workers))
    if "latency" not in args.skip:
        measure("latency", lambda: run_latency(args.latency, args.poll))
    results["load_average_after"] = os.getloadavg()
    print(f"load average before {results['load_average_before']}, after {results['load_average_after']}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
