"""The processing stage: batches of new mentions pass through a list of steps.

Steps run in order on one batch inside one transaction (language and sentiment,
profile matching, priority, reply suggestions...). ``listener`` defines the
listening steps; the responders add theirs when they compose the service, since
``listener`` never imports ``responders``.

Any number of workers may share the queue (``harken worker`` processes on
PostgreSQL, a thread inside ``harken run``). A batch goes through three states:

1. **Claim**, in its own short transaction: up to ``batch_size`` mentions that are
   ``new``, or ``claimed`` with an expired lease, become ``claimed`` by this worker
   until now + ``lease_seconds``. On PostgreSQL the candidates are picked with
   ``FOR UPDATE SKIP LOCKED``, so concurrent workers never wait for each other and
   never pick the same rows.
2. **Process**: the steps run over the batch, in a second transaction.
3. **Finish**, in that same transaction: the batch becomes ``processed`` only where
   it is still claimed by this worker. If any mention is not (this worker outlived
   its lease and another claimed it), the whole transaction rolls back, so a batch
   is never written twice; the other worker's results stand.

A worker killed between 1 and 3 leaves its batch ``claimed``; when the lease runs
out another worker claims it again. ``processing_attempts`` counts claims, and a
mention whose claim ran out ``max_attempts`` times is failed with the reason, so a
mention that kills every worker that touches it cannot stop the queue. SQLite has
one writer at a time and no ``SKIP LOCKED``: there the same statements run without
it, for the one process that SQLite deployments have.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session

from listener.db import utcnow
from listener.models import Mention, ProcessingState

log = logging.getLogger(__name__)


class ProcessingStep(Protocol):
    """One thing done to every new mention. ``process`` may change the mentions in place."""

    name: str

    def process(self, session: Session, mentions: Sequence[Mention]) -> None: ...


class ClaimLost(Exception):
    """Another worker claimed part of this batch (the lease ran out): nothing of it was written."""


def is_connection_error(error: BaseException) -> bool:
    """A database that went away or is busy, rather than a fault in the batch itself.

    Such a batch is not marked failed: the worker reconnects and the batch is
    processed again, by it or by another worker.
    """
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def default_worker_id() -> str:
    """Unique per process and per worker: the host and pid say who, the suffix tells restarts apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Processor:
    """Claims batches of new mentions and runs the steps over them (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        steps: Sequence[ProcessingStep],
        batch_size: int = 256,
        *,
        lease_seconds: float = 120.0,
        max_attempts: int = 3,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.steps = list(steps)
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.worker_id = worker_id or default_worker_id()

    @property
    def _skip_locked(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def warm_up(self) -> None:
        """Load what the steps load lazily (models), so that the first claim is not held while they load."""
        for step in self.steps:
            warm = getattr(step, "warm_up", None)
            if callable(warm):
                warm()

    # -- 1. claim -----------------------------------------------------------------------------

    def _candidates(self, condition: Any, limit: int) -> Any:
        statement = select(Mention.id).where(condition).order_by(Mention.id).limit(limit)  # type: ignore[arg-type]
        if self._skip_locked:
            # Rows another worker is claiming or finishing right now are skipped, not waited for.
            statement = statement.with_for_update(skip_locked=True)
        return statement.scalar_subquery()

    def claim(self, now: datetime | None = None) -> list[int]:
        """Claim up to ``batch_size`` mentions for this worker, in one short transaction; their ids.

        Each statement picks and updates its rows at once (``UPDATE ... WHERE id IN
        (SELECT ... LIMIT n)``), so on SQLite it takes the write lock before it reads.
        Abandoned batches come first (the oldest work), then new mentions: two index
        range scans on (processing_state, id) that stop at the limit, rather than one
        OR that would sort every candidate of a large backlog.
        """
        now = now or utcnow()
        state, expires = Mention.processing_state, Mention.claim_expires_at
        expired = and_(state == ProcessingState.CLAIMED, expires < now)  # type: ignore[operator]
        claimed = {"processing_state": ProcessingState.CLAIMED, "claimed_by": self.worker_id,
                   "claim_expires_at": now + self.lease, "processing_attempts": Mention.processing_attempts + 1}
        with Session(self.engine) as session:
            exhausted = session.execute(
                update(Mention)
                .where(Mention.id.in_(self._candidates(  # type: ignore[union-attr]
                    and_(expired, Mention.processing_attempts >= self.max_attempts), self.batch_size)))
                .values(processing_state=ProcessingState.FAILED, claimed_by=None, claim_expires_at=None,
                        processing_error=f"abandoned: its claim ran out {self.max_attempts} time(s) "
                                         "(the workers processing it died or hung)")
            ).rowcount
            if exhausted:
                log.error("%d mention(s) failed: their claims ran out %d time(s)", exhausted, self.max_attempts)
            ids: list[int] = []
            for condition in (expired, state == ProcessingState.NEW):
                if len(ids) >= self.batch_size:
                    break
                ids += session.execute(
                    update(Mention)
                    .where(Mention.id.in_(self._candidates(condition, self.batch_size - len(ids))))  # type: ignore[union-attr]
                    .values(**claimed)
                    .returning(Mention.id)
                ).scalars()
            session.commit()
        return sorted(ids)

    # -- 2. process and 3. finish ----------------------------------------------------------------

    def run_once(self) -> int:
        """Claim and process one batch; returns how many mentions it held (0 when none are waiting).

        A step that raises fails the batch (each mention keeps the reason, for
        :meth:`retry_failed`). A lost database connection is not the batch's fault:
        it is raised, and the batch is processed again later (see :class:`Worker`).
        """
        ids = self.claim()
        if not ids:
            return 0
        try:
            self._process(ids)
        except ClaimLost as lost:
            log.warning("%s", lost)
        except Exception as error:
            if is_connection_error(error):
                raise
            log.exception("processing a batch of %d mentions failed", len(ids))
            self._mark_failed(ids, f"{type(error).__name__}: {error}")
        return len(ids)

    def _process(self, ids: list[int]) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                batch = list(session.execute(
                    select(Mention).where(Mention.id.in_(ids)).order_by(Mention.id)  # type: ignore[union-attr,arg-type]
                ).scalars())
                for step in self.steps:
                    step.process(session, batch)
                # Written last, in the transaction that holds the steps' results: the batch is
                # processed only where this worker still holds the claim.
                finished = session.execute(
                    update(Mention)
                    .where(Mention.id.in_(ids), Mention.claimed_by == self.worker_id,  # type: ignore[union-attr]
                           Mention.processing_state == ProcessingState.CLAIMED)
                    .values(processing_state=ProcessingState.PROCESSED, processed_at=utcnow(),
                            processing_error=None, claimed_by=None, claim_expires_at=None)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if finished != len(ids):
                    raise ClaimLost(
                        f"worker {self.worker_id}: {len(ids) - finished} of {len(ids)} mention(s) were claimed "
                        "by another worker after this one's lease ran out: this batch was rolled back, theirs stands"
                    )
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def _mark_failed(self, ids: list[int], error: str) -> None:
        # A failed mention stays visible (its triage status is untouched) and can be retried.
        with Session(self.engine) as session:
            session.execute(
                update(Mention)
                .where(Mention.id.in_(ids), Mention.claimed_by == self.worker_id,  # type: ignore[union-attr]
                       Mention.processing_state == ProcessingState.CLAIMED)
                .values(processing_state=ProcessingState.FAILED, processing_error=error[:2000],
                        claimed_by=None, claim_expires_at=None)
            )
            session.commit()

    def release(self) -> int:
        """Give back this worker's unfinished claims at once (after a lost connection), rather than
        letting them wait for the lease; returns how many."""
        with Session(self.engine) as session:
            result = session.execute(
                update(Mention)
                .where(Mention.claimed_by == self.worker_id, Mention.processing_state == ProcessingState.CLAIMED)
                .values(processing_state=ProcessingState.NEW, claimed_by=None, claim_expires_at=None,
                        processing_attempts=Mention.processing_attempts - 1)
            )
            session.commit()
            return result.rowcount or 0

    def run_until_empty(self, max_batches: int | None = None) -> int:
        """Process batches until no new mention is left; returns the total processed."""
        total = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            done = self.run_once()
            if done == 0:
                break
            total += done
            batches += 1
        return total

    def retry_failed(self) -> int:
        """Put failed mentions back in the queue."""
        with Session(self.engine) as session:
            result = session.execute(
                update(Mention)
                .where(Mention.processing_state == ProcessingState.FAILED)
                .values(processing_state=ProcessingState.NEW, processing_attempts=0,
                        claimed_by=None, claim_expires_at=None)
            )
            session.commit()
            return result.rowcount or 0


class Worker:
    """A processing worker's loop: claim and process batches until stopped.

    Idle, it waits ``poll_interval`` seconds, or less when :meth:`wake` is called
    (``harken run`` wakes it after a collection stored something). :meth:`stop`
    lets the batch in hand finish, so SIGTERM never wastes work. A lost database
    connection is logged in one line and retried after 1, 2, 4... seconds (at most
    ``reconnect_max``); the worker then gives back the claims it held, so that they
    need not wait for their lease.
    """

    def __init__(
        self,
        processor: Processor,
        poll_interval: float = 1.0,
        reconnect_max: float = 30.0,
    ) -> None:
        self.processor = processor
        self.poll_interval = poll_interval
        self.reconnect_max = reconnect_max
        self.processed = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Look for new mentions now rather than at the end of the idle wait."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the batch in hand, then return from :meth:`run`."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> int:
        """The loop; returns the number of mentions processed when stopped."""
        try:
            self.processor.warm_up()
        except Exception:
            log.exception("worker %s: warming up the steps failed; the first batch will try again",
                          self.processor.worker_id)
        log.info("worker %s ready", self.processor.worker_id)
        failures = 0
        release_pending = False
        while not self._stop.is_set():
            try:
                if release_pending:
                    released = self.processor.release()
                    release_pending = False
                    if released:
                        log.info("worker %s gave back %d claimed mention(s)", self.processor.worker_id, released)
                done = self.processor.run_once()
            except Exception as error:
                failures += 1
                release_pending = True
                delay = min(self.reconnect_max, 2.0 ** (failures - 1))
                if is_connection_error(error):
                    log.warning("worker %s: database unavailable (%s); retrying in %.0fs",
                                self.processor.worker_id, _first_line(error), delay)
                else:
                    # A bug outside the steps (which fail their batch instead): keep the worker
                    # alive and say so loudly; a dead thread inside `harken run` would go unnoticed.
                    log.exception("worker %s: unexpected error; retrying in %.0fs", self.processor.worker_id, delay)
                self._stop.wait(delay)
                continue
            if failures:
                log.info("worker %s: database reachable again", self.processor.worker_id)
                failures = 0
            self.processed += done
            if done == 0:
                self._wake.wait(self.poll_interval)
                self._wake.clear()
        return self.processed

    def start(self) -> threading.Thread:
        """Run the loop in a daemon thread (``harken run``)."""
        self._thread = threading.Thread(target=self.run, name="processing-worker", daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


class WorkerGroup:
    """Several worker loops in one process, each with its own claims (``<id>/1``, ``<id>/2``...).

    The sentiment model and the language detector release Python's lock while they
    run, so while one loop runs them on its batch another can do the Python and
    database half of its own: two loops keep two cores busy where one leaves one
    idle half the time. The models are shared (one copy per process).
    """

    def __init__(self, make: Callable[[str], Worker], worker_id: str, threads: int = 1) -> None:
        names = [worker_id] if threads == 1 else [f"{worker_id}/{i}" for i in range(1, threads + 1)]
        self.workers = [make(name) for name in names]
        self._threads: list[threading.Thread] = []

    @property
    def processor(self) -> Processor:
        return self.workers[0].processor

    @property
    def processed(self) -> int:
        return sum(worker.processed for worker in self.workers)

    def warm_up(self) -> None:
        # Once, before any thread starts: two threads loading the same model at once would load it twice.
        self.workers[0].processor.warm_up()

    def wake(self) -> None:
        for worker in self.workers:
            worker.wake()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def start(self) -> None:
        """Load the models, then run every loop in a daemon thread (``harken run``)."""
        self.warm_up()
        for number, worker in enumerate(self.workers, start=1):
            thread = threading.Thread(target=worker.run, name=f"processing-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def run(self) -> int:
        """Run every loop until :meth:`stop` (``harken worker``); returns the mentions processed."""
        self.start()
        # Short joins keep the main thread where signal handlers (SIGTERM) can run.
        while any(thread.is_alive() for thread in self._threads):
            self.join(0.5)
        return self.processed


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
