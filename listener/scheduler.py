"""The scheduler: APScheduler fires each source on its own interval, plus processing.

Jobs run in a thread pool, so a slow or paused source never delays the others.
``max_instances=1`` keeps a source from overlapping itself, ``coalesce`` folds runs
missed while the process was busy into one, and the misfire grace lets a late run
still happen.

APScheduler keeps its jobs in each process's memory, so two schedulers would run
every source twice. On PostgreSQL :class:`SchedulerLeader` therefore runs the
scheduler only while its process holds an advisory lock on a connection of its
own; any other ``harken scheduler`` stands by and tries for the lock every
``[scheduler] standby_retry_seconds``. The server releases the lock when that
connection ends (the process died, or the connection was terminated), and the
active scheduler checks the connection every ``[scheduler] lock_check_seconds``:
when it is gone it stops scheduling at once and goes back to standby. Each run of
a source also holds a lock of its own for that source, so that a run still in
flight in a scheduler that just lost its lock can never overlap the same source's
run in the one that took over. On SQLite (one process by design) a file lock
beside the database keeps a second ``harken run`` or ``harken scheduler`` on
standby the same way.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from listener.collecting import CollectionRunner, RunSummary, ScheduledSource
from listener.processing import Processor
from listener.settings import Settings

log = logging.getLogger(__name__)

# pg_try_advisory_lock(bigint) of the one active scheduler ("Hark" in ASCII).
SCHEDULER_LOCK_KEY = 0x4861726B
# pg_try_advisory_lock(int, int) per source: (this class, crc32 of the source name).
SOURCE_LOCK_CLASS = 0x48726B53


def _source_key(name: str) -> int:
    """A signed 32-bit key for ``name`` (PostgreSQL's two-key advisory locks take int4)."""
    value = zlib.crc32(name.encode())
    return value - 2**32 if value >= 2**31 else value


def lock_engine(engine: Engine, check_seconds: float = 5.0) -> Engine:
    """An engine for lock connections: outside the pool, with TCP keepalives.

    Lock connections live as long as the lock, so they must not take slots of the
    pool the jobs use; the keepalives and ``tcp_user_timeout`` make a connection
    to an unreachable server fail within a few checks rather than hang.
    """
    seconds = max(1, round(check_seconds))
    return create_engine(
        engine.url, poolclass=NullPool,
        connect_args={"keepalives": 1, "keepalives_idle": seconds, "keepalives_interval": seconds,
                      "keepalives_count": 3, "tcp_user_timeout": 3 * seconds * 1000, "connect_timeout": 10,
                      "application_name": "harken-scheduler"},
    )


class SchedulerLock:
    """The lock that makes one scheduler active: a PostgreSQL session advisory lock, or a file lock on SQLite."""

    def __init__(self, engine: Engine, check_seconds: float = 5.0) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._locks = lock_engine(engine, check_seconds) if self.postgres else None
        self._connection: Connection | None = None
        self._descriptor: int | None = None

    def acquire(self) -> bool:
        """Take the lock if it is free; False (at once) when another process holds it."""
        if self._locks is not None:
            connection = self._locks.connect()
            try:
                acquired = connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}
                ).scalar()
                connection.commit()  # a session lock outlives the transaction; do not sit idle in one
            except BaseException:
                connection.close()
                raise
            if not acquired:
                connection.close()
                return False
            self._connection = connection
            return True
        database = self.engine.url.database
        if not database or database == ":memory:":
            return True  # an in-memory database lives in one process: nothing to share
        descriptor = os.open(f"{database}.scheduler.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        self._descriptor = descriptor
        return True

    def held(self) -> bool:
        """Whether the lock is still ours: on PostgreSQL, whether its connection still answers."""
        if self._connection is None:
            return not self.postgres
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except Exception as error:
            log.error("scheduler lock connection lost: %s", str(error).strip().splitlines()[0] if str(error) else error)
            return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                # Closing the session releases the lock; unlocking first says so at once.
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEDULER_LOCK_KEY})
                self._connection.commit()
            except Exception:
                pass  # the connection is gone, and the lock with it
            finally:
                self._connection.close()
                self._connection = None
        if self._descriptor is not None:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)
            os.close(self._descriptor)
            self._descriptor = None

    def dispose(self) -> None:
        self.release()
        if self._locks is not None:
            self._locks.dispose()


class SourceLocks:
    """One run of a source at a time across processes (PostgreSQL); nothing to do on SQLite."""

    def __init__(self, engine: Engine) -> None:
        self._locks = lock_engine(engine) if engine.dialect.name == "postgresql" else None

    def run(self, runner: CollectionRunner, name: str) -> RunSummary:
        if self._locks is None:
            return runner.run(name)
        key = {"cls": SOURCE_LOCK_CLASS, "key": _source_key(name)}
        with self._locks.connect() as connection:
            acquired = connection.execute(text("SELECT pg_try_advisory_lock(:cls, :key)"), key).scalar()
            connection.commit()
            if not acquired:
                log.warning("%s: a run is still in progress elsewhere; skipped", name)
                return RunSummary(name, "skipped", error="running elsewhere")
            try:
                return runner.run(name)
            finally:
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:cls, :key)"), key)
                    connection.commit()
                except Exception:
                    pass  # the connection is gone, and the lock with it


