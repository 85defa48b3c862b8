"""The reply state machine: nothing reaches a platform without approval.

::

    draft --submit--> pending_approval --approve (enough approvers)--> approved
      |                 |  ^ edit (approver; original text kept)           |
      | revise          |  | approve (not yet enough)                     | sender
      v                 v  |                                              v
    draft          rejected (with a reason)  <--reject--  approved / failed    sending --> sent
                                                                           |      ^
                                                                           v      | retry (a person)
                                                                         failed --+

Each transition is one conditional UPDATE (``... WHERE state = <expected>``), so two
people, or a person and the sender, acting on the same reply at once cannot both
win: the loser gets :class:`IllegalTransition`. A person's decision may state the
reply's version it was made on (``seen_version``): the same UPDATE then also says
``AND version = :seen``, and a loser whose version moved on is told who changed the
reply (``responders.versions.StaleReply``). Each is audited in the same
transaction. Who may do what is ``responders.roles``.

Approvals are rows of ``reply_approvals`` for one *revision* of the text, unique
per approver: an edit makes a new revision, so earlier approvals no longer count,
and the same person can never count twice. A high-risk reply (negative sentiment
from a high-reach author or a press/VIP customer, decided at submission) needs two
different approvers when ``[replies] two_approvers_for_high_risk`` is on. Unless
``[replies] allow_self_approval`` is on, whoever drafted or submitted a reply
cannot approve it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from listener.db import utcnow
from listener.errors import HarkenError
from listener.models import Mention, Reply, ReplyApproval, StaffUser, Suggestion
from listener.platforms import ReplyTooLong, check_fits
from listener.settings import Settings
from listener.statuses import APPROVED, DRAFT, FAILED, OPEN_REPLY_STATES, PENDING, REJECTED, REPLY_STATES, SENDING, SENT
from responders import audit
from responders.context import context_for
from responders.roles import Action, require
from responders.triage import NEEDS_ANSWER, WAITING, is_high_risk
from responders.versions import stale_reply
from responders.words import reply_state_word, states_words

# The reply states are defined once, with the tables (listener.statuses); the workflow moves replies between them.
STATES: tuple[str, ...] = REPLY_STATES
OPEN_STATES: tuple[str, ...] = OPEN_REPLY_STATES
"""A mention has at most one reply in these states (a unique index enforces it)."""


class WorkflowError(HarkenError):
    """Base of the workflow's errors."""


class ReplyNotFound(WorkflowError, LookupError):
    pass


class IllegalTransition(WorkflowError):
    """The reply is not in a state that allows this (or someone else moved it first)."""

    def __init__(self, reply: Reply, action: str, allowed: tuple[str, ...]) -> None:
        # In words (responders.words): this message reaches the page next to the reply acted on.
        super().__init__(
            f"reply {reply.id} is {reply_state_word(reply.state)}: cannot {action} it now "
            f"(that works only for a reply that is {states_words(allowed)})"
        )
        self.reply_id, self.state, self.action = reply.id, reply.state, action


class EmptyReply(WorkflowError, ValueError):
    pass


class MissingReason(WorkflowError, ValueError):
    """Rejecting needs a reason, so the author learns what to change."""


class SelfApproval(WorkflowError):
    """The person who drafted or submitted a reply may not approve it."""


class DuplicateApproval(WorkflowError):
    """This approver has already approved this revision: a second approval must be someone else."""


class ReplyAlreadyOpen(WorkflowError):
    """The mention already has a reply on its way; finish or reject that one first."""


__all__ = [
    "APPROVED", "DRAFT", "FAILED", "OPEN_STATES", "PENDING", "REJECTED", "SENDING", "SENT", "STATES",
    "DuplicateApproval", "EmptyReply", "IllegalTransition", "MissingReason", "ReplyAlreadyOpen", "ReplyNotFound",
    "ReplyTooLong", "SelfApproval", "WorkflowError", "approvals", "approve", "create_draft", "edit", "get_reply",
    "reject", "retry", "revise", "submit",
]


def get_reply(session: Session, reply_id: int) -> Reply:
    reply = session.get(Reply, reply_id)
    if reply is None:
        raise ReplyNotFound(f"no reply {reply_id}")
    return reply


