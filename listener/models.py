"""Harken's tables: the one place that defines them.

Listening tables (sources, authors, mentions, quarantine, sentiment corrections)
are complete here. Tables that later capabilities fill (customer profiles and
identities, suggestions, replies, audit events, staff users) start with the
columns every design of them needs; their issues extend them by migration.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, Integer, LargeBinary, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from listener.db import UTCDateTime, utcnow
from listener.statuses import OPEN_MENTION_STATUSES, OPEN_REPLY_STATES, sql_in


class ProcessingState(StrEnum):
    """Where a mention is in the processing stage (language, sentiment, profile...)."""

    NEW = "new"
    # Taken by one processing worker until ``claim_expires_at`` (its lease); see listener.processing.
    CLAIMED = "claimed"
    PROCESSED = "processed"
    FAILED = "failed"


def _time(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


def _json(**kwargs: Any) -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False), **kwargs)


class Source(SQLModel, table=True):
    """One stream a collector reads (e.g. X mentions, one search query) and its cursor."""

    __tablename__ = "sources"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    kind: str
    platform: str
    options: dict[str, Any] = _json()
    enabled: bool = True
    interval_seconds: int = 120
    # Collector-owned resume state, written in the same transaction as the mentions.
    cursor: dict[str, Any] = _json()
    paused_until: datetime | None = _time(default=None)
    pause_reason: str | None = None
    last_run_at: datetime | None = _time(default=None)
    last_success_at: datetime | None = _time(default=None)
    last_error: str | None = Field(default=None, sa_type=Text)
    consecutive_failures: int = 0
    mentions_collected: int = 0
    created_at: datetime = _time(default_factory=utcnow)
    # Where the source came from: "settings" (made from the settings file at start-up) or "app" (an admin
    # added it). Once an admin changed it in the app (``changed_in_app_at``), start-ups leave it as it is.
    origin: str = "settings"
    changed_in_app_at: datetime | None = _time(default=None)
    # An admin's pause: the scheduler leaves the source alone until it is resumed (unlike ``paused_until``,
    # which the collectors set themselves after a 429 or failures and which ends by itself).
    paused_at: datetime | None = _time(default=None)
    # "Run now": the scheduler, in whichever process it runs, sees this and collects the source at once;
    # the run clears it as it starts.
    run_requested_at: datetime | None = _time(default=None)
    # Raised by an admin's edit of its options or interval (not by a pause, resume or run now, nor by the
    # scheduler's runs): an edit stating an older version was made on a stale admin page and is refused
    # (responders.source_controls.edit_source).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class Author(SQLModel, table=True):
    """A platform account. Handles change; the platform user id does not."""

    __tablename__ = "authors"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    platform_user_id: str
    handle: str = Field(index=True)
    display_name: str | None = None
    followers: int | None = None
    bio: str | None = Field(default=None, sa_type=Text)
    first_seen_at: datetime = _time(default_factory=utcnow)
    updated_at: datetime = _time(default_factory=utcnow)


def _named_fk(target: str, name: str) -> Any:
    """A nullable foreign key with a known name, so that a migration can drop it again."""
    return Field(default=None, sa_column=Column(Integer, ForeignKey(target, name=name), nullable=True))


def _json_list(**kwargs: Any) -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False), **kwargs)


class CustomerProfile(SQLModel, table=True):
    """A person or organisation behind one or more platform accounts.

    Imported customers come from the CRM (``is_prospect`` false); every other
    author gets a prospect profile, so no mention is left unattached. A profile
    merged into another is kept (``merged_into_id`` set, hidden from lists) so
    that the merge can be undone exactly.
    """

    __tablename__ = "customer_profiles"
    # A unique index rather than a constraint: SQLite can add an index without copying the table.
    __table_args__ = (Index("ix_customer_profiles_crm_id", "crm_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    display_name: str
    tier: str = "standard"
    is_prospect: bool = True
    emails: list[str] = _json_list()
    company: str | None = None
    crm_id: str | None = None
    tags: list[str] = _json_list()
    notes: str | None = Field(default=None, sa_type=Text)
    merged_into_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("customer_profiles.id", name="fk_customer_profiles_merged_into_id"), index=True
        ),
    )
    created_at: datetime = _time(default_factory=utcnow)
    updated_at: datetime = _time(default_factory=utcnow)


class Identity(SQLModel, table=True):
    """Links a customer profile to a platform account.

    An imported identity may know only the handle (``platform_user_id`` empty);
    the first author matched by that handle fills the user id in, and from then
    on the account is followed by user id through handle renames.
    """

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("platform", "platform_user_id"),
        Index("ix_identities_handle", "platform", "handle_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="customer_profiles.id", index=True)
    platform: str
    platform_user_id: str | None = None
    handle: str
    # The handle as matched: lower case, without "@" or "u/"; empty when the handle is unknown.
    handle_key: str | None = None
    provenance: str = "automatic"  # imported, manual, automatic
    confidence: float = 1.0
    linked_by: str | None = None
    created_at: datetime = _time(default_factory=utcnow)
    updated_at: datetime = _time(default_factory=utcnow)


class ProfileMatchKey(SQLModel, table=True):
    """Lookup keys derived from a profile (name blocks, emails), never the truth itself.

    Suggestions must not compare a new author with every profile; these indexed
    keys narrow the candidates to a few. ``listener.profiles.keys`` rebuilds them
    whenever a profile's name or emails change.
    """

    __tablename__ = "profile_match_keys"

    key: str = Field(primary_key=True, max_length=200)
    profile_id: int = Field(foreign_key="customer_profiles.id", primary_key=True, index=True)


class LinkSuggestion(SQLModel, table=True):
    """A proposal that two profiles are one person: scored, with reasons, applied only when confirmed.

    The pair is stored in canonical order (``profile_a_id`` < ``profile_b_id``) so
    that one pair has one row: a dismissed pair is never proposed again.
    """

    __tablename__ = "profile_link_suggestions"
    __table_args__ = (
        UniqueConstraint("profile_a_id", "profile_b_id"),
        CheckConstraint("profile_a_id < profile_b_id", name="ck_profile_link_suggestions_pair_order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    profile_a_id: int = Field(foreign_key="customer_profiles.id", index=True)
    profile_b_id: int = Field(foreign_key="customer_profiles.id", index=True)
    score: float
    reasons: list[dict[str, Any]] = _json_list()
    status: str = Field(default="open", index=True)  # open, confirmed, dismissed, superseded
    decided_by: str | None = None
    decided_at: datetime | None = _time(default=None)
    created_at: datetime = _time(default_factory=utcnow)


class ProfileMerge(SQLModel, table=True):
    """One merge of ``merged_id`` into ``survivor_id`` with everything needed to undo it exactly."""

    __tablename__ = "profile_merges"

    id: int | None = Field(default=None, primary_key=True)
    survivor_id: int = Field(foreign_key="customer_profiles.id", index=True)
    merged_id: int = Field(foreign_key="customer_profiles.id", index=True)
    suggestion_id: int | None = Field(default=None, foreign_key="profile_link_suggestions.id")
    merged_by: str
    merged_at: datetime = _time(default_factory=utcnow)
    # Both profiles' fields, identity ids and mention ids, and the suggestion states, as they were.
    before: dict[str, Any] = _json()
    # The survivor's fields right after the merge: tells later edits from the merge's own.
    after: dict[str, Any] = _json()
    undone_at: datetime | None = _time(default=None)
    undone_by: str | None = None


OPEN_MENTION_CONDITION = sql_in("status", OPEN_MENTION_STATUSES)
"""The open statuses (``listener.statuses``) as ix_mentions_open's condition. A query that repeats it
word for word can use the index: SQLite matches a partial index's condition only literally, not through
bound parameters."""
OPEN_MENTION_ORDER = (
    "(priority IS NULL)", "priority DESC", "(sla_due_at IS NULL)", "sla_due_at", "created_at", "id",
)
"""The queue's order, priority DESC NULLS LAST, sla_due_at ASC NULLS LAST, created_at, id, spelled so that
SQLite (no NULLS FIRST/LAST in an index) and PostgreSQL (NULLS FIRST on DESC) read it from one index."""

OPEN_DUE_COLUMNS = ("sla_due_at", "priority", "created_at", "status", "platform", "sentiment_label", "priority_level",
                    "assignee_id")
"""ix_mentions_open_due: the due time, then what the inbox sorts and filters on, so it is read alone."""


class Mention(SQLModel, table=True):
    """One post, comment or tweet that talks about the brand."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        Index("ix_mentions_processing", "processing_state", "id"),
        # On PostgreSQL it also carries what the inbox orders a page by (migration 0021): the inbox over every status
        # for a short period walks a period's mentions level by level from the index alone, not from their rows.
        Index("ix_mentions_created", "created_at", postgresql_include=["priority", "sla_due_at", "status", "id"]),
        # Covers the digest's and the spike check's aggregates over a period without touching the rows.
        Index("ix_mentions_digest", "created_at", "sentiment_label", "platform", "profile_id", "sla_due_at"),
        # The queue: open mentions, most urgent first.
        Index("ix_mentions_queue", "status", "priority"),
        # The inbox (responders.inbox): the open mentions (a tenth of them) in the queue's order, so a page
        # is the first rows of an index walk instead of a sort of every open mention; the columns the inbox
        # filters on come after the order, so that a filter is checked in the index before any row is read.
        Index("ix_mentions_open", *(sql_text(column) for column in OPEN_MENTION_ORDER),
              "status", "platform", "sentiment_label", "priority_level", "assignee_id",
              sqlite_where=sql_text(OPEN_MENTION_CONDITION), postgresql_where=sql_text(OPEN_MENTION_CONDITION)),
        # One platform's open mentions in the queue's order (migration 0019): the inbox narrowed to a platform
        # walks only that platform's, not every open mention, when a filter leaves the page short (a common word
        # with a rarer sentiment). The platform leads, so each priority level is still one range of the index.
        Index("ix_mentions_open_platform", "platform", *(sql_text(column) for column in OPEN_MENTION_ORDER),
              "status", "sentiment_label", "priority_level", "assignee_id",
              sqlite_where=sql_text(OPEN_MENTION_CONDITION), postgresql_where=sql_text(OPEN_MENTION_CONDITION)),
        # The open mentions of one sentiment, then platform and status (migration 0022): a common word narrowed to a
        # rarer sentiment reads that sentiment's few mentions instead of walking every open one of the platform.
        Index("ix_mentions_open_sentiment", "sentiment_label", "platform", "status",
              sqlite_where=sql_text(OPEN_MENTION_CONDITION), postgresql_where=sql_text(OPEN_MENTION_CONDITION)),
        # Every mention in the queue's order (the inbox over every status, migration 0012): as ix_mentions_open.
        Index("ix_mentions_order", *(sql_text(column) for column in OPEN_MENTION_ORDER),
              "status", "platform", "sentiment_label", "priority_level", "assignee_id"),
        # The open mentions by SLA due time (migration 0016): the inbox reads the overdue ones (or those not due
        # yet) through it when they are few, rather than walking a whole priority level for them.
        Index("ix_mentions_open_due", *OPEN_DUE_COLUMNS,
              sqlite_where=sql_text(OPEN_MENTION_CONDITION), postgresql_where=sql_text(OPEN_MENTION_CONDITION)),
        # A profile's mentions newest first (its timeline) and their sentiment by date (its trend), read from
        # the index alone; also every lookup by profile (merges, the digest's customers).
        Index("ix_mentions_profile_timeline", "profile_id", "created_at", "sentiment_label"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    external_id: str
    kind: str  # tweet, post, comment
    source_id: int | None = Field(default=None, foreign_key="sources.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="authors.id", index=True)
    text: str = Field(sa_type=Text)
    title: str | None = Field(default=None, sa_type=Text)
    url: str
    in_reply_to_external_id: str | None = None
    conversation_external_id: str | None = None
    created_at: datetime = _time()
    collected_at: datetime = _time(default_factory=utcnow)
    # The platform's own JSON for this item, exactly as received.
    raw: str = Field(sa_type=Text)
    language: str | None = None
    sentiment_label: str | None = None
    sentiment_confidence: float | None = None
    sentiment_model: str | None = None
    sentiment_model_version: str | None = None
    sentiment_scored_at: datetime | None = _time(default=None)
    processing_state: str = ProcessingState.NEW
    processing_error: str | None = Field(default=None, sa_type=Text)
    processed_at: datetime | None = _time(default=None)
    # The processing worker that claimed it and when that lease ends: a worker killed mid-batch
    # lets its mentions go when the lease runs out, and one that outlived it can no longer commit.
    claimed_by: str | None = None
    claim_expires_at: datetime | None = _time(default=None)
    # Claims so far; a mention whose workers keep dying is failed after [processing] max_attempts.
    processing_attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Indexed by ix_mentions_profile_timeline, which starts with it.
    profile_id: int | None = Field(default=None, foreign_key="customer_profiles.id")
    # Triage, filled by the responder queue (responders.triage): new, needs_reply, assigned,
    # waiting, resolved, ignored.
    status: str = Field(default="new", index=True)
    # 0..100 from sentiment, reach, customer tier and age; the level (urgent, high, normal, low) picks the SLA.
    priority: float | None = None
    priority_level: str | None = None
    assignee_id: int | None = Field(default=None, foreign_key="staff_users.id", index=True)
    # When the first answer is due (set by triage from the priority level's SLA).
    sla_due_at: datetime | None = _time(default=None)
    # Which triage rule ignored or assigned it, so a person can see why.
    triage_reason: str | None = Field(default=None, sa_type=Text)
    triaged_at: datetime | None = _time(default=None)
    # Raised by every person's change (assign, status): a change stating an older version was made on a stale
    # screen and is refused (responders.versions), so two people cannot silently undo each other.
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class QuarantinedPayload(SQLModel, table=True):
    """A payload that could not be understood: kept raw, with the reason, for a person to see."""

    __tablename__ = "quarantined_payloads"

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(index=True)
    platform: str
    error: str = Field(sa_type=Text)
    raw: str = Field(sa_type=Text)
    received_at: datetime = _time(default_factory=utcnow)


class SentimentCorrection(SQLModel, table=True):
    """A person's correction of a mention's sentiment label."""

    __tablename__ = "sentiment_corrections"

    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mentions.id", index=True)
    old_label: str | None = None
    new_label: str
    corrected_by: str
    corrected_at: datetime = _time(default_factory=utcnow)


class StaffUser(SQLModel, table=True):
    """A person who works the queue. ``role`` is one of agent, approver, manager, admin (responders.roles)."""

    __tablename__ = "staff_users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True)
    name: str
    role: str = "agent"
    password_hash: str | None = None
    active: bool = True
    created_at: datetime = _time(default_factory=utcnow)
    # An IANA name (Europe/Ljubljana) for the times the web app shows them; None: the team's ([digest] timezone).
    timezone: str | None = None


class SavedView(SQLModel, table=True):
    """A staff member's own named set of inbox filters, back in one click (responders.saved_views)."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)  # one view of a name per person

    id: int | None = Field(default=None, primary_key=True)
    # Indexed by the unique constraint, which starts with it: a person's views are read by it.
    user_id: int = Field(foreign_key="staff_users.id")
    name: str
    # The inbox's query string for the filters (status=new&platform=x&q=refund), without the page.
    query: str = Field(sa_type=Text)
    created_at: datetime = _time(default_factory=utcnow)


# Which suggestion source (responders.sources) made a suggestion: the values of ``Suggestion.origin``.
RULE_ORIGIN, SIMILAR_ORIGIN, DRAFT_ORIGIN = "rule", "similar", "draft"


class Suggestion(SQLModel, table=True):
    """A reply proposed for a mention (by a rule, a template or past replies)."""

    __tablename__ = "suggestions"
    # One suggestion per rank and mention: a batch processed twice (by two workers) cannot store its
    # suggestions twice. A unique index rather than a constraint: SQLite adds it without copying the table.
    __table_args__ = (Index("ux_suggestions_mention_rank", "mention_id", "rank", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mentions.id", index=True)
    text: str = Field(sa_type=Text)
    origin: str  # rule, similar, draft: the suggestion source (responders.sources) that made it
    rank: int = 0
    # Higher is better; rule scores and cosine similarities share one scale (responders.suggestions).
    score: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    # The reply rule that wrote it, or the past mention whose approved reply it reuses.
    rule: str | None = None
    similar_mention_id: int | None = _named_fk("mentions.id", "fk_suggestions_similar_mention_id")
    created_at: datetime = _time(default_factory=utcnow)
    # A draft's model, as the endpoint named it: a person sees that a model wrote it, and which one.
    model: str | None = None


class DraftRequest(SQLModel, table=True):
    """A mention waiting for (or given) a model-written draft, made in the background (responders.drafts).

    Processing only records the request, so the queue never waits on the model; the
    drafts job answers it. ``detail`` says why there is no draft (endpoint down, too
    slow, an answer that failed a check), for the notice on the mention page.
    """

    __tablename__ = "draft_requests"
    __table_args__ = (Index("ix_draft_requests_state", "state", "mention_id"),)

    mention_id: int = Field(foreign_key="mentions.id", primary_key=True)
    state: str = "pending"  # pending, drafted, rejected (failed a check), failed (the endpoint did not answer)
    attempts: int = 0
    model: str | None = None
    detail: str | None = Field(default=None, sa_type=Text)
    requested_at: datetime = _time(default_factory=utcnow)
    attempted_at: datetime | None = _time(default=None)


OPEN_REPLY_CONDITION = sql_in("state", OPEN_REPLY_STATES)
"""The open reply states as ix_replies_one_open's condition, spelled literally for SQLite like the one above."""


class Reply(SQLModel, table=True):
    """A reply on its way to the platform: drafted, approved, sent (or not).

    States (responders.workflow): draft -> pending_approval -> approved -> sending -> sent,
    or rejected (with a reason), or failed (with the platform's message, retried by a person).
    """

    __tablename__ = "replies"
    __table_args__ = (
        # At most one reply on its way per mention: two approved drafts must never both be posted.
        Index("ux_replies_one_open_per_mention", "mention_id", unique=True,
              sqlite_where=sql_text(OPEN_REPLY_CONDITION), postgresql_where=sql_text(OPEN_REPLY_CONDITION)),
        # The approval queue's "on its way" list, most recently updated first: a walk from the newest, not a
        # sort of every reply ever sent.
        Index("ix_replies_updated", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mentions.id", index=True)
    suggestion_id: int | None = Field(default=None, foreign_key="suggestions.id")
    state: str = Field(default="draft", index=True)
    text: str = Field(sa_type=Text)
    # The text as submitted, kept when an approver edits it.
    original_text: str | None = Field(default=None, sa_type=Text)
    # Bumped by every edit: approvals count only for the revision they saw.
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # Bumped by every change (edit, approval, rejection, submit, sending): a person's change stating an older
    # version was made on a stale screen and is refused (responders.versions).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_by_id: int | None = _named_fk("staff_users.id", "fk_replies_created_by_id")
    submitted_by_id: int | None = _named_fk("staff_users.id", "fk_replies_submitted_by_id")
    submitted_at: datetime | None = _time(default=None)
    # Decided at submission: negative sentiment from a high-reach or press/VIP author.
    high_risk: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    required_approvals: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    approved_at: datetime | None = _time(default=None)
    rejected_by_id: int | None = _named_fk("staff_users.id", "fk_replies_rejected_by_id")
    rejected_at: datetime | None = _time(default=None)
    rejected_reason: str | None = Field(default=None, sa_type=Text)
    # The sender's intent: committed before each call to the platform (responders.sender).
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    sending_started_at: datetime | None = _time(default=None)
    platform_reply_id: str | None = None
    error: str | None = Field(default=None, sa_type=Text)
    failed_at: datetime | None = _time(default=None)
    created_at: datetime = _time(default_factory=utcnow)
    updated_at: datetime = _time(default_factory=utcnow)
    # When the platform accepted it: response-time metrics are measured to this.
    sent_at: datetime | None = _time(default=None, index=True)


class ReplyApproval(SQLModel, table=True):
    """One approver's approval of one revision of a reply; two rows make a two-person approval.

    The unique constraint is what makes "two different people" checkable by the
    database itself: the same approver cannot count twice for the same text.
    """

    __tablename__ = "reply_approvals"
    __table_args__ = (UniqueConstraint("reply_id", "revision", "approver_id"),)

    id: int | None = Field(default=None, primary_key=True)
    reply_id: int = Field(foreign_key="replies.id", index=True)
    revision: int
    approver_id: int = Field(foreign_key="staff_users.id")
    at: datetime = _time(default_factory=utcnow)


class Note(SQLModel, table=True):
    """A staff member's internal note on a mention: for colleagues only, never posted, digested or exported.

    It is kept apart from the mention and its replies on purpose, so that nothing that reads those
    (the sender, the digest, ``harken export mentions``) can carry a note out by accident.
    """

    __tablename__ = "notes"

    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mentions.id", index=True)
    author_id: int = Field(foreign_key="staff_users.id", index=True)
    text: str = Field(sa_type=Text)
    created_at: datetime = _time(default_factory=utcnow)


class NoteMention(SQLModel, table=True):
    """A colleague @-mentioned in a note; ``read_at`` is set when they open the mention it is on."""

    __tablename__ = "note_mentions"
    __table_args__ = (
        # A colleague's unread mentions (the navigation's count) and their list, newest first.
        Index("ix_note_mentions_user_read", "user_id", "read_at"),
    )

    note_id: int = Field(foreign_key="notes.id", primary_key=True)
    user_id: int = Field(foreign_key="staff_users.id", primary_key=True)
    read_at: datetime | None = _time(default=None)


class Presence(SQLModel, table=True):
    """Someone at work on a mention right now: drafting a reply to it, or editing its reply in the queue.

    A heartbeat from their page keeps ``seen_at`` fresh; a row older than the expiry
    (responders.presence) no longer counts, so a closed tab disappears on its own. In the
    database, not in one process's memory, so every web process sees everyone.
    """

    __tablename__ = "presence"

    staff_user_id: int = Field(foreign_key="staff_users.id", primary_key=True)
    mention_id: int = Field(foreign_key="mentions.id", primary_key=True, index=True)
    activity: str  # replying, editing (responders.presence.ACTIVITIES)
    seen_at: datetime = _time(default_factory=utcnow)


class MentionEmbedding(SQLModel, table=True):
    """A mention's sentence embedding (float32, L2-normalised), kept so it is computed once.

    Similar-reply suggestions compare a new mention with the mentions that past
    approved replies answered (responders.similar).
    """

    __tablename__ = "mention_embeddings"

    mention_id: int = Field(foreign_key="mentions.id", primary_key=True)
    model: str
    dim: int
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = _time(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """An append-only record of who did what, with the before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _time(default_factory=utcnow, index=True)
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] = _json()
    after: dict[str, Any] = _json()


class Alert(SQLModel, table=True):
    """A spike of negative mentions, with the evidence that raised it."""

    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = "negative_spike"
    # "brand" for all mentions, or "source:<name>" for one query or subreddit.
    scope: str = Field(index=True)
    window_start: datetime = _time()
    window_end: datetime = _time()
    observed: int
    expected: float
    p_value: float
    # The baseline, the rule's thresholds, the driving terms and mention ids.
    explanation: dict[str, Any] = _json()
    created_at: datetime = _time(default_factory=utcnow, index=True)


class Delivery(SQLModel, table=True):
    """One attempt-tracked delivery of a digest or an alert, by email or webhook.

    A failed delivery stays here with its error and attempt count, so it is
    retried and reported, never silently dropped.
    """

    __tablename__ = "deliveries"

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # digest, alert
    channel: str  # email, webhook
    target: str  # recipients or URL (never credentials)
    reference: str  # the digest period or the alert id
    status: str = Field(default="pending", index=True)  # pending, sent, failed
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _time(default_factory=utcnow)
    sent_at: datetime | None = _time(default=None)


class DigestSnapshot(SQLModel, table=True):
    """A computed digest kept for the dashboard, so a view does not recompute a second of aggregates.

    One row per period (kind, UTC bounds, time zone) and settings ``fingerprint``
    (responders.digests.snapshots): a change to the digest's settings gives a new
    key, never an old shape. ``data`` is ``Digest.as_dict()``; ``computed_at`` is
    its ``generated_at``, shown on the page and compared with the maximum age.
    """

    __tablename__ = "digest_snapshots"
    __table_args__ = (
        UniqueConstraint("period_kind", "period_start", "period_end", "timezone", "fingerprint",
                         name="uq_digest_snapshots_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    period_kind: str
    period_start: datetime = _time()
    period_end: datetime = _time()
    timezone: str
    fingerprint: str
    data: dict[str, Any] = _json()
    # Pruning deletes by age.
    computed_at: datetime = _time(index=True)


# -- web access (the staff web app and its JSON API) ----------------------------------------------


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a copy
    of the database cannot be replayed as a session."""

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    user_id: int = Field(foreign_key="staff_users.id", index=True)
    # Sent back with every state-changing form and HTMX request (the double-submit check).
    csrf_token: str
    created_at: datetime = _time(default_factory=utcnow)
    last_seen_at: datetime = _time(default_factory=utcnow)
    expires_at: datetime = _time()


class ApiToken(SQLModel, table=True):
    """A bearer token for integrations; it acts as its staff user, with that user's role."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    # The first characters, shown in the admin page so a token can be recognised without being revealed.
    prefix: str
    token_hash: str = Field(unique=True)
    user_id: int = Field(foreign_key="staff_users.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="staff_users.id")
    created_at: datetime = _time(default_factory=utcnow)
    last_used_at: datetime | None = _time(default=None)
    revoked_at: datetime | None = _time(default=None)


class SignInFailure(SQLModel, table=True):
    """A failed sign-in, kept for throttling (by account and by address)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_email_at", "email", "at"),
        Index("ix_sign_in_failures_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str
    address: str
    at: datetime = _time(default_factory=utcnow)
