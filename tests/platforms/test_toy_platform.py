"""A platform defined only here, registered at run time, goes through all of Harken untouched.

The toy platform has its own settings section, a collector, a publisher, a text rule
(every character counts twice, 40 at most), a handle style (``~alice``) and a tiny
simulator. Nothing outside this file knows it: collection, triage, suggestions,
approval and exactly-once sending all reach it through the registry.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from pydantic import Field
from sqlalchemy import select
from sqlmodel import Session

from listener import platforms
from listener.collecting import CollectionRunner
from listener.db import make_engine
from listener.models import Mention, Reply, Suggestion
from listener.platforms.base import Platform
from listener.platforms.collector import CollectedAuthor, CollectedMention, Collector, Page, SourceSpec
from listener.platforms.publisher import DeliveryUncertain, PostedReply
from listener.processing import Processor
from listener.sections import Section
from listener.settings import load_settings
from listener.simulators import Fault
from listener.simulators.server import HttpError, SimRequest, SimResponse, SimulatorServer
from responders.context import context_for
from responders.sender import Sender
from responders.suggestions import SuggestionStep
from responders.triage import NEEDS_ANSWER, TriageStep
from tests.responders.helpers import add_staff
from tests.responders.sender_helpers import reply_in_state

TOY_LIMIT = 40


class ToySimulator(SimulatorServer):
    """Mentions of the brand at ``GET /mentions?after=N``; replies at ``POST /replies`` and ``GET /replies``."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def add_note(self, author: str, text: str) -> dict[str, Any]:
        note = {"id": next(self._ids), "author": author, "text": text, "at": datetime.now(UTC).isoformat()}
        self.notes.append(note)
        return note

    def handle(self, request: SimRequest) -> SimResponse:
        if request.method == "GET" and request.path == "/mentions":
            after = int(request.query.get("after", "0"))
            return SimResponse(200, [note for note in self.notes if note["id"] > after][:2])
        if request.method == "POST" and request.path == "/replies":
            body = request.json()
            reply = {"id": next(self._ids), "parent": body["parent"], "text": body["text"], "author": "brand"}
            self.replies.append(reply)
            return SimResponse(201, reply)
        if request.method == "GET" and request.path == "/replies":
            return SimResponse(200, [r for r in self.replies if str(r["parent"]) == request.query.get("parent")])
        raise HttpError(404, {"error": "no such route"})

    def fault_response(self, fault: Fault, request: SimRequest) -> SimResponse:
        return SimResponse(fault.status or 500, {"error": "toy trouble"})


class ToySettings(Section):
    enabled: bool = False
    base_url: str = ""
    interval_seconds: int = Field(default=60, gt=0)


class ToyMentions(Collector):
    kind: ClassVar[str] = "toy_mentions"
    platform: ClassVar[str] = "toy"
    description: ClassVar[str] = "Collects every note that mentions the brand on the toy platform."

    @classmethod
    def specs(cls, section: ToySettings) -> list[SourceSpec]:
        if not section.enabled:
            return []
        return [SourceSpec("toy:mentions", cls.kind, "toy", section.interval_seconds)]

    @classmethod
    def make_client(cls, section: ToySettings) -> requests.Session:
        return requests.Session()

    def check(self, cursor: dict[str, Any]) -> Iterator[Page]:
        after = int(cursor.get("after", 0))
        while True:
            notes = self.client.get(f"{self.section.base_url}/mentions", params={"after": after}, timeout=5).json()
            if not notes:
                return
            after = max(note["id"] for note in notes)
            yield Page(
                mentions=[
                    CollectedMention(
                        platform="toy", external_id=str(note["id"]), kind="note", text=note["text"],
                        url=f"{self.section.base_url}/notes/{note['id']}",
                        created_at=datetime.fromisoformat(note["at"]), raw=note,
                        author=CollectedAuthor("toy", note["author"], note["author"]),
                    )
                    for note in notes
                ],
                cursor={"after": after},
            )


class ToyPublisher:
    platform: ClassVar[str] = "toy"

    def __init__(self, section: ToySettings) -> None:
        self.base_url = section.base_url

    def post_reply(self, mention: Mention, text: str) -> PostedReply:
        try:
            answer = requests.post(f"{self.base_url}/replies", json={"parent": mention.external_id, "text": text},
                                   timeout=5)
        except requests.RequestException as error:
            raise DeliveryUncertain(str(error)) from None
        if answer.status_code >= 500:
            raise DeliveryUncertain(f"toy answered {answer.status_code}")
        return PostedReply(str(answer.json()["id"]))

    def find_own_reply(self, mention: Mention, since: datetime) -> PostedReply | None:
        found = requests.get(f"{self.base_url}/replies", params={"parent": mention.external_id}, timeout=5).json()
        return PostedReply(str(found[0]["id"])) if found else None


