"""The sender: posts approved replies through the platform clients, exactly once.

The protocol, for each approved reply:

1. **Intent first.** In its own committed transaction the reply moves
   ``approved -> sending`` with one more attempt and the time of the attempt
   (``sending_started_at``), audited. Only then is the platform called.
2. **Call.** The platform's publisher (``listener/platforms/<name>/publisher.py``,
   from the registry) posts the reply once; it never retries a write itself.
3. **Record.** The platform's id is committed (``sent``), or the platform's own
   message (``failed``) when it certainly refused; a person may retry or reject a
   failed reply. When the answer is unclear (timeout, lost connection, 5xx) the
   reply stays ``sending``.

A reply found in ``sending`` when the sender starts a run was interrupted: the
process died between 1 and 3, or the answer was unclear. Before anything is posted
again the sender **looks on the platform** for the brand account's own reply to
that mention made since the attempt began (minus ``[sender] clock_skew_seconds``),
through the publisher's ``find_own_reply`` (the brand's own recent posts, or the
mention's thread, whichever the platform offers). Found: it is recorded as sent with that id. Certainly
not there: it is posted again (a new attempt, intent first), up to ``[sender]
max_attempts`` in all, then failed for a person. The look-up itself failing
leaves the reply ``sending`` for the next run: nothing is posted on a guess.

Only one sender works at a time (``responders.locks``), so two processes never
reconcile the same reply at once. Replies in any other state (draft, pending,
rejected...) are never read by the sender at all.

Limit: a platform whose own timeline lags behind its writes could hide a just-made
reply from the look-up; each publisher says how its platform behaves.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Mention, Reply, StaffUser
from listener.platforms import make_publisher
from listener.platforms.publisher import (
    DeliveryUncertain,
    PlatformRejected,
    Publisher,
    PublishError,
    PublisherUnavailable,
)
from listener.settings import Settings
from responders import workflow
from responders.locks import LockBusy, exclusive

log = logging.getLogger(__name__)


@dataclass
class SendReport:
    """What one run did, by reply id."""

    sent: list[int] = field(default_factory=list)
    found: list[int] = field(default_factory=list)  # interrupted, then found on the platform
    failed: list[int] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)
    busy: bool = False

    def summary(self) -> str:
        if self.busy:
            return "another sender is running; nothing done"
        return (f"{len(self.sent)} sent, {len(self.found)} found already posted, {len(self.failed)} failed, "
                f"{len(self.uncertain)} left to check")


class Sender:
    """Posts approved replies; see the module docstring for the exactly-once protocol."""

    def __init__(self, engine: Engine, settings: Settings, publishers: Mapping[str, Publisher] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self._publishers: dict[str, Publisher] = dict(publishers or {})

    def publisher(self, platform: str) -> Publisher:
        if platform not in self._publishers:
            self._publishers[platform] = make_publisher(platform, self.settings, self.settings.sender.lookup_pages)
        return self._publishers[platform]

    def send_pending(self) -> SendReport:
        """Reconcile interrupted sends, then post every approved reply once."""
        report = SendReport()
        try:
            with exclusive(self.engine, "sender"):
                self._reconcile(report)
                self._send_approved(report)
        except LockBusy:
            report.busy = True
        return report

    def retry(self, reply_id: int, by: StaffUser) -> SendReport:
        """A person retries a failed reply: it is approved again and sent now."""
        with Session(self.engine, expire_on_commit=False) as session:
            workflow.retry(session, workflow.get_reply(session, reply_id), by)
            session.commit()
        return self.send_pending()

    # -- internals ----------------------------------------------------------------------------

    def _ids(self, state: str, exclude: set[int]) -> list[int]:
        with Session(self.engine) as session:
            ids = session.execute(
                select(Reply.id).where(Reply.state == state).order_by(Reply.approved_at, Reply.id)  # type: ignore[arg-type]
            ).scalars()
            return [i for i in ids if i not in exclude]

    def _reconcile(self, report: SendReport) -> None:
        for reply_id in self._ids(workflow.SENDING, set()):
            with Session(self.engine, expire_on_commit=False) as session:
                reply = session.get(Reply, reply_id)
                if reply is None or reply.state != workflow.SENDING:
                    continue
                mention = session.get(Mention, reply.mention_id)
                assert mention is not None
                started = reply.sending_started_at or reply.updated_at
                try:
                    publisher = self.publisher(mention.platform)
                    found = publisher.find_own_reply(mention, started - timedelta(
                        seconds=self.settings.sender.clock_skew_seconds))
                except PublishError as error:
                    workflow.note_uncertain(session, reply, f"interrupted send not checked yet: {error}")
                    session.commit()
                    report.uncertain.append(reply_id)
                    continue
                if found is not None:
                    log.info("reply %s was already on %s as %s", reply_id, mention.platform, found.platform_id)
                    workflow.mark_sent(session, reply, found.platform_id, found.created_at, found=True)
                    session.commit()
                    report.found.append(reply_id)
                    continue
                if reply.attempts >= self.settings.sender.max_attempts:
                    workflow.mark_failed(session, reply, f"not on {mention.platform} after {reply.attempts} "
                                                         f"interrupted attempt(s); last error: {reply.error or 'none'}")
                    session.commit()
                    report.failed.append(reply_id)
                    continue
            self._attempt(reply_id, report)

    def _send_approved(self, report: SendReport) -> None:
        tried: set[int] = set()
        while True:
            waiting = self._ids(workflow.APPROVED, tried)
            if not waiting:
                return
            tried.add(waiting[0])
            self._attempt(waiting[0], report)

    def _attempt(self, reply_id: int, report: SendReport) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            reply = session.get(Reply, reply_id)
            if reply is None:
                return
            mention = session.get(Mention, reply.mention_id)
            assert mention is not None
            try:
                workflow.begin_attempt(session, reply)
            except workflow.IllegalTransition:
                session.rollback()  # rejected or taken meanwhile: not ours to send
                return
            try:
                publisher = self.publisher(mention.platform)
            except PublisherUnavailable as error:
                workflow.mark_failed(session, reply, str(error))
                session.commit()
                report.failed.append(reply_id)
                return
            session.commit()  # the intent to send is durable before the platform is called
            text = reply.text
            try:
                posted = publisher.post_reply(mention, text)
            except PlatformRejected as error:
                workflow.mark_failed(session, reply, str(error))
                session.commit()
                report.failed.append(reply_id)
                return
            except DeliveryUncertain as error:
                workflow.note_uncertain(session, reply, str(error))
                session.commit()
                report.uncertain.append(reply_id)
                return
            except Exception as error:  # unknown outcome: never assume it did not post
                log.exception("posting reply %s failed unexpectedly", reply_id)
                workflow.note_uncertain(session, reply, f"{type(error).__name__}: {error}")
                session.commit()
                report.uncertain.append(reply_id)
                return
            workflow.mark_sent(session, reply, posted.platform_id, posted.created_at)
            session.commit()
            report.sent.append(reply_id)
