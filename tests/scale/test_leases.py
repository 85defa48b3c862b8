"""Leased claims, in one process on both databases: what several workers rely on."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from listener.db import utcnow
from listener.models import Mention, Suggestion
from listener.processing import Processor, Worker
from listener.settings import Settings
from responders.suggestions import SuggestionStep
from responders.triage import TriageStep
from tests.responders.helpers import add_mention, make_settings

QUESTION = "@lumenmobile how do i move my number to a new phone?"


def steps(settings: Settings) -> list:
    return [TriageStep(settings), SuggestionStep(settings)]


def rows(engine: Engine) -> list[Mention]:
    with Session(engine) as session:
        return list(session.execute(select(Mention).order_by(Mention.id)).scalars())


def suggestions(engine: Engine) -> list[tuple[int, int]]:
    with Session(engine) as session:
        return list(session.execute(select(Suggestion.mention_id, Suggestion.rank)).all())


class Meanwhile:
    """A first step that lets another worker do something while this worker's batch is in hand."""

    name = "meanwhile"

    def __init__(self, action) -> None:  # type: ignore[no-untyped-def]
        self.action = action

    def process(self, session: Session, mentions: Sequence[Mention]) -> None:
        self.action()


def test_a_worker_that_outlived_its_lease_writes_nothing_and_the_other_workers_results_stand(
    engine: Engine, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(db_url)
    for _ in range(3):
        add_mention(engine, QUESTION)
    fast = Processor(engine, steps(settings), worker_id="fast")
    # The slow worker's lease has run out by the time it finishes (a negative lease: already over).
    slow = Processor(engine, [Meanwhile(fast.run_once), *steps(settings)], lease_seconds=-1, worker_id="slow")

    assert slow.run_once() == 3
    assert "were claimed by another worker" in caplog.text
    assert {(m.processing_state, m.claimed_by, m.processing_attempts) for m in rows(engine)} == {("processed", None, 2)}
    ranks = suggestions(engine)
    assert len(ranks) == len(set(ranks)) == 3  # the fast worker's one suggestion each, not the slow one's too


def test_a_dead_workers_batch_is_claimed_again_once_its_lease_runs_out(engine: Engine, db_url: str) -> None:
    settings = make_settings(db_url)
    ids = [add_mention(engine, QUESTION).id for _ in range(3)]
    dead = Processor(engine, steps(settings), lease_seconds=60, worker_id="dead")
    alive = Processor(engine, steps(settings), lease_seconds=60, worker_id="alive")
    assert dead.claim() == ids  # ...and then the process is killed

    assert alive.run_once() == 0  # within the lease the batch is not anyone else's
    assert alive.claim(now=utcnow() + timedelta(seconds=61)) == ids
    assert {(m.claimed_by, m.processing_attempts) for m in rows(engine)} == {("alive", 2)}


def test_a_mention_whose_claims_keep_running_out_is_failed_not_claimed_forever(engine: Engine, db_url: str) -> None:
    settings = make_settings(db_url)
    add_mention(engine, QUESTION)
    processor = Processor(engine, steps(settings), lease_seconds=60, max_attempts=2, worker_id="crashy")
    now = utcnow()
    assert processor.claim(now) and processor.claim(now + timedelta(seconds=61))
    assert processor.claim(now + timedelta(seconds=122)) == []
    [mention] = rows(engine)
    assert mention.processing_state == "failed"
    assert mention.processing_error is not None and "ran out 2 time(s)" in mention.processing_error
    assert processor.retry_failed() == 1
    assert processor.run_until_empty() == 1
    assert [m.processing_state for m in rows(engine)] == ["processed"]


def test_the_database_refuses_a_second_suggestion_of_the_same_rank(engine: Engine) -> None:
    mention = add_mention(engine, QUESTION)
    with Session(engine) as session:
        session.add(Suggestion(mention_id=mention.id, text="Happy to help!", origin="rule", rank=1))
        session.commit()
        session.add(Suggestion(mention_id=mention.id, text="Happy to help!", origin="rule", rank=1))
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_worker_thread_processes_what_arrives_and_stops_when_told(engine: Engine, db_url: str) -> None:
    settings = make_settings(db_url)
    worker = Worker(Processor(engine, steps(settings), batch_size=2), poll_interval=60)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (worker.run(), done.set()))
    thread.start()
    try:
        for _ in range(5):
            add_mention(engine, QUESTION)
        worker.wake()  # a collection stored something: no need to wait out the poll interval
        deadline = utcnow() + timedelta(seconds=60)
        while worker.processed < 5 and utcnow() < deadline:
            done.wait(0.05)
    finally:
        worker.stop()
        thread.join(30)
    assert done.is_set()
    assert worker.processed == 5
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Mention).where(
            Mention.processing_state == "processed")) == 5