class ToyPlatform(Platform):
    name: ClassVar[str] = "toy"
    title: ClassVar[str] = "Toy"
    section = ToySettings
    collectors = (ToyMentions,)
    mention_kinds: ClassVar[tuple[str, ...]] = ("note",)
    reply_limit: ClassVar[int] = TOY_LIMIT
    length_unit: ClassVar[str] = "toy units"
    handle_prefix: ClassVar[str] = "~"
    crm_column: ClassVar[str] = "toy_handle"

    def reply_length(self, text: str) -> int:
        return 2 * len(text)

    def publisher(self, section: ToySettings, lookup_pages: int) -> ToyPublisher:  # type: ignore[override]
        return ToyPublisher(section)

    @contextlib.contextmanager
    def simulator(self, corpus: Sequence[Any]) -> Iterator[ToySimulator]:
        with ToySimulator() as simulator:
            yield simulator


RULES = """
[intents]
outage = ["down", "outage"]

[[rules]]
name = "outage-short"
description = "Fits the toy limit (17 characters count 34)."
score = 0.9
when = { intents = ["outage"], platforms = ["toy"], kinds = ["note"] }
templates = ["{handle} on it!", "We are looking into the outage right now, sorry."]
"""


@pytest.fixture
def toy() -> Iterator[ToySimulator]:
    platforms.register(ToyPlatform())
    try:
        with ToySimulator() as simulator:
            yield simulator
    finally:
        platforms.unregister("toy")


def test_a_toy_platform_is_collected_triaged_suggested_and_answered_exactly_once(
    toy: ToySimulator, db_url: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    settings = load_settings(
        database={"url": db_url},
        sentiment={"enabled": False},
        replies={"rules_file": str(rules), "similar_replies": False},
        toy={"enabled": True, "base_url": toy.base_url},
    )
    for n in range(3):
        toy.add_note(f"user{n}", f"the service is down again #{n}")
    engine = make_engine(db_url)

    runner = CollectionRunner(engine, settings)
    assert [spec.name for spec in runner.sync_sources()] == ["toy:mentions"]
    summaries = runner.run_all()
    assert [(s.source, s.status, s.stored) for s in summaries] == [("toy:mentions", "ok", 3)]
    assert runner.run("toy:mentions").stored == 0  # resumed from its cursor: nothing twice

    Processor(engine, [TriageStep(settings), SuggestionStep(settings)]).run_until_empty()
    with Session(engine, expire_on_commit=False) as session:
        mentions = session.execute(select(Mention).order_by(Mention.id)).scalars().all()
        assert {m.platform for m in mentions} == {"toy"}
        assert all(m.priority_level and m.status in NEEDS_ANSWER for m in mentions)
        suggested = session.execute(select(Suggestion.text).where(Suggestion.mention_id == mentions[0].id)).all()
        assert [text for (text,) in suggested] == ["~user0 on it!"]  # the long template is over the toy limit
        assert context_for(session, mentions[0], settings).at_handle == "~user0"

    team = [add_staff(engine, f"{name}@lumen.com", role) for name, role in
            (("ana", "agent"), ("pat", "approver"), ("quinn", "approver"))]
    with pytest.raises(platforms.ReplyTooLong, match=r"limit is 40"):
        reply_in_state(engine, settings, mentions[0], "x" * 21, "approved", team[0], team[1:])
    reply = reply_in_state(engine, settings, mentions[0], "~user0 on it!", "approved", team[0], team[1:])
    toy.add_fault(Fault("/replies", method="POST", status_after=502))  # posted, but the answer is lost
    assert Sender(engine, settings).send_pending().uncertain == [reply.id]
    again = Sender(engine, settings).send_pending()
    assert again.found == [reply.id] and again.sent == []
    assert [r["text"] for r in toy.replies] == ["~user0 on it!"]
    with Session(engine) as session:
        assert session.get(Reply, reply.id).platform_reply_id == str(toy.replies[0]["id"])  # type: ignore[union-attr]
    engine.dispose()
