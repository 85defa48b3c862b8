"""Internal notes never leave Harken: the sender posts the approved reply and nothing of the notes on its
mention, and ``harken export mentions`` (JSON lines and CSV) holds none of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from listener.db import make_engine
from listener.models import Mention
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from responders.cli import app
from responders.notes import add_note
from responders.sender import Sender
from tests.responders.helpers import add_mention, add_staff
from tests.responders.sender_helpers import reply_in_state, sender_settings

SECRET = "INTERNAL-ONLY refund 4711 was approved by @pat, do not promise more"


def _everything_sent(*simulators: XSimulator | RedditSimulator) -> str:
    """Every request the platforms received: method, path, query and body, as one text to search."""
    return "\n".join(f"{r.method} {r.path} {r.query} {r.body.decode('utf-8', 'replace')}"
                     for simulator in simulators for r in simulator.requests)


def test_the_sender_posts_the_reply_and_nothing_of_the_notes(
        platforms: tuple[XSimulator, RedditSimulator], sqlite_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    x, reddit = platforms
    settings = sender_settings(x, reddit, sqlite_url)
    engine = make_engine(sqlite_url)
    agent = add_staff(engine, "ana@lumen.com", "agent")
    approver = add_staff(engine, "pat@lumen.com", "approver")
    tweet = x.add_tweet("@lumenmobile where is my refund", "billy", "Billy Bob")
    mention = add_mention(engine, tweet["text"], external_id=tweet["id"], handle="billy")
    with Session(engine) as session:
        view = add_note(session, session.get(Mention, mention.id), agent, SECRET)  # type: ignore[arg-type]
        assert [user.email for user in view.mentioned] == ["pat@lumen.com"]
        session.commit()
    reply = reply_in_state(engine, settings, mention, "Sorry Billy, your refund is on its way.", "approved",
                           agent, [approver])
    x.clear_requests()

    assert Sender(engine, settings).send_pending().sent == [reply.id]
    [posted] = x.posted_replies()
    assert posted["text"] == "Sorry Billy, your refund is on its way."
    sent = _everything_sent(x, reddit)
    assert "/2/tweets" in sent  # the reply itself went out through the platform's API
    for fragment in ("INTERNAL-ONLY", "4711", "do not promise"):
        assert fragment not in sent

    monkeypatch.setenv("HARKEN_DATABASE__URL", sqlite_url)
    for fmt in ("jsonl", "csv"):
        out = tmp_path / f"mentions.{fmt}"
        result = CliRunner().invoke(app, ["export", "mentions", "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        exported = out.read_text(encoding="utf-8")
        assert "where is my refund" in exported  # the mention is there ...
        assert "INTERNAL-ONLY" not in exported and "4711" not in exported  # ... its note is not
    engine.dispose()