class _CollectJob:
    """One scheduled run of a source: under its source lock, then a wake-up call when it stored anything."""

    def __init__(self, runner: CollectionRunner, locks: SourceLocks,
                 on_collected: Callable[[RunSummary], None] | None) -> None:
        self.runner, self.locks, self.on_collected = runner, locks, on_collected

    def __call__(self, name: str) -> RunSummary:
        summary = self.locks.run(self.runner, name)
        if summary.stored and self.on_collected is not None:
            self.on_collected(summary)
        return summary


COLLECT_JOB_PREFIX = "collect:"
WATCH_EXECUTOR = "sources"


class SourcesScheduler(BackgroundScheduler):
    """A background scheduler with a job (the sources watch) that adds, changes and removes its jobs.

    APScheduler's ``shutdown(wait=True)`` holds the scheduler's job-store lock while it waits for running
    jobs, and every change to a job takes that lock: a watch pass in flight at shutdown would wait for
    the lock while shutdown waits for the pass. So shutdown first takes ``changing_jobs``, which a pass
    holds for its whole length: a pass in flight ends first, and one that starts later finds the lock
    taken and does nothing.
    """

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.changing_jobs = threading.Lock()

    def shutdown(self, wait: bool = True) -> None:
        with self.changing_jobs:
            super().shutdown(wait)


class _SourceWatch:
    """Keeps the scheduler's collect jobs in step with the sources table, which the web app changes from
    another process: a job for each new or resumed source, none for a paused or disabled one, the interval
    an admin set, and a run at once for each source whose "run now" is waiting."""

    def __init__(self, scheduler: SourcesScheduler, runner: CollectionRunner, collect: _CollectJob) -> None:
        self.scheduler, self.runner, self.collect = scheduler, runner, collect

    def add(self, source: ScheduledSource, now: datetime) -> None:
        self.scheduler.add_job(
            self.collect,
            IntervalTrigger(seconds=source.interval_seconds, timezone=UTC),
            args=[source.name],
            id=f"{COLLECT_JOB_PREFIX}{source.name}",
            name=f"collect {source.name}",
            next_run_time=now,
        )

    def __call__(self) -> None:
        if not self.scheduler.changing_jobs.acquire(blocking=False):
            return  # the scheduler is shutting down
        try:
            self._follow_sources()
        finally:
            self.scheduler.changing_jobs.release()

    def _follow_sources(self) -> None:
        now = datetime.now(UTC)
        wanted = {source.name: source for source in self.runner.scheduled()}
        jobs = {job.id.removeprefix(COLLECT_JOB_PREFIX): job for job in self.scheduler.get_jobs()
                if job.id.startswith(COLLECT_JOB_PREFIX)}
        for name, job in jobs.items():
            if name not in wanted:
                job.remove()
                log.info("scheduler: %s is paused or switched off: no longer collected", name)
        for name, source in wanted.items():
            job = jobs.get(name)
            if job is None:
                self.add(source, now)
                log.info("scheduler: collecting %s every %ds", name, source.interval_seconds)
                continue
            if job.trigger.interval.total_seconds() != source.interval_seconds:
                job.reschedule(IntervalTrigger(seconds=source.interval_seconds, timezone=UTC))
            if source.run_requested_at is not None and (job.next_run_time is None or job.next_run_time > now):
                job.modify(next_run_time=now)


