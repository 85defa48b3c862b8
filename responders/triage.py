"""Triage: each mention's status, assignee, priority and SLA, and the rules that pre-sort them.

Statuses: ``new`` (nobody has looked), ``needs_reply``, ``assigned`` (someone owns
it), ``waiting`` (answered; waiting on the customer), ``resolved``, ``ignored``
(noise, still stored). The queue shows the open ones, most urgent first.

Priority, 0..100, is the sum of four parts::

    mood   0..40  negative: 40 x confidence (20 when the confidence is unknown);
                  neutral, unscored or not yet scored: 12; positive: 4
    reach  0..25  25 x min(1, log10(1 + followers) / log10(1 + high_reach_followers));
                  0 when the follower count is unknown
    tier   0..25  press 25, vip 20, standard (and unknown authors) 0
    age    0..10  10 x min(1, hours since it was posted / 24)

so a negative complaint from a VIP (36 + reach + 20) outranks a neutral stranger
(12 + reach) whatever their reach, and the reach scale is logarithmic because a
follower count spans six orders of magnitude. Levels: ``urgent`` from 70, ``high``
from 45, ``normal`` from 20, ``low`` below. The SLA (minutes per level, [triage]
sla_minutes) runs from when the mention was posted, as the customer waits from
then; it is set at first triage and kept, while the age part keeps rising: ``harken
run`` recomputes the priority of open mentions every [triage]
refresh_interval_seconds.

Triage rules (``config/triage-rules.toml``) run on new mentions only: ignore rules
first, then the first matching assign rule. Every status change and assignment,
by a rule or a person, is in the audit log.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import utcnow
from listener.errors import HarkenError
from listener.models import Mention, StaffUser
from listener.sentiment.corrections import correct_label
from listener.settings import PRIORITY_LEVELS, Settings
from listener.statuses import (  # noqa: F401 (callers read them here too)
    ASSIGNED,
    IGNORED,
    MENTION_STATUSES,
    NEEDS_ANSWER,
    NEEDS_REPLY,
    NEW,
    OPEN_MENTION_STATUSES,
    RESOLVED,
    WAITING,
)
from responders import audit
from responders.context import MentionContext, build_contexts, context_for
from responders.roles import Action, can, require
from responders.rules import (
    Condition,
    RulesFile,
    RulesFileError,
    When,
)
from responders.versions import check_mention_version, claim_mention_change

log = logging.getLogger(__name__)

# The mention statuses are defined once, with the tables (listener.statuses); triage moves mentions between them.
STATUSES: tuple[str, ...] = MENTION_STATUSES
OPEN: tuple[str, ...] = OPEN_MENTION_STATUSES

LEVEL_FLOORS: tuple[tuple[str, float], ...] = (("urgent", 70.0), ("high", 45.0), ("normal", 20.0), ("low", 0.0))
TIER_POINTS = {"press": 25.0, "vip": 20.0, "standard": 0.0}
assert tuple(level for level, _ in LEVEL_FLOORS) == PRIORITY_LEVELS


class TriageError(HarkenError):
    """Base of the triage errors."""


class UnknownStatus(TriageError, ValueError):
    """A status that is not one of :data:`STATUSES`."""


class InvalidStatusChange(TriageError):
    """A change that would leave the mention inconsistent (e.g. assigned with nobody)."""


class InvalidAssignee(TriageError):
    """An assignee who is inactive or whose role may not work the queue."""


# -- priority ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Priority:
    score: float
    level: str
    parts: dict[str, float]


def level_for(score: float) -> str:
    return next(level for level, floor in LEVEL_FLOORS if score >= floor)


def compute_priority(context: MentionContext, settings: Settings, now: datetime | None = None) -> Priority:
    """The priority of a mention now (formula in the module docstring)."""
    now = now or utcnow()
    if context.sentiment == "negative":
        mood = 40.0 * (context.confidence if context.confidence is not None else 0.5)
    elif context.sentiment == "positive":
        mood = 4.0
    else:
        mood = 12.0
    reach = 0.0
    if context.followers:
        scale = math.log10(1 + settings.triage.high_reach_followers)
        reach = 25.0 * min(1.0, math.log10(1 + context.followers) / scale)
    tier = TIER_POINTS.get(context.tier, 0.0)
    hours = max(0.0, (now - context.created_at).total_seconds() / 3600)
    age = 10.0 * min(1.0, hours / 24)
    parts = {"mood": round(mood, 2), "reach": round(reach, 2), "tier": tier, "age": round(age, 2)}
    score = round(mood + reach + tier + age, 1)
    return Priority(score, level_for(score), parts)


def sla_due(settings: Settings, created_at: datetime, level: str) -> datetime:
    return created_at + timedelta(minutes=settings.triage.sla_minutes[level])


def is_high_risk(context: MentionContext, settings: Settings) -> bool:
    """Negative sentiment from a high-reach author or from a press/VIP customer."""
    if context.sentiment != "negative":
        return False
    high_reach = (context.followers or 0) >= settings.triage.high_reach_followers
    return high_reach or context.tier in ("press", "vip")


# -- rules -------------------------------------------------------------------------------


class TriageRule(BaseModel):
    """Ignore or assign new mentions that match ``when``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    action: Literal["ignore", "assign"]
    assignee: str | None = None
    when: When = Field(default_factory=When)

    @model_validator(mode="after")
    def _consistent(self) -> TriageRule:
        if self.action == "assign" and not self.assignee:
            raise ValueError("an assign rule needs an assignee (a staff user's email)")
        if self.action == "ignore" and self.assignee:
            raise ValueError("an ignore rule takes no assignee")
        if self.action == "ignore" and not self.when.model_dump(exclude_none=True):
            raise ValueError("an ignore rule needs at least one condition, or it would ignore everything")
        return self


