"""The inbox's query against the obvious one: every mention into Python, filtered and sorted there.

``responders.inbox.search`` reads a page through the index of open mentions (and,
for a few authors, through the author index); whichever way, its pages must be
exactly those of the plain definition: priority level (urgent, high, normal, low, none
last), overdue first within a level, then priority highest first, SLA due soonest first
(none last), then posted, then id. Ties, missing priorities and SLAs, SLAs past and
to come, every status and the pages' boundaries are all in the data below.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Author, Mention, Reply, StaffUser
from responders import inbox
from responders.triage import NEEDS_ANSWER, OPEN, STATUSES, level_for

T0 = datetime(2026, 10, 1, tzinfo=UTC)
LATER = datetime.now(UTC) + timedelta(days=30)  # an SLA not yet due (T0's are long past)
UNSCORED = (None, "unscored")


def _fill(engine: Engine, n: int = 150) -> tuple[list[dict[str, Any]], dict[int, str]]:
    rng = random.Random(5)
    with Session(engine, expire_on_commit=False) as session:
        staff = [StaffUser(email=f"agent{i}@example.test", name=f"Agent {i}", role="agent") for i in range(3)]
        authors = [Author(platform="x", platform_user_id=str(i), handle=f"fan{i}") for i in range(12)]
        session.add_all(staff + authors)
        session.flush()
        rows = []
        for i in range(n):
            author = rng.choice(authors)
            status = rng.choice(STATUSES)
            priority = rng.choice((None, 12.0, 20.0, 45.5, 45.5, 60.0, 80.0))
            mention = Mention(
                platform=rng.choice(("x", "reddit")), external_id=str(i), kind="tweet", author_id=author.id,
                text=rng.choice(("refund please", "love it", "where is my order")), url=f"https://x.test/{i}",
                # Few distinct values: ties are the rule, so every part of the order matters.
                created_at=T0 + timedelta(hours=12 * rng.randrange(5)), raw="{}",
                # Unscored: never scored (no label), or in a language without a model ("unscored").
                sentiment_label=rng.choice(("negative", "neutral", "positive", None, "unscored")),
                # Triage writes the level with the score: the level is the score's range.
                status=status, priority=priority, priority_level=None if priority is None else level_for(priority),
                sla_due_at=rng.choice((None, T0 + timedelta(hours=1), T0 + timedelta(hours=2), LATER,
                                       LATER + timedelta(hours=1))),
                assignee_id=staff[0].id if status == "assigned" else rng.choice((None, staff[1].id)),
            )
            session.add(mention)
            session.flush()
            if rng.random() < 0.2:
                session.add(Reply(mention_id=mention.id, state="pending_approval", text="sorry"))
            rows.append({"id": mention.id, "status": status, "platform": mention.platform,
                         "sentiment": mention.sentiment_label, "priority": mention.priority,
                         "sla": mention.sla_due_at, "created": mention.created_at, "handle": author.handle,
                         "text": mention.text, "assignee": mention.assignee_id, "level": mention.priority_level})
        session.commit()
        return rows, {s.id: s.email for s in staff}  # type: ignore[misc]


def _expected(rows: list[dict[str, Any]], keep: Any) -> list[int]:
    far = datetime.max.replace(tzinfo=UTC)
    chosen = [r for r in rows if keep(r)]
    now = datetime.now(UTC)
    chosen.sort(key=lambda r: (_level(r["priority"]),
                               not (r["status"] in OPEN and r["sla"] is not None and r["sla"] < now),
                               r["priority"] is None, -(r["priority"] or 0), r["sla"] is None, r["sla"] or far,
                               r["created"], r["id"]))
    return [r["id"] for r in chosen]


def _level(priority: float | None) -> int:
    """The rank of the priority level: urgent (70 and over) 0, high (45) 1, normal (20) 2, low 3, none 4."""
    if priority is None:
        return 4
    return next(rank for rank, floor in enumerate((70.0, 45.0, 20.0)) if priority >= floor) \
        if priority >= 20.0 else 3


def _pages(engine: Engine, wanted: inbox.InboxFilter, size: int = 7) -> list[int]:
    """Every page in turn, as the pager walks them; checks has_more on the way."""
    found: list[int] = []
    with Session(engine) as session:
        while True:
            page = inbox.search(session, wanted, limit=size, offset=len(found))
            found += [item.mention_id for item in page.items]
            if not page.has_more:
                return found
            assert len(page.items) == size


@pytest.mark.parametrize(("few_authors", "few_due", "many_matches", "few_of_a_sentiment"), [
    (500, 2000, 5000, 5000), (1, 2000, 5000, 5000), (500, 0, 5000, 5000),
    (500, 2000, 0, 5000),  # every word common: a sentiment's few open mentions are read through their index
    (500, 2000, 0, 0),  # every word and every sentiment common: the walk checks each row's text
])
def test_every_filter_pages_through_in_the_queue_order(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                        few_authors: int, few_due: int, many_matches: int,
                                                        few_of_a_sentiment: int) -> None:
    monkeypatch.setattr(inbox, "FEW_AUTHORS", few_authors)  # 1: "@fan1" matches fan1, fan10, fan11: the walk
    # 2000: the overdue mentions and those not due yet are few, read by due time; 0: each walks the levels.
    monkeypatch.setattr(inbox, "FEW_DUE", few_due)
    monkeypatch.setattr(inbox, "MANY_MATCHES", many_matches)
    monkeypatch.setattr(inbox, "FEW_OF_A_SENTIMENT", few_of_a_sentiment)
    rows, staff = _fill(engine)
    agent0 = next(i for i, email in staff.items() if email == "agent0@example.test")
    cases: list[tuple[inbox.InboxFilter, Any]] = [
        (inbox.InboxFilter(), lambda r: r["status"] in NEEDS_ANSWER),
        (inbox.InboxFilter(statuses=OPEN), lambda r: r["status"] in OPEN),
        (inbox.InboxFilter(statuses=("waiting",)), lambda r: r["status"] == "waiting"),
        (inbox.InboxFilter(statuses=STATUSES), lambda r: True),
        (inbox.InboxFilter(statuses=("resolved", "new")), lambda r: r["status"] in ("resolved", "new")),
        (inbox.InboxFilter(platform="reddit", sentiment="negative"),
         lambda r: r["status"] in NEEDS_ANSWER and r["platform"] == "reddit" and r["sentiment"] == "negative"),
        # one platform's open mentions: walked through ix_mentions_open_platform on SQLite
        (inbox.InboxFilter(platform="x", statuses=OPEN), lambda r: r["status"] in OPEN and r["platform"] == "x"),
        (inbox.InboxFilter(text="refund", platform="reddit", sentiment="unscored"),
         lambda r: r["status"] in NEEDS_ANSWER and r["platform"] == "reddit" and r["sentiment"] in UNSCORED
         and "refund" in r["text"]),
        (inbox.InboxFilter(text="refund", sentiment="negative", statuses=OPEN),
         lambda r: r["status"] in OPEN and r["sentiment"] == "negative" and "refund" in r["text"]),
        (inbox.InboxFilter(text="order", sentiment="positive", statuses=("waiting",)),
         lambda r: r["status"] == "waiting" and r["sentiment"] == "positive" and "order" in r["text"]),
        (inbox.InboxFilter(text="it", sentiment="unscored", platform="x"),  # too short for the word's index
         lambda r: r["status"] in NEEDS_ANSWER and r["sentiment"] in UNSCORED and r["platform"] == "x"
         and "it" in r["text"]),
        (inbox.InboxFilter(text="fan", sentiment="neutral", statuses=OPEN),  # every handle: the authors are many
         lambda r: r["status"] in OPEN and r["sentiment"] == "neutral" and "fan" in r["handle"]),
        (inbox.InboxFilter(text="refund", sentiment="negative", overdue=True, statuses=STATUSES),
         lambda r: r["status"] in OPEN and r["sentiment"] == "negative" and "refund" in r["text"]
         and r["sla"] is not None and r["sla"] < datetime.now(UTC)),
        (inbox.InboxFilter(text="refund", sentiment="negative", statuses=STATUSES),
         lambda r: r["sentiment"] == "negative" and "refund" in r["text"]),
        (inbox.InboxFilter(overdue=True, platform="x", statuses=OPEN),
         lambda r: r["status"] in OPEN and r["platform"] == "x" and r["sla"] is not None
         and r["sla"] < datetime.now(UTC)),
        (inbox.InboxFilter(sentiment="unscored"), lambda r: r["status"] in NEEDS_ANSWER and r["sentiment"] in UNSCORED),
        (inbox.InboxFilter(priority_level="high", assignee="unassigned"),
         lambda r: r["status"] in NEEDS_ANSWER and r["level"] == "high" and r["assignee"] is None),
        # a level asked for: only that level's range of the order is walked
        (inbox.InboxFilter(priority_level="urgent", platform="reddit", sentiment="unscored"),
         lambda r: r["status"] in NEEDS_ANSWER and r["level"] == "urgent" and r["platform"] == "reddit"
         and r["sentiment"] in UNSCORED),
        (inbox.InboxFilter(priority_level="low", statuses=STATUSES), lambda r: r["level"] == "low"),
        (inbox.InboxFilter(priority_level="normal", text="refund", statuses=OPEN),
         lambda r: r["status"] in OPEN and r["level"] == "normal" and "refund" in r["text"]),
        (inbox.InboxFilter(assignee="agent0@example.test"),
         lambda r: r["status"] in NEEDS_ANSWER and r["assignee"] == agent0),
        (inbox.InboxFilter(text="REFUND"), lambda r: r["status"] in NEEDS_ANSWER and "refund" in r["text"]),
        (inbox.InboxFilter(text="@fan1"), lambda r: r["status"] in NEEDS_ANSWER and "fan1" in r["handle"]),
        (inbox.InboxFilter(text="@fan3", statuses=STATUSES), lambda r: r["handle"] == "fan3"),
        (inbox.InboxFilter(text="@nobody"), lambda r: False),
        (inbox.InboxFilter(since=T0.date(), until=T0.date(), statuses=OPEN),
         lambda r: r["status"] in OPEN and r["created"] < T0 + timedelta(days=1)),
        (inbox.InboxFilter(since=(T0 + timedelta(days=1)).date()),
         lambda r: r["status"] in NEEDS_ANSWER and r["created"] >= T0 + timedelta(days=1)),
        (inbox.InboxFilter(until=(T0 + timedelta(days=1)).date(), statuses=STATUSES),
         lambda r: r["created"] < T0 + timedelta(days=2)),
        (inbox.InboxFilter(overdue=True, statuses=OPEN),
         lambda r: r["status"] in OPEN and r["sla"] is not None and r["sla"] < datetime.now(UTC)),
    ]
    for wanted, keep in cases:
        assert _pages(engine, wanted) == _expected(rows, keep), wanted


def test_a_row_shows_its_open_reply_and_assignee(engine: Engine) -> None:
    rows, staff = _fill(engine, 40)
    with Session(engine) as session:
        items = inbox.search(session, inbox.InboxFilter(statuses=STATUSES), limit=100).items
        replies = {r.mention_id: (r.id, r.state) for r in session.execute(select(Reply)).scalars()}
    assignees = {r["id"]: r["assignee"] for r in rows}
    for item in items:
        assert (item.reply_id, item.reply_state) == replies.get(item.mention_id, (None, None))
        assert item.assignee == staff.get(assignees[item.mention_id])  # type: ignore[arg-type]


def test_a_common_word_in_a_rarer_sentiment_reads_only_that_sentiments_mentions(
        sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite a word too common for its index, narrowed to a sentiment with few open mentions, reads those
    through ix_mentions_open_sentiment (migration 0022); with many of them, it walks the queue's order."""
    from sqlalchemy import event

    rows, _ = _fill(sqlite_engine)
    monkeypatch.setattr(inbox, "MANY_MATCHES", 0)  # the word's index finds "too many"
    monkeypatch.setattr(inbox, "FEW_DUE", 0)  # nor are the overdue ones few: the walk is the other way
    wanted = inbox.InboxFilter(text="refund", platform="reddit", sentiment="unscored")
    expected = _expected(rows, lambda r: r["status"] in NEEDS_ANSWER and r["platform"] == "reddit"
                         and r["sentiment"] in UNSCORED and "refund" in r["text"])
    assert expected, "the data should hold such mentions"
    statements: list[str] = []
    event.listen(sqlite_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    # Counted through the sentiment's index first, either way: read through it when few, else walked.
    for few, through in ((5000, {"ix_mentions_open_sentiment"}),
                         (0, {"ix_mentions_open_sentiment", "ix_mentions_open_platform"})):
        monkeypatch.setattr(inbox, "FEW_OF_A_SENTIMENT", few)
        statements.clear()
        assert _pages(sqlite_engine, wanted, size=100) == expected
        used = {index for index in ("ix_mentions_open_sentiment", "ix_mentions_open_platform")
                if any(f"INDEXED BY {index}" in statement for statement in statements)}
        assert used == through, (few, used)
