"""The operators' commands end to end: collect from the X simulator, triage and suggest, draft from a
suggestion, approve with an edit, send, export the audit log (SQLite)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from listener.db import make_engine
from listener.models import Mention
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from responders.cli import app
from tests.platforms import env_for
from tests.responders.sender_helpers import sender_settings


@pytest.fixture
def sims() -> Iterator[tuple[XSimulator, RedditSimulator]]:
    with XSimulator() as x, RedditSimulator() as reddit:
        yield x, reddit


def test_the_queue_from_the_command_line(sims, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    x, reddit = sims
    tweet = x.add_tweet("@lumenmobile how do i change my plan?", "billy", "Billy Bob", followers=30)
    x.add_tweet("RT @someone: @lumenmobile is great", "echo", followers=5)
    env = env_for(sender_settings(x, reddit, sqlite_url, reddit={"enabled": False}))
    runner = CliRunner()

    def harken(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    harken("users", "add", "boss@lumen.com", "--name", "Boss", "--role", "admin")
    assert "an admin must add" in harken("users", "add", "eve@lumen.com", "--name", "Eve", "--role", "admin",
                                         code=1)
    harken("users", "add", "ana@lumen.com", "--name", "Ana", "--role", "agent", "--as", "boss@lumen.com")
    harken("users", "add", "pat@lumen.com", "--name", "Pat", "--role", "approver", "--as", "boss@lumen.com")
    assert "may not manage users" in harken("users", "add", "x@lumen.com", "--name", "X", "--role", "admin",
                                            "--as", "ana@lumen.com", code=1)
    assert "approver" in harken("users", "list")

    harken("collect", "--once")  # the responders' steps run inside `harken collect`
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        mention_id = str(session.execute(select(Mention.id).where(Mention.external_id == tweet["id"])).scalar_one())
    engine.dispose()
    listing = harken("queue", "list")
    assert "billy" in listing and "echo" not in listing  # the retweet was ignored by a triage rule
    shown = harken("queue", "show", mention_id)
    assert "rule question" in shown and "Hi Billy, happy to help!" in shown

    assert "Reply 1 is pending_approval" in harken("queue", "draft", mention_id, "--suggestion", "1", "--submit",
                                                   "--as", "ana@lumen.com")
    assert "may not approve" in harken("queue", "approve", "1", "--as", "ana@lumen.com", code=1)
    assert "is approved" in harken("queue", "approve", "1", "--edit", "Hi Billy! Plans: Account > Plan > Change.",
                                   "--as", "pat@lumen.com")
    assert "1 sent" in harken("queue", "send")
    [posted] = x.posted_replies()
    assert posted["text"] == "Hi Billy! Plans: Account > Plan > Change."
    assert posted["referenced_tweets"] == [{"type": "replied_to", "id": tweet["id"]}]
    shown = harken("queue", "show", mention_id)
    assert "sent" in shown and "as submitted: Hi Billy, happy to help!" in shown
    assert "Queue (0)" in harken("queue", "list")  # answered: now waiting on the customer
    assert "Queue (1)" in harken("queue", "list", "--status", "waiting")

    assert "may not read audit" in harken("audit", "export", "--as", "ana@lumen.com", code=1)
    out = tmp_path / "audit.csv"
    harken("audit", "export", "--format", "csv", "--out", str(out), "--as", "boss@lumen.com")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    done = [(row["actor"], row["action"]) for row in rows]
    for step in [
        ("system:config", "settings.change"), ("system:bootstrap", "user.create"),
        ("boss@lumen.com", "user.create"), ("system:triage", "mention.status"), ("ana@lumen.com", "reply.draft"),
        ("ana@lumen.com", "reply.submit"), ("pat@lumen.com", "reply.edit"), ("pat@lumen.com", "reply.approve"),
        ("system:sender", "reply.sending"), ("system:sender", "reply.sent"), ("system:sender", "mention.status"),
    ]:
        assert step in done, step
    exported = [json.loads(line) for line in harken("audit", "export").splitlines() if line.startswith("{")]
    assert [(e["actor"], e["action"]) for e in exported] == done


def test_harken_run_schedules_the_sender_and_the_priority_refresh(sims, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    from listener.collecting import CollectionRunner
    from listener.scheduler import build_scheduler
    from responders.service import add_responder_jobs

    x, reddit = sims
    settings = sender_settings(x, reddit, sqlite_url, sender={"interval_seconds": 7})
    engine = make_engine(sqlite_url)
    scheduler = build_scheduler(settings, CollectionRunner(engine, settings))
    add_responder_jobs(scheduler, engine, settings)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert jobs["send"].trigger.interval.total_seconds() == 7 and jobs["send"].executor == "responders"
    assert jobs["refresh-priorities"].trigger.interval.total_seconds() == settings.triage.refresh_interval_seconds
    engine.dispose()
