"""The processing stage: batches of new mentions pass through a list of steps.

Steps run in order on one batch inside one transaction (language and sentiment,
profile matching, priority, reply suggestions...). ``listener`` defines the
listening steps; the responders add theirs when they compose the service, since
``listener`` never imports ``responders``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import utcnow
from listener.models import Mention, ProcessingState

log = logging.getLogger(__name__)


class ProcessingStep(Protocol):
    """One thing done to every new mention. ``process`` may change the mentions in place."""

    name: str

    def process(self, session: Session, mentions: Sequence[Mention]) -> None: ...


class Processor:
    """Claims batches of new mentions and runs the steps over them."""

    def __init__(self, engine: Engine, steps: Sequence[ProcessingStep], batch_size: int = 256) -> None:
        self.engine = engine
        self.steps = list(steps)
        self.batch_size = batch_size

    def _claim(self, session: Session) -> list[Mention]:
        statement = (
            select(Mention)
            .where(Mention.processing_state == ProcessingState.NEW)
            .order_by(Mention.id)
            .limit(self.batch_size)
        )
        if self.engine.dialect.name == "postgresql":
            # Several workers can share the queue: each takes rows no one else holds.
            statement = statement.with_for_update(skip_locked=True)
        return list(session.execute(statement).scalars())

    def run_once(self) -> int:
        """Process one batch; returns how many mentions it held (0 when none are new)."""
        with Session(self.engine, expire_on_commit=False) as session:
            batch = self._claim(session)
            if not batch:
                return 0
            try:
                for step in self.steps:
                    step.process(session, batch)
                now = utcnow()
                for mention in batch:
                    mention.processing_state = ProcessingState.PROCESSED
                    mention.processed_at = now
                    mention.processing_error = None
                session.commit()
            except Exception as error:
                session.rollback()
                log.exception("processing a batch of %d mentions failed", len(batch))
                self._mark_failed([m.id for m in batch if m.id is not None], f"{type(error).__name__}: {error}")
            return len(batch)

    def _mark_failed(self, ids: list[int], error: str) -> None:
        # A failed mention stays visible (its triage status is untouched) and can be retried.
        with Session(self.engine) as session:
            session.execute(
                update(Mention)
                .where(Mention.id.in_(ids))  # type: ignore[union-attr]
                .values(processing_state=ProcessingState.FAILED, processing_error=error[:2000])
            )
            session.commit()

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
                .values(processing_state=ProcessingState.NEW)
            )
            session.commit()
            return result.rowcount or 0