def _mention(session: Session, reply: Reply) -> Mention:
    mention = session.get(Mention, reply.mention_id)
    assert mention is not None  # a foreign key guarantees it
    return mention


def _clean(text: str, platform: str, settings: Settings | None) -> str:
    text = text.strip()
    if not text:
        raise EmptyReply("a reply needs some text")
    check_fits(platform, text, settings)  # with settings: the limit where the brand posts (an instance's own)
    return text


def _refuse_if_stale(session: Session, reply: Reply, seen_version: int | None) -> None:
    """Refuse at once a decision made on a version already known to be old (the UPDATE would not match it)."""
    if seen_version is not None and seen_version != reply.version:
        assert reply.id is not None
        raise stale_reply(session, reply.id)


def _move(session: Session, reply: Reply, action: str, sources: tuple[str, ...], target: str,
          at_revision: int | None = None, seen_version: int | None = None, **values: Any) -> None:
    """One conditional UPDATE from ``sources`` to ``target``, at ``seen_version`` when given; its row count
    decides: :class:`IllegalTransition` or ``StaleReply`` (the version moved on) if it matched nothing."""
    _refuse_if_stale(session, reply, seen_version)
    if reply.state not in sources:
        raise IllegalTransition(reply, action, sources)
    statement = update(Reply).where(Reply.id == reply.id, Reply.state.in_(sources))  # type: ignore[attr-defined]
    if at_revision is not None:
        statement = statement.where(Reply.revision == at_revision)
    if seen_version is not None:
        statement = statement.where(Reply.version == seen_version)
    result = session.execute(
        statement.values(state=target, updated_at=utcnow(), version=Reply.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(reply)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        _refuse_if_stale(session, reply, seen_version)  # someone else's change came first: name them
        raise IllegalTransition(reply, action, sources)


def _snapshot(reply: Reply, *fields: str) -> dict[str, Any]:
    return {name: getattr(reply, name) for name in ("state", *fields)}


# -- people's actions ----------------------------------------------------------------------


def create_draft(session: Session, mention: Mention, text: str, by: StaffUser,
                 suggestion_id: int | None = None, settings: Settings | None = None) -> Reply:
    """An agent (or approver, or admin) drafts a reply, from scratch or from a suggestion."""
    require(by, Action.DRAFT)
    text = _clean(text, mention.platform, settings)
    if suggestion_id is not None:
        suggestion = session.get(Suggestion, suggestion_id)
        if suggestion is None or suggestion.mention_id != mention.id:
            raise WorkflowError(f"suggestion {suggestion_id} is not one of mention {mention.id}'s")
    open_reply = session.execute(
        select(Reply.id).where(Reply.mention_id == mention.id, Reply.state.in_(OPEN_STATES))  # type: ignore[attr-defined]
    ).first()
    if open_reply is not None:
        raise ReplyAlreadyOpen(f"mention {mention.id} already has reply {open_reply[0]} on its way")
    reply = Reply(mention_id=mention.id, suggestion_id=suggestion_id, state=DRAFT, text=text,  # type: ignore[arg-type]
                  created_by_id=by.id)
    session.add(reply)
    try:
        session.flush()
    except IntegrityError:
        # Another reply was opened at the same moment (the unique index caught it). No
        # savepoint: SQLite's driver would commit it early, so the whole transaction goes.
        session.rollback()
        raise ReplyAlreadyOpen(f"mention {mention.id} already has a reply on its way") from None
    audit.record(session, by, "reply.draft", reply, {},
                 {"state": DRAFT, "text": text, "mention_id": mention.id, "suggestion_id": suggestion_id})
    return reply


def revise(session: Session, reply: Reply, text: str, by: StaffUser, settings: Settings | None = None) -> Reply:
    """Change a draft's text before it is submitted."""
    require(by, Action.DRAFT)
    text = _clean(text, _mention(session, reply).platform, settings)
    before = _snapshot(reply, "text")
    _move(session, reply, "revise", (DRAFT,), DRAFT, text=text)
    audit.record(session, by, "reply.revise", reply, before, _snapshot(reply, "text"))
    return reply


def submit(session: Session, settings: Settings, reply: Reply, by: StaffUser) -> Reply:
    """Send a draft for approval; decides whether it is high risk and how many approvers it needs."""
    require(by, Action.SUBMIT)
    mention = _mention(session, reply)
    _clean(reply.text, mention.platform, settings)
    high_risk = is_high_risk(context_for(session, mention, settings), settings)
    required = 2 if high_risk and settings.replies.two_approvers_for_high_risk else 1
    before = _snapshot(reply)
    _move(session, reply, "submit", (DRAFT,), PENDING, submitted_by_id=by.id, submitted_at=utcnow(),
          high_risk=high_risk, required_approvals=required)
    audit.record(session, by, "reply.submit", reply, before,
                 _snapshot(reply, "text", "high_risk", "required_approvals"))
    return reply


def edit(session: Session, reply: Reply, text: str, by: StaffUser, settings: Settings | None = None,
         seen_version: int | None = None) -> Reply:
    """An approver changes a pending reply's text; the submitted text stays in ``original_text``.

    The edit is a new revision: approvals given to the old text no longer count.
    """
    require(by, Action.EDIT)
    text = _clean(text, _mention(session, reply).platform, settings)
    if text == reply.text:
        _refuse_if_stale(session, reply, seen_version)
        return reply
    before = _snapshot(reply, "text", "revision")
    _move(session, reply, "edit", (PENDING,), PENDING, at_revision=reply.revision, seen_version=seen_version,
          text=text,
          original_text=reply.original_text if reply.original_text is not None else reply.text,
          revision=reply.revision + 1)
    audit.record(session, by, "reply.edit", reply, before, _snapshot(reply, "text", "revision", "original_text"))
    return reply


def approvals(session: Session, reply: Reply) -> list[ReplyApproval]:
    """The approvals that count: those of the current revision."""
    return list(session.execute(
        select(ReplyApproval)
        .where(ReplyApproval.reply_id == reply.id, ReplyApproval.revision == reply.revision)
        .order_by(ReplyApproval.id)  # type: ignore[arg-type]
    ).scalars())


def approve(session: Session, settings: Settings, reply: Reply, by: StaffUser, edit_text: str | None = None,
            seen_version: int | None = None) -> Reply:
    """An approver approves (optionally editing first); the reply is approved once enough people have.

    ``seen_version``: the reply's version the approver saw (see the module's docstring).
    """
    require(by, Action.APPROVE)
    if edit_text is not None:
        require(by, Action.EDIT)
    _refuse_if_stale(session, reply, seen_version)
    if reply.state != PENDING:
        raise IllegalTransition(reply, "approve", (PENDING,))
    if not settings.replies.allow_self_approval and by.id in (reply.created_by_id, reply.submitted_by_id):
        raise SelfApproval(f"{by.email} drafted or submitted reply {reply.id}: someone else must approve it")
    if edit_text is not None:
        edit(session, reply, edit_text, by, settings, seen_version=seen_version)
        seen_version = reply.version  # the edit claimed the version seen; the approval follows on the one it made
    given = approvals(session, reply)
    if any(approval.approver_id == by.id for approval in given):
        raise DuplicateApproval(f"{by.email} has already approved reply {reply.id}: the next approval must be "
                                "someone else's")
    session.add(ReplyApproval(reply_id=reply.id, revision=reply.revision, approver_id=by.id, at=utcnow()))  # type: ignore[arg-type]
    try:
        session.flush()
    except IntegrityError:
        session.rollback()  # the unique constraint caught a concurrent double approval
        raise DuplicateApproval(f"{by.email} has already approved reply {reply.id}") from None
    count = session.scalar(
        select(func.count(func.distinct(ReplyApproval.approver_id)))
        .where(ReplyApproval.reply_id == reply.id, ReplyApproval.revision == reply.revision)
    ) or 0
    before = {**_snapshot(reply, "revision"), "approvals": count - 1}
    if count >= reply.required_approvals:
        _move(session, reply, "approve", (PENDING,), APPROVED, at_revision=reply.revision, seen_version=seen_version,
              approved_at=utcnow())
    else:  # one approval of several is a change too: a page that did not see it is stale (responders.versions)
        bump = update(Reply).where(Reply.id == reply.id)
        if seen_version is not None:
            bump = bump.where(Reply.version == seen_version)
        result = session.execute(bump.values(version=Reply.version + 1).execution_options(synchronize_session=False))
        session.refresh(reply)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            _refuse_if_stale(session, reply, seen_version)
    audit.record(session, by, "reply.approve", reply, before,
                 {**_snapshot(reply, "revision", "required_approvals"), "approvals": count})
    return reply


def reject(session: Session, reply: Reply, by: StaffUser, reason: str, seen_version: int | None = None) -> Reply:
    """An approver rejects a pending, approved-but-unsent or failed reply, saying why."""
    require(by, Action.REJECT)
    reason = (reason or "").strip()
    if not reason:
        raise MissingReason("say why the reply is rejected")
    before = _snapshot(reply)
    _move(session, reply, "reject", (PENDING, APPROVED, FAILED), REJECTED, seen_version=seen_version,
          rejected_by_id=by.id,
          rejected_at=utcnow(), rejected_reason=reason)
    audit.record(session, by, "reply.reject", reply, before, {**_snapshot(reply), "reason": reason})
    return reply


def retry(session: Session, reply: Reply, by: StaffUser, seen_version: int | None = None) -> Reply:
    """A person sends a failed reply again: back to approved, for the sender's next run."""
    require(by, Action.RETRY)
    before = _snapshot(reply, "error", "attempts")
    _move(session, reply, "retry", (FAILED,), APPROVED, seen_version=seen_version, attempts=0, error=None,
          failed_at=None)
    audit.record(session, by, "reply.retry", reply, before, _snapshot(reply, "attempts"))
    return reply


# -- the sender's transitions (responders.sender) ----------------------------------------------


def begin_attempt(session: Session, reply: Reply, actor: str = audit.SYSTEM_SENDER) -> Reply:
    """Record the intent to post (approved or still sending -> sending, one more attempt)."""
    before = _snapshot(reply, "attempts")
    _move(session, reply, "send", (APPROVED, SENDING), SENDING, attempts=reply.attempts + 1,
          sending_started_at=utcnow(), error=None)
    audit.record(session, actor, "reply.sending", reply, before,
                 _snapshot(reply, "attempts", "sending_started_at"))
    return reply


def mark_sent(session: Session, reply: Reply, platform_reply_id: str, sent_at: Any = None,
              found: bool = False, actor: str = audit.SYSTEM_SENDER) -> Reply:
    """The platform has the reply: record its id, and the mention now waits on the customer."""
    before = _snapshot(reply)
    _move(session, reply, "record as sent", (SENDING,), SENT, platform_reply_id=platform_reply_id,
          sent_at=sent_at or utcnow(), error=None)
    audit.record(session, actor, "reply.sent", reply, before,
                 {**_snapshot(reply, "platform_reply_id", "sent_at"),
                  "how": "found on the platform after an interrupted send" if found else "posted"})
    mention = _mention(session, reply)
    if mention.status in NEEDS_ANSWER:
        status_before = {"status": mention.status}
        mention.status = WAITING
        audit.record(session, actor, "mention.status", mention, status_before,
                     {"status": WAITING, "reply_id": reply.id})
    return reply


def mark_failed(session: Session, reply: Reply, message: str, actor: str = audit.SYSTEM_SENDER) -> Reply:
    """The platform refused the reply: keep its message for the person who will retry or reject it."""
    before = _snapshot(reply, "attempts")
    _move(session, reply, "record as failed", (SENDING,), FAILED, error=message[:4000], failed_at=utcnow())
    audit.record(session, actor, "reply.failed", reply, before, _snapshot(reply, "error", "attempts"))
    return reply


def note_uncertain(session: Session, reply: Reply, message: str, actor: str = audit.SYSTEM_SENDER) -> Reply:
    """It is unknown whether the platform has the reply: stays ``sending``, to be checked on the next run."""
    before = _snapshot(reply, "error")
    _move(session, reply, "record an uncertain send", (SENDING,), SENDING, error=message[:4000])
    audit.record(session, actor, "reply.send_uncertain", reply, before, _snapshot(reply, "error", "attempts"))
    return reply