def build_scheduler(
    settings: Settings,
    runner: CollectionRunner,
    processor: Processor | None = None,
    *,
    on_collected: Callable[[RunSummary], None] | None = None,
    seed_sources: bool = True,
) -> SourcesScheduler:
    """A scheduler with one job per source (and a processing job when given one); not started.

    The settings seed the sources first; then every enabled source not paused by an admin gets a job, and a
    watch job follows what admins change in the web app meanwhile. ``on_collected`` is called after each run
    that stored new mentions (``harken run`` wakes its processing worker with it).
    """
    if seed_sources:  # a standby's warm-up build leaves the sources table to the active scheduler
        runner.sync_sources()
    sources = runner.scheduled()
    scheduler = SourcesScheduler(
        # Room for sources added in the web app later, each run on a thread of its own.
        # The watch has a thread of its own: streaming sources hold theirs for most of their interval, and an
        # admin's pause or "run now" must not wait for one of them to end.
        executors={"default": ThreadPoolExecutor(max_workers=len(sources) + 8),
                   WATCH_EXECUTOR: ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.scheduler.misfire_grace_seconds,
        },
        timezone=UTC,
    )
    # Scheduled runs are live until shutdown: a streaming source holds its run open until the next one is
    # due, and ends it within a moment once shutdown() has marked the scheduler stopped (Collector.live).
    runner.live = lambda: scheduler.state != STATE_STOPPED
    now = datetime.now(UTC)
    collect = _CollectJob(runner, SourceLocks(runner.engine), on_collected)
    watch = _SourceWatch(scheduler, runner, collect)
    for source in sources:
        watch.add(source, now)
    scheduler.add_job(
        watch,
        IntervalTrigger(seconds=settings.scheduler.sources_check_seconds, timezone=UTC),
        id="sources",
        name="follow the sources admins change",
        executor=WATCH_EXECUTOR,
    )
    if processor is not None:
        scheduler.add_job(
            processor.run_until_empty,
            IntervalTrigger(seconds=settings.scheduler.processing_interval_seconds, timezone=UTC),
            id="process",
            name="process new mentions",
            next_run_time=now,
        )
    return scheduler


class SchedulerLeader:
    """Runs a scheduler (made by ``build``) only while this process holds the scheduler lock.

    ``build`` is called each time this process becomes active, since an APScheduler
    scheduler that was shut down is not started again.
    """

    def __init__(self, engine: Engine, settings: Settings, build: Callable[..., BackgroundScheduler]) -> None:
        self.engine = engine
        self.build = build
        self.retry_seconds = settings.scheduler.standby_retry_seconds
        self.check_seconds = settings.scheduler.lock_check_seconds
        self.lock = SchedulerLock(engine, self.check_seconds)
        self.scheduler: BackgroundScheduler | None = None
        self.activations = 0
        self._stop = threading.Event()
        self._active = threading.Event()
        self._thread: threading.Thread | None = None
        self._warmed = False

    @property
    def active(self) -> bool:
        return self._active.is_set()

    def wait_active(self, timeout: float | None = None) -> bool:
        return self._active.wait(timeout)

    def try_activate(self) -> bool:
        """Take the lock and start the scheduler if the lock is free; whether this process is now active."""
        if self.active:
            return True
        try:
            if not self.lock.acquire():
                return False
        except Exception as error:
            log.warning("scheduler: cannot reach the database for the lock (%s); retrying",
                        str(error).strip().splitlines()[0] if str(error) else type(error).__name__)
            return False
        try:
            scheduler = self.build()
            scheduler.start()
        except Exception:
            log.exception("scheduler: could not start; giving the lock back and retrying")
            self.lock.release()
            return False
        self.scheduler = scheduler
        self.activations += 1
        self._active.set()
        log.info("scheduler active (pid %d): %d job(s)", os.getpid(), len(scheduler.get_jobs()))
        return True

    def _warm_up(self) -> None:
        """Build the jobs once, not started and without seeding the sources, and drop them: what they import
        (scipy for the spike check, every platform's client) is then loaded, and a takeover costs a build of a
        few milliseconds rather than seconds of imports while nothing collects."""
        if self._warmed:
            return
        self._warmed = True
        try:
            self.build(seed_sources=False)
        except Exception as error:  # only the takeover's speed is at stake: it builds (and says why) again
            log.warning("scheduler: could not prepare the jobs while standing by (%s)", error)

    def _deactivate(self, wait: bool) -> None:
        scheduler, self.scheduler = self.scheduler, None
        self._active.clear()
        if scheduler is not None:
            scheduler.shutdown(wait=wait)
        self.lock.release()

    def run(self) -> None:
        """Stand by, be active, stand by again when the lock is lost... until :meth:`stop`."""
        announced = False
        while not self._stop.is_set():
            if not self.try_activate():
                if not announced:
                    log.info("scheduler standing by (pid %d): another scheduler is active; trying every %gs",
                             os.getpid(), self.retry_seconds)
                    announced = True
                    self._warm_up()
                self._stop.wait(self.retry_seconds)
                continue
            announced = False
            while not self._stop.wait(self.check_seconds):
                if not self.lock.held():
                    # Stop scheduling now: the lock may already be someone else's. Runs in flight
                    # finish on their own threads, each under its source lock.
                    log.error("scheduler lost its lock: stopped scheduling, standing by")
                    self._deactivate(wait=False)
                    break
        self._deactivate(wait=True)

    def start(self) -> None:
        """Try once now (so that an uncontended process is active on return), then keep going in a thread."""
        self.try_activate()
        self._thread = threading.Thread(target=self.run, name="scheduler-leader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop scheduling, let running jobs finish (for up to ``timeout`` seconds), give the lock back.

        Returns whether everything finished in time.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            finished = not self._thread.is_alive()
        else:
            self._deactivate(wait=True)
            finished = True
        self.lock.dispose()
        return finished