TriageRulesFile = RulesFile[TriageRule]


@dataclass(frozen=True)
class BoundTriageRule:
    rule: TriageRule
    conditions: list[Condition]

    def matches(self, context: MentionContext) -> bool:
        return all(condition.matches(context) for condition in self.conditions)

    @property
    def reason(self) -> str:
        return f"rule {self.rule.name}" + (f": {self.rule.description}" if self.rule.description else "")


def load_triage_rules(path: Path) -> list[BoundTriageRule]:
    """The triage rules of ``path``, validated; :class:`RulesFileError` names what is wrong."""
    parsed = TriageRulesFile.load(path)
    bound = []
    for rule in parsed.rules:
        try:
            bound.append(BoundTriageRule(rule, rule.when.conditions(parsed.intents)))
        except ValueError as error:
            raise RulesFileError(f"{path}: rule {rule.name!r}: {error}") from None
    return bound


# -- the processing step ------------------------------------------------------------------


class TriageStep:
    """Processing step: priority, level and SLA for every new mention; triage rules on untouched ones."""

    name = "triage"

    def __init__(self, settings: Settings, rules: Sequence[BoundTriageRule] | None = None) -> None:
        self.settings = settings
        self.rules = list(rules) if rules is not None else load_triage_rules(settings.triage.rules_path)

    def process(self, session: Session, mentions: Sequence[Mention]) -> None:
        contexts = build_contexts(session, mentions, self.settings)
        assignees = self._assignees(session)
        now = utcnow()
        for mention in mentions:
            context = contexts[mention.id]  # type: ignore[index]
            priority = compute_priority(context, self.settings, now)
            mention.priority, mention.priority_level = priority.score, priority.level
            if mention.status == NEW and mention.assignee_id is None:
                self._apply_rules(session, mention, context, assignees)
            if mention.sla_due_at is None and mention.status != IGNORED:
                mention.sla_due_at = sla_due(self.settings, mention.created_at, priority.level)
            mention.triaged_at = now
        session.flush()

    def _assignees(self, session: Session) -> dict[str, StaffUser]:
        emails = {rule.rule.assignee.lower() for rule in self.rules if rule.rule.assignee}
        if not emails:
            return {}
        users = session.execute(select(StaffUser).where(StaffUser.email.in_(emails))).scalars()  # type: ignore[attr-defined]
        return {user.email.lower(): user for user in users}

    def _apply_rules(
        self, session: Session, mention: Mention, context: MentionContext, assignees: Mapping[str, StaffUser]
    ) -> None:
        for rule in self.rules:
            if rule.rule.action == "ignore" and rule.matches(context):
                before = {"status": mention.status}
                mention.status, mention.triage_reason = IGNORED, rule.reason
                audit.record(session, audit.SYSTEM_TRIAGE, "mention.status", mention, before,
                             {"status": IGNORED, "rule": rule.rule.name})
                return
        for rule in self.rules:
            if rule.rule.action != "assign" or not rule.matches(context):
                continue
            user = assignees.get((rule.rule.assignee or "").lower())
            if user is None or not can(user, Action.TRIAGE):
                log.warning("triage rule %s names %s, who is not an active staff user that may triage: skipped",
                            rule.rule.name, rule.rule.assignee)
                continue
            before = {"status": mention.status, "assignee": None}
            mention.assignee_id, mention.status, mention.triage_reason = user.id, ASSIGNED, rule.reason
            audit.record(session, audit.SYSTEM_TRIAGE, "mention.assign", mention, before,
                         {"status": ASSIGNED, "assignee": user.email, "rule": rule.rule.name})
            return


