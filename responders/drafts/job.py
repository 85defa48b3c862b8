"""The background job that answers draft requests, so processing never waits on the model.

The suggestion step records a ``draft_requests`` row for each mention it gave
suggestions to. This job (``harken run`` schedules it every ``[scheduler]
processing_interval_seconds`` on its own thread) takes the oldest pending ones,
reads their grounding and asks the model with no write transaction open, then in
one short transaction per mention stores the checked draft among the stored
suggestions (``responders.suggestions.insert_ranked``) and writes the audit log:
``suggestion.drafted`` with the model, or ``draft.discarded`` with the checks it
failed, or, after ``max_attempts`` runs without a usable answer,
``draft.failed``. The request keeps the reason for the notice on the mention page.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import utcnow
from listener.models import DraftRequest, Mention
from listener.settings import Settings
from responders.audit import SYSTEM_DRAFTS, record
from responders.sources.drafts import DRAFTED, FAILED, REJECTED, DraftOutcome, DraftSource
from responders.suggestions import insert_ranked, make_batch

PENDING = "pending"


@dataclass
class DraftRun:
    drafted: int = 0
    rejected: int = 0
    failed: int = 0
    retrying: int = 0


class DraftJob:
    """Answers pending draft requests, a few per run."""

    def __init__(self, engine: Engine, settings: Settings, source: DraftSource | None = None,
                 batch_size: int = 8, max_attempts: int = 3) -> None:
        self.engine = engine
        self.settings = settings
        self.source = source or DraftSource(settings)
        self.batch_size = batch_size
        self.max_attempts = max_attempts

    def run_pending(self) -> DraftRun:
        """One run: the oldest pending requests, each drafted, discarded or failed (and retried later)."""
        run = DraftRun()
        with Session(self.engine) as session:
            mentions = list(session.execute(
                select(Mention).join(DraftRequest, DraftRequest.mention_id == Mention.id)  # type: ignore[arg-type]
                .where(DraftRequest.state == PENDING).order_by(DraftRequest.requested_at, DraftRequest.mention_id)
                .limit(self.batch_size)
            ).scalars())
            if not mentions:
                return run
            outcomes = self.source.draft(make_batch(session, mentions, self.settings))
        for mention_id, outcome in outcomes.items():
            with Session(self.engine) as session:
                self._store(session, mention_id, outcome, run)
                session.commit()
        return run

    def _store(self, session: Session, mention_id: int, outcome: DraftOutcome, run: DraftRun) -> None:
        request = session.get(DraftRequest, mention_id)
        if request is None or request.state != PENDING:
            return  # answered meanwhile by another run
        request.attempts += 1
        request.attempted_at = utcnow()
        request.model = outcome.model
        request.detail = outcome.detail
        if outcome.state == DRAFTED and outcome.proposal is not None:
            request.state = DRAFTED
            suggestion = insert_ranked(session, mention_id, outcome.proposal)
            if suggestion is not None:
                record(session, SYSTEM_DRAFTS, "suggestion.drafted", suggestion,
                       after={"model": outcome.model, "text": suggestion.text, "rank": suggestion.rank,
                              "score": suggestion.score, "shortened": outcome.shortened,
                              "seconds": round(outcome.seconds, 3)})
            run.drafted += 1
        elif outcome.state == REJECTED:
            request.state = REJECTED
            record(session, SYSTEM_DRAFTS, "draft.discarded", ("mention", mention_id),
                   after={"model": outcome.model, "problems": outcome.problems})
            run.rejected += 1
        elif request.attempts >= self.max_attempts:
            request.state = FAILED
            record(session, SYSTEM_DRAFTS, "draft.failed", ("mention", mention_id),
                   after={"model": outcome.model, "reason": outcome.detail, "attempts": request.attempts})
            run.failed += 1
        else:
            run.retrying += 1  # still pending: the next run asks again; the page already says why
        session.flush()


def add_draft_jobs(scheduler, engine: Engine, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """The drafts job on its own thread, for ``harken run``; nothing when ``[drafts] enabled`` is off."""
    if not (settings.drafts.enabled and settings.drafts.model):
        return
    from datetime import UTC, datetime

    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.triggers.interval import IntervalTrigger

    job = DraftJob(engine, settings)
    scheduler.add_executor(ThreadPoolExecutor(max_workers=1), alias="drafts")
    scheduler.add_job(job.run_pending, IntervalTrigger(seconds=settings.scheduler.processing_interval_seconds,
                                                       timezone=UTC),
                      id="drafts", name="draft replies with the team's model", executor="drafts",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