# -- people's triage actions --------------------------------------------------------------


def set_status(session: Session, mention: Mention, status: str, by: StaffUser, note: str | None = None,
               seen_version: int | None = None) -> Mention:
    """A person changes a mention's status (agents, approvers, admins); audited.

    ``seen_version``: the mention's version the person saw; a change on an older one is refused
    (``responders.versions.StaleVersion``), decided by the database (``claim_mention_change``).
    """
    require(by, Action.TRIAGE)
    if status not in STATUSES:
        raise UnknownStatus(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
    if status == mention.status:
        check_mention_version(session, mention, seen_version)  # nothing is written: a stale screen still hears it
        return mention
    if status == ASSIGNED and mention.assignee_id is None:
        raise InvalidStatusChange("assign the mention to someone instead: `assigned` needs an assignee")
    claim_mention_change(session, mention, seen_version)
    before = {"status": mention.status}
    mention.status = status
    if status == IGNORED:
        mention.triage_reason = f"ignored by {by.email}" + (f": {note}" if note else "")
    after: dict[str, object] = {"status": status}
    if note:
        after["note"] = note
    audit.record(session, by, "mention.status", mention, before, after)
    return mention


def assign(session: Session, mention: Mention, assignee: StaffUser | None, by: StaffUser,
           seen_version: int | None = None) -> Mention:
    """Give a mention to someone (or to nobody, with None); audited.

    Assigning an unanswered mention makes it ``assigned``; unassigning an assigned
    one puts it back to ``needs_reply``. Other statuses are left as they are.
    ``seen_version`` as for :func:`set_status`.
    """
    require(by, Action.TRIAGE)
    if assignee is not None and not can(assignee, Action.TRIAGE):
        raise InvalidAssignee(f"{assignee.email} cannot work the queue (inactive, or a {assignee.role})")
    new_id = assignee.id if assignee is not None else None
    if new_id == mention.assignee_id:
        check_mention_version(session, mention, seen_version)
        return mention
    claim_mention_change(session, mention, seen_version)
    previous = session.get(StaffUser, mention.assignee_id) if mention.assignee_id is not None else None
    before = {"status": mention.status, "assignee": previous.email if previous else None}
    mention.assignee_id = new_id
    if assignee is not None and mention.status in (NEW, NEEDS_REPLY):
        mention.status = ASSIGNED
    elif assignee is None and mention.status == ASSIGNED:
        mention.status = NEEDS_REPLY
    audit.record(session, by, "mention.assign", mention, before,
                 {"status": mention.status, "assignee": assignee.email if assignee else None})
    return mention


def correct_sentiment(session: Session, mention: Mention, label: str, by: audit.Actor, settings: Settings,
                      seen_version: int | None = None) -> Mention:
    """A person sets the mention's sentiment label; kept as a correction (training data), versioned and audited.

    The priority follows at once (its mood part reads the label): a mention corrected to negative
    moves up the inbox now, not at the next refresh. The SLA stays as set at first triage.
    ``seen_version``: as for :func:`set_status` (decided by the database).
    """
    if isinstance(by, StaffUser):
        require(by, Action.TRIAGE)
    claim_mention_change(session, mention, seen_version)
    correction = correct_label(session, mention.id, label, audit.actor_name(by))  # type: ignore[arg-type]
    priority = compute_priority(context_for(session, mention, settings), settings)
    mention.priority, mention.priority_level = priority.score, priority.level
    audit.record(session, by, "mention.sentiment", mention, {"sentiment": correction.old_label},
                 {"sentiment": correction.new_label})
    return mention


def refresh_priorities(engine: Engine, settings: Settings, now: datetime | None = None, batch: int = 500) -> int:
    """Recompute the priority of every open mention as it ages; returns how many changed."""
    now = now or utcnow()
    changed = 0
    last_id = 0
    while True:
        with Session(engine) as session:
            mentions = list(session.execute(
                select(Mention)
                .where(Mention.status.in_(OPEN), Mention.id > last_id)  # type: ignore[attr-defined]
                .order_by(Mention.id)  # type: ignore[arg-type]
                .limit(batch)
            ).scalars())
            if not mentions:
                return changed
            contexts = build_contexts(session, mentions, settings)
            for mention in mentions:
                priority = compute_priority(contexts[mention.id], settings, now)  # type: ignore[index]
                if (priority.score, priority.level) != (mention.priority, mention.priority_level):
                    mention.priority, mention.priority_level = priority.score, priority.level
                    changed += 1
            last_id = mentions[-1].id  # type: ignore[assignment]
            session.commit()
